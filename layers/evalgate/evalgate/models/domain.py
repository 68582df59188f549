"""Domain models: what services and the store exchange. Never raw items, never HTTP shapes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Role(StrEnum):
    viewer = "viewer"
    member = "member"
    admin = "admin"

    @property
    def rank(self) -> int:
        return {"viewer": 0, "member": 1, "admin": 2}[self.value]

    def allows(self, required: Role) -> bool:
        return self.rank >= required.rank


class Principal(BaseModel):
    """Who is calling: resolved from an API key."""

    model_config = ConfigDict(frozen=True)

    project_id: str
    key_id: str
    role: Role


class Project(BaseModel):
    id: str
    name: str
    description: str = ""
    parent_id: str | None = None
    created_at: datetime


class ApiKey(BaseModel):
    id: str
    project_id: str
    name: str
    role: Role
    prefix: str
    created_at: datetime
    revoked_at: datetime | None = None


class ModelConfig(BaseModel):
    """Model settings of a prompt version. Unknown provider parameters are kept as they are."""

    model_config = ConfigDict(extra="allow")

    provider: str = Field(default="openai", min_length=1, max_length=100)
    model: str = Field(default="gpt-4o-mini", min_length=1, max_length=200)
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=10_000_000)
    top_p: float | None = Field(default=None, ge=0, le=1)


class Prompt(BaseModel):
    id: int
    project_id: str
    name: str
    description: str = ""
    latest_version: int = 0
    created_at: datetime
    updated_at: datetime


class PromptVersion(BaseModel):
    prompt_id: int
    version_no: int
    template: str
    settings: ModelConfig
    variables: list[str]
    message: str = ""
    created_at: datetime


class Dataset(BaseModel):
    id: int
    prompt_id: int
    name: str
    description: str = ""
    case_count: int = 0
    created_at: datetime
    updated_at: datetime


class DatasetCase(BaseModel):
    name: str
    variables: dict[str, Any] = Field(default_factory=dict)
    expected_output: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    updated_at: datetime


class Page(BaseModel):
    """One page of a list plus the opaque cursor of the next page (None at the end)."""

    items: list[Any]
    next_cursor: str | None = None
