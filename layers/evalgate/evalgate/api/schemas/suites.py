"""Suites and tests on the wire."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from evalgate.api.schemas.base import ApiModel, CaseName, Description, Name, Paged, RequestModel
from evalgate.models import domain


# -- suites and tests ----------------------------------------------------------------------------
class SuiteConfigIn(RequestModel):
    max_concurrency: int = Field(default=10, ge=1, le=100, description="Map concurrency of a run")
    judge_provider: str | None = Field(default=None, max_length=100, description="provider of model-graded checks")
    judge_model: str | None = Field(default=None, max_length=200)
    judge_params: dict[str, Any] = Field(default_factory=dict, description="extra parameters of judge calls")
    pass_threshold: float = Field(default=100.0, ge=0, le=100, description="run score (0-100) needed to pass")

    def to_domain(self) -> domain.SuiteConfig:
        return domain.SuiteConfig(**self.model_dump())


class SuiteConfigOut(ApiModel):
    max_concurrency: int
    judge_provider: str | None
    judge_model: str | None
    judge_params: dict[str, Any]
    pass_threshold: float


class TestIn(RequestModel):
    __test__ = False  # not a pytest test class
    name: Name
    variables: dict[str, Any] = Field(default_factory=dict, description="inline input variables")
    dataset_id: int | None = Field(default=None, ge=1, le=2**53, description="run over this dataset's cases")
    case_names: list[CaseName] | None = Field(default=None, max_length=500, description="only these cases")
    assertions: list[dict[str, Any]] = Field(default_factory=list, max_length=50)
    weight: float = Field(default=1.0, ge=0, le=1000)
    threshold: float | None = Field(default=None, ge=0, le=1, description="weighted score needed to pass")
    repeat: int = Field(default=1, ge=1, le=100, description="how many times each case runs")


class TestUpdate(RequestModel):
    __test__ = False  # not a pytest test class
    name: Name | None = None
    variables: dict[str, Any] | None = None
    dataset_id: int | None = Field(default=None, ge=1, le=2**53)
    case_names: list[CaseName] | None = Field(default=None, max_length=500)
    assertions: list[dict[str, Any]] | None = Field(default=None, max_length=50)
    weight: float | None = Field(default=None, ge=0, le=1000)
    threshold: float | None = Field(default=None, ge=0, le=1)
    repeat: int | None = Field(default=None, ge=1, le=100)


class TestOut(ApiModel):
    __test__ = False  # not a pytest test class
    id: int
    suite_id: int
    name: str
    variables: dict[str, Any]
    dataset_id: int | None
    case_names: list[str] | None
    assertions: list[dict[str, Any]]
    weight: float
    threshold: float | None
    repeat: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, t: domain.SuiteTest) -> TestOut:
        return cls(**t.model_dump())


class SuiteCreate(RequestModel):
    name: Name
    description: Description = ""
    config: SuiteConfigIn = Field(default_factory=SuiteConfigIn)
    tests: list[TestIn] = Field(default_factory=list, max_length=200)


class SuiteUpdate(RequestModel):
    name: Name | None = None
    description: Description | None = None
    config: SuiteConfigIn | None = None


class SuiteOut(ApiModel):
    id: int
    prompt_id: int
    name: str
    description: str
    config: SuiteConfigOut
    test_count: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, s: domain.Suite) -> SuiteOut:
        return cls(
            id=s.id,
            prompt_id=s.prompt_id,
            name=s.name,
            description=s.description,
            config=SuiteConfigOut(**s.config.model_dump()),
            test_count=s.test_count,
            created_at=s.created_at,
            updated_at=s.updated_at,
        )


class SuiteWithTests(SuiteOut):
    tests: list[TestOut]


class SuitePage(Paged[SuiteOut]):
    pass
