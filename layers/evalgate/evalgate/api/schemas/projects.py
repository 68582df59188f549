"""Projects and API keys on the wire."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from evalgate.api.schemas.base import ApiModel, Description, Name, Paged, RequestModel
from evalgate.models import domain
from evalgate.models.domain import Role


# -- projects and keys ---------------------------------------------------------------------------
class ProjectCreate(RequestModel):
    name: Name
    description: Description = ""


class ProjectOut(ApiModel):
    id: str
    name: str
    description: str
    parent_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, p: domain.Project) -> ProjectOut:
        return cls(id=p.id, name=p.name, description=p.description, parent_id=p.parent_id, created_at=p.created_at)


class CallerOut(ApiModel):
    """The key a request came with: its project and role (never the secret)."""

    project_id: str
    key_id: str
    role: Role

    @classmethod
    def of(cls, p: domain.Principal) -> CallerOut:
        return cls(project_id=p.project_id, key_id=p.key_id, role=p.role)


class ApiKeyCreate(RequestModel):
    name: Name
    role: Role = Role.member


class ApiKeyOut(ApiModel):
    id: str
    project_id: str
    name: str
    role: Role
    prefix: str = Field(description="the start of the key, to tell keys apart; the secret is never shown again")
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def of(cls, k: domain.ApiKey) -> ApiKeyOut:
        return cls(
            id=k.id,
            project_id=k.project_id,
            name=k.name,
            role=k.role,
            prefix=k.prefix,
            created_at=k.created_at,
            revoked_at=k.revoked_at,
        )


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="the secret: shown once, store it now")

    @classmethod
    def with_secret(cls, k: domain.ApiKey, secret: str) -> ApiKeyCreated:
        return cls(**ApiKeyOut.of(k).model_dump(), key=secret)


class ProjectCreated(ProjectOut):
    api_key: ApiKeyCreated


# -- pages (concrete classes, so the OpenAPI document has readable names) ------------------------
class ProjectPage(Paged[ProjectOut]):
    pass


class ApiKeyPage(Paged[ApiKeyOut]):
    pass
