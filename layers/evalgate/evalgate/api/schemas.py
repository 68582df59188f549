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


# -- runs ------------------------------------------------------------------------------------------
class RunRequest(RequestModel):
    suite_id: int = Field(ge=1, le=2**53, description="which suite to run")
    version_no: int = Field(ge=1, le=2**31, description="prompt version to test")
    model_config_: dict[str, Any] | None = Field(
        default=None, alias="modelConfig", description="overrides of the version's model settings"
    )
    test_ids: list[Annotated[int, Field(ge=1, le=2**53)]] | None = Field(
        default=None, max_length=500, description="run a subset of tests"
    )


class RunSummary(ApiModel):
    total: int
    passed: int
    failed: int
    errored: int


class RunProgress(ApiModel):
    done: int
    total: int


class RunOut(ApiModel):
    id: int
    prompt_id: int | None
    suite_id: int | None
    version_no: int | None
    config_hash: str
    status: str
    verdict: str | None
    summary: RunSummary
    progress: RunProgress
    score: float | None
    duration_ms: int | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, r: domain.Run) -> RunOut:
        a = r.aggregates
        return cls(
            id=r.id,
            prompt_id=r.prompt_id,
            suite_id=r.suite_id,
            version_no=r.version_no,
            config_hash=r.config_hash,
            status=r.status.value,
            verdict=r.verdict,
            summary=RunSummary(total=a.total, passed=a.passed, failed=a.failed, errored=a.errored),
            progress=RunProgress(done=a.done, total=a.total),
            score=r.score,
            duration_ms=r.duration_ms,
            error=r.error,
            created_at=r.created_at,
            started_at=r.started_at,
            finished_at=r.finished_at,
        )


class AssertionOut(ApiModel):
    operator: str
    status: str
    expected: Any = None
    actual: Any = None
    score: float | None = None
    weight: float | None = None
    reason: str | None = None


class ResultOut(ApiModel):
    name: str
    status: str
    duration_ms: float
    score: float
    assertions: list[AssertionOut]
    output: str | None
    error: str | None
    test_id: int | None
    case_name: str | None
    repeat: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    cached: bool

    @classmethod
    def of(cls, r: domain.RunResult) -> ResultOut:
        return cls(
            name=r.name,
            status=r.status,
            duration_ms=round(r.duration_ms, 1),
            score=r.score,
            assertions=[AssertionOut.model_validate(a) for a in r.assertions],
            output=r.output,
            error=r.error,
            test_id=r.test_id,
            case_name=r.case_name,
            repeat=r.repeat,
            input_tokens=r.input_tokens,
            output_tokens=r.output_tokens,
            cost_usd=r.cost_usd,
            cached=r.cached,
        )


class RunWithResults(RunOut):
    results: list[ResultOut]
    next_cursor: str | None = Field(default=None, description="cursor of the next page of results")


class RunPage(Paged[RunOut]):
    pass


class ExploreRequest(RequestModel):
    version_no: int | None = Field(default=None, ge=1, le=2**31, description="the version to try")
    template: Template | None = Field(default=None, description="or an unsaved template")
    model_config_: dict[str, Any] | None = Field(default=None, alias="modelConfig")
    suite_id: int | None = Field(default=None, ge=1, le=2**53, description="run this suite's tests")
    test_ids: list[Annotated[int, Field(ge=1, le=2**53)]] | None = Field(default=None, max_length=500)
    tests: list[TestIn] = Field(default_factory=list, max_length=50, description="or ad-hoc tests")
    use_cache: bool = True


class ExploreOut(ApiModel):
    summary: RunSummary
    score: float
    duration_ms: int
    results: list[ResultOut]
