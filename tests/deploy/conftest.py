"""The deploy rehearsal's fixtures: `make build`'s output and the SAM transform of its template, once a session.

Missing artifacts are an error, not a skip (`make test` runs `make build` first). The figures (resource count,
layer size) are printed in the terminal summary.
"""

import sysconfig
from pathlib import Path
from typing import Any

import pytest

from tools import rehearsal

FIGURES: dict[str, str] = {}


@pytest.fixture(scope="session")
def transformed() -> dict[str, Any]:
    return rehearsal.transform()


@pytest.fixture(scope="session")
def cfn(transformed: dict[str, Any]) -> dict[str, Any]:
    return transformed["template"]


@pytest.fixture(scope="session")
def layer_python(transformed: dict[str, Any]) -> Path:
    (layer,) = rehearsal.resources_of(transformed["template"], "AWS::Lambda::LayerVersion")
    # the transform suffixes a layer's logical id with a hash of its content
    (source,) = [
        name
        for name in transformed["code"]
        if layer.startswith(name) and name not in transformed["template"]["Resources"]
    ]
    return rehearsal.BUILD_DIR / transformed["code"][source] / "python"


@pytest.fixture(scope="session")
def local_site() -> Path:
    return Path(sysconfig.get_paths()["purelib"])


@pytest.fixture(scope="session")
def figures() -> dict[str, str]:
    return FIGURES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("deploy rehearsal")
        for key, value in FIGURES.items():
            terminalreporter.write_line(f"{key}: {value}")
