"""GET /api/v1/version on the wire."""

from __future__ import annotations

from pydantic import Field

from evalgate.api.schemas.base import ApiModel
from evalgate.services.version import Deployed


class VersionOut(ApiModel):
    version: str = Field(description="the deployed version (stamped by `make deploy`: <package version>+g<commit>)")
    package_version: str = Field(description="the evalgate package's version")
    stage: str

    @classmethod
    def of(cls, d: Deployed) -> VersionOut:
        return cls(version=d.version, package_version=d.package_version, stage=d.stage)
