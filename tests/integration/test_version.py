"""GET /api/v1/version reports what is deployed: the stamped version, else the package's; and the settings
name a missing or malformed variable."""

from __future__ import annotations

import pytest

from evalgate import __version__
from evalgate.services.container import reset_container
from evalgate.settings import MissingSetting, Settings
from tests.integration.conftest import Stack


def test_version_without_a_stamp_is_the_package_version(stack: Stack) -> None:
    reply = stack.call("GET", "/api/v1/version")  # public: no key
    assert reply.status == 200, reply.text
    assert reply.json() == {"version": __version__, "packageVersion": __version__, "stage": "dev"}


def test_a_stamped_version_is_reported(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVALGATE_VERSION", f"{__version__}+g1a2b3c4")
    reset_container()
    assert stack.call("GET", "/api/v1/version").json()["version"] == f"{__version__}+g1a2b3c4"


def test_settings_name_the_variable_that_is_missing_or_wrong() -> None:
    with pytest.raises(MissingSetting, match="missing required environment variable TABLE_NAME"):
        Settings.from_environment({"BUCKET_NAME": "b"})
    with pytest.raises(MissingSetting, match="AUTOEVAL_MAX_ACTIVE_JOBS"):
        Settings.from_environment({"TABLE_NAME": "t", "BUCKET_NAME": "b", "AUTOEVAL_MAX_ACTIVE_JOBS": "many"})
    with pytest.raises(MissingSetting, match="EVALGATE_JUDGE_PARAMS"):
        Settings.from_environment({"TABLE_NAME": "t", "BUCKET_NAME": "b", "EVALGATE_JUDGE_PARAMS": "[1]"})
    settings = Settings.from_environment({"TABLE_NAME": "t", "BUCKET_NAME": "b"})
    with pytest.raises(MissingSetting, match="missing required environment variable STATE_MACHINE_ARN"):
        settings.required("state_machine_arn")
    with pytest.raises(MissingSetting, match="missing required environment variable AUTOEVAL_JOBS_QUEUE_URL"):
        settings.required_queue("jobs")
