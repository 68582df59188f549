"""Datasets and cases on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from evalgate.api.schemas.base import ApiModel, CaseName, Description, ExpectedOutput, Name, Paged, RequestModel
from evalgate.models import domain


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
    version: int = Field(description="the dataset version shown: every change of its cases makes a new one")
    content_hash: str = Field(description="order-independent hash of the version's cases (sha256:…)")
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
            version=d.version,
            content_hash=d.content_hash,
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


class DatasetPage(Paged[DatasetOut]):
    pass


class DatasetVersionOut(ApiModel):
    """One immutable version of a dataset's cases (read it with GET …/datasets/{datasetId}?version=N)."""

    dataset_id: int
    version: int
    content_hash: str = Field(description="order-independent hash of the version's cases (sha256:…)")
    case_count: int
    change: str = Field(description="what made it: created, added/changed/removed case 'name', …")
    created_at: datetime

    @classmethod
    def of(cls, v: domain.DatasetVersion) -> DatasetVersionOut:
        return cls(
            dataset_id=v.dataset_id,
            version=v.version,
            content_hash=v.content_hash,
            case_count=v.case_count,
            change=v.change,
            created_at=v.created_at,
        )


class DatasetVersionPage(Paged[DatasetVersionOut]):
    """A dataset's versions, newest first."""


class DatasetImportJobOut(ApiModel):
    """A background import (a file with more cases than one request writes in time): poll its status URL."""

    import_id: str = Field(description="poll GET …/eval/datasets/imports/{importId}")
    prompt_id: int
    dataset_id: int = Field(description="the dataset the import creates (it exists once the status is completed)")
    name: str
    status: Literal["queued", "running", "completed", "failed"]
    total: int = Field(description="cases in the file")
    done: int = Field(description="cases written so far")
    error: str | None = Field(default=None, description="why the import failed (nothing of it was kept)")
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @classmethod
    def of(cls, job: dict[str, Any]) -> DatasetImportJobOut:
        return cls(
            import_id=job["id"],
            prompt_id=int(job["promptId"]),
            dataset_id=int(job["datasetId"]),
            name=job["name"],
            status=job["status"],
            total=int(job["total"]),
            done=int(job.get("done", 0)),
            error=job.get("error"),
            created_at=job["createdAt"],
            started_at=job.get("startedAt"),
            finished_at=job.get("finishedAt"),
        )
