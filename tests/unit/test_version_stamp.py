"""make deploy stamps the version into the stack: the overrides keep the config environment's own."""

from __future__ import annotations

import re

from tools import version


def test_the_version_is_the_package_version_with_the_commit() -> None:
    assert re.fullmatch(re.escape(version.package_version()) + r"(\+g[0-9a-f]{7}(\.dirty)?)?", version.version())


def test_overrides_keep_the_environment_s_parameters_and_add_the_version() -> None:
    dev = version.overrides("dev")
    assert dev.startswith("Stage=dev LogLevel=DEBUG ")
    assert dev.endswith(f"Version={version.version()}")
    assert version.overrides("prod").startswith("Stage=prod LogRetentionDays=90 ")
    assert version.overrides("no-such-env").startswith("Stage=dev Version=")  # [default]'s
