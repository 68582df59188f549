"""What is deployed: the version `make deploy` stamped into the stack (template parameter Version), else the
package's own version, and the stage."""

from __future__ import annotations

from dataclasses import dataclass

from evalgate import __version__
from evalgate.settings import get_settings


@dataclass(frozen=True)
class Deployed:
    version: str
    package_version: str
    stage: str


def deployed() -> Deployed:
    settings = get_settings()
    return Deployed(version=settings.version or __version__, package_version=__version__, stage=settings.stage)
