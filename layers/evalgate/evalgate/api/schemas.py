"""API request and response models (camelCase on the wire), mapped explicitly from domain models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

from evalgate.models import domain
from evalgate.models.domain import ModelConfig, Role

T = TypeVar("T")

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[str, StringConstraints(max_length=2000)]
CaseName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^/]+$")]


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, protected_namespaces=())


class RequestModel(ApiModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", protected_namespaces=())


class Paged(ApiModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


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


# -- prompts -------------------------------------------------------------------------------------
Template = Annotated[str, StringConstraints(min_length=1, max_length=100_000)]


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


# -- datasets ------------------------------------------------------------------------------------
ExpectedOutput = Annotated[str, StringConstraints(max_length=1_000_000)]


class CaseIn(RequestModel):
    name: CaseName
    variables: dict[str, Any] = Field(default_factory=dict)
    expected_output: ExpectedOutput | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class CaseUpdate(RequestModel):
    name: CaseName | None = Field(default=None, description="a new name renames the case")
    variables: dict[str, Any] | None = None
    expected_output: ExpectedOutput | None = None
    metadata: dict[str, Any] | None = None


class CaseOut(ApiModel):
    name: str
    variables: dict[str, Any]
    expected_output: str | None
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, c: domain.DatasetCase) -> CaseOut:
        return cls(
            name=c.name,
            variables=c.variables,
            expected_output=c.expected_output,
            metadata=c.metadata,
            created_at=c.created_at,
            updated_at=c.updated_at,
        )


class DatasetCreate(RequestModel):
    name: Name
    description: Description = ""
    cases: list[CaseIn] = Field(default_factory=list, max_length=1000)


class DatasetUpdate(RequestModel):
    name: Name | None = None
    description: Description | None = None


class DatasetOut(ApiModel):
    id: int
    prompt_id: int
    name: str
    description: str
    case_count: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, d: domain.Dataset) -> DatasetOut:
        return cls(
            id=d.id,
            prompt_id=d.prompt_id,
            name=d.name,
            description=d.description,
            case_count=d.case_count,
            created_at=d.created_at,
            updated_at=d.updated_at,
        )


class DatasetWithCases(DatasetOut):
    cases: list[CaseOut]
    next_cursor: str | None = Field(default=None, description="cursor of the next page of cases")


class DatasetImport(RequestModel):
    name: Name
    description: Description = ""
    format: Literal["csv", "json", "jsonl"] | None = Field(default=None, description="guessed when omitted")
    content: str | None = Field(default=None, description="the file's text, up to 5 MB")
    upload_id: str | None = Field(default=None, description="from POST …/eval/datasets/uploads, for big files")
    expected_column: str | None = Field(default=None, description="CSV column with the expected output")
    name_column: str | None = Field(default=None, description="CSV column with the case name")


class UploadCreate(RequestModel):
    content_type: Literal["text/csv", "application/json", "application/x-ndjson"] = "text/csv"


class UploadOut(ApiModel):
    upload_id: str
    upload_url: str
    method: str
    headers: dict[str, str]
    expires_in: int
    max_bytes: int


# -- pages (concrete classes, so the OpenAPI document has readable names) ------------------------
class ProjectPage(Paged[ProjectOut]):
    pass


class ApiKeyPage(Paged[ApiKeyOut]):
    pass


class PromptPage(Paged[PromptOut]):
    pass


class PromptVersionPage(Paged[PromptVersionOut]):
    pass


class DatasetPage(Paged[DatasetOut]):
    pass
