"""Prompts and prompt versions on the wire."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from evalgate.api.schemas.base import ApiModel, Description, Name, Paged, RequestModel, Template
from evalgate.models import domain
from evalgate.models.domain import ModelConfig


class PromptVersionCreate(RequestModel):
    template: Template
    model_config_: ModelConfig = Field(default_factory=ModelConfig, alias="modelConfig")
    message: Description = ""


class PromptCreate(RequestModel):
    name: Name
    description: Description = ""
    template: Template | None = Field(default=None, description="when given, version 1 is created with it")
    model_config_: ModelConfig | None = Field(default=None, alias="modelConfig")


class PromptUpdate(RequestModel):
    name: Name | None = None
    description: Description | None = None


class PromptVersionOut(ApiModel):
    prompt_id: int
    version_no: int
    template: str
    model_config_: ModelConfig = Field(alias="modelConfig")
    variables: list[str]
    message: str
    created_at: datetime

    @classmethod
    def of(cls, v: domain.PromptVersion) -> PromptVersionOut:
        return cls(
            prompt_id=v.prompt_id,
            version_no=v.version_no,
            template=v.template,
            modelConfig=v.settings,
            variables=v.variables,
            message=v.message,
            created_at=v.created_at,
        )


class PromptOut(ApiModel):
    id: int
    project_id: str
    name: str
    description: str
    latest_version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: domain.Prompt) -> PromptOut:
        return cls(
            id=p.id,
            project_id=p.project_id,
            name=p.name,
            description=p.description,
            latest_version=p.latest_version,
            created_at=p.created_at,
            updated_at=p.updated_at,
        )


class PromptCreated(PromptOut):
    version: PromptVersionOut | None = None


class PromptPage(Paged[PromptOut]):
    pass


class PromptVersionPage(Paged[PromptVersionOut]):
    pass
