"""Humanloop-compatible Evaluations on the wire: Humanloop's snake_case shapes (v5 API). Responses carry the
fields Humanloop's SDK reads, plus a few evalgate extensions (named in their descriptions)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import ConfigDict, Field, Strict, StrictBool, StringConstraints, model_validator

from evalgate.api.schemas.base import ShortRepr

if TYPE_CHECKING:
    from evalgate.models import stats
    from evalgate.models.evaluations import Evaluation, Evaluator
    from evalgate.services.humanloop.common import RunView

Ident = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
FilePath = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class HlRequest(ShortRepr):
    """Humanloop request bodies: snake_case, unknown fields refused (422 naming the field)."""

    model_config = ConfigDict(extra="forbid", defer_build=True)


class HlModel(ShortRepr):
    model_config = ConfigDict(defer_build=True)


# -- requests -----------------------------------------------------------------------------------------
class _OneOf(HlRequest):
    """A file or version given by `version_id`, `id` or `path` (Humanloop's three ways)."""

    version_id: Ident | None = None
    id: Ident | None = None
    path: FilePath | None = None
    environment: Ident | None = Field(default=None, description="accepted; evalgate has no environments")

    @model_validator(mode="after")
    def _one_ref(self) -> _OneOf:
        if self.version_id is None and self.id is None and self.path is None:
            raise ValueError("give version_id, id or path")
        return self


class FileRef(HlRequest):
    id: Ident | None = Field(default=None, description="the id of one of your prompts")
    path: FilePath | None = Field(default=None, description="a prompt name")

    @model_validator(mode="after")
    def _one_ref(self) -> FileRef:
        if self.id is None and self.path is None:
            raise ValueError("give id or path")
        return self


class EvaluatorRef(_OneOf):
    orchestrated: bool | None = Field(
        default=None,
        description="false: the evaluator's judgments come with the logs; true/omitted: evalgate runs it when "
        "its name (the last part of the path) is one of evalgate's assertion types or it has an `assertion`",
    )
    assertion: dict[str, Any] | None = Field(
        default=None,
        description='evalgate extension: the assertion evalgate runs for this evaluator, e.g. {"type": '
        '"llm-rubric", "value": "is polite"}',
    )


class EvaluationCreate(HlRequest):
    file: FileRef = Field(description="the prompt evaluated (required by evalgate: evaluations belong to a prompt)")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    evaluators: list[EvaluatorRef] = Field(max_length=25)


class EvaluatorsAdd(HlRequest):
    evaluators: list[EvaluatorRef] = Field(min_length=1, max_length=25)


class DatasetRef(_OneOf):
    """`id` (or `version_id`) is a dataset id of the evaluation's prompt, `path` a dataset name."""


class VersionRef(_OneOf):
    """`version_id` is a version number of the evaluation's prompt; `id`/`path` name the prompt (its latest
    version is used, as Humanloop uses the deployed one)."""


class EvaluationRunCreate(HlRequest):
    dataset: DatasetRef | None = None
    version: VersionRef | None = None
    orchestrated: bool | None = Field(
        default=None,
        description="default: true when a dataset or a version is given (evalgate generates the logs; both are "
        "needed), false for an empty body (a run that takes logs)",
    )
    use_existing_logs: bool = False


class EvaluationRunUpdate(HlRequest):
    control: bool | None = None
    status: Literal["cancelled", "completed"] | None = Field(
        default=None, description="only from pending or running (else 409)"
    )


Judgment = StrictBool | Annotated[float, Strict(), Field(allow_inf_nan=False)] | None  # no "yes" -> True


class InlineLog(HlRequest):
    """evalgate extension: a log sent with its judgments (evalgate keeps no Humanloop logs to point at)."""

    id: Ident = Field(description="the log's id: a log id is counted once per run, whatever is re-sent")
    datapoint_id: Ident | None = Field(default=None, description="pairs the logs of two runs in comparisons")
    inputs: dict[str, Any] = Field(default_factory=dict)
    output: Any = None
    target: Any = Field(default=None, description="expected output, for the evaluators evalgate runs")
    judgments: dict[Annotated[str, StringConstraints(min_length=1, max_length=500)], Judgment] = Field(
        default_factory=dict, description="evaluator (version_id, path or name) -> number, boolean or null"
    )
    latency_ms: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    cost: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    prompt_tokens: int | None = Field(default=None, ge=0)
    output_tokens: int | None = Field(default=None, ge=0)
    error: Annotated[str, StringConstraints(max_length=10_000)] | None = None


class LogsAdd(HlRequest):
    log_ids: list[Ident] | None = Field(default=None, max_length=1000)
    logs: list[InlineLog] | None = Field(default=None, max_length=1000, description="evalgate extension")


# -- responses ----------------------------------------------------------------------------------------
class EvaluationUserOut(HlModel):
    id: str
    email_address: str | None = None
    full_name: str | None = None


def _user(key_id: str | None) -> EvaluationUserOut | None:
    return EvaluationUserOut(id=key_id) if key_id else None


class EvaluatorSpecOut(HlModel):
    arguments_type: str
    return_type: str
    evaluator_type: str
    code: str | None = Field(default=None, description="python evaluators: evalgate runs the assertion instead")
    assertion: dict[str, Any] | None = None


class EvaluatorVersionOut(HlModel):
    path: str
    id: str
    name: str
    version_id: str
    type: str = "evaluator"
    spec: EvaluatorSpecOut
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime
    version_logs_count: int = 0
    total_logs_count: int = 0
    inputs: list[dict[str, str]] = Field(default_factory=list)


_TARGET_TYPES = frozenset(
    {"equals", "contains", "icontains", "starts-with", "ends-with", "levenshtein", "rouge-n", "bleu", "similar"}
    | {"factuality"}
)  # assertions that compare with the expected output when they have no value of their own


def _evaluator_type(e: Evaluator) -> str:
    # lazy: the service's mapping, loaded when an evaluator is shown (cold start)
    from evalgate.services.humanloop.files import humanloop_evaluator_type

    return humanloop_evaluator_type(e)


class EvaluationEvaluatorOut(HlModel):
    version: EvaluatorVersionOut
    orchestrated: bool
    added_at: datetime

    @classmethod
    def of(cls, e: Evaluator) -> EvaluationEvaluatorOut:
        a = e.assertion or {}
        needs_target = bool(a) and a.get("value") is None and a.get("type") in _TARGET_TYPES
        return cls(
            version=EvaluatorVersionOut(
                path=e.path,
                id=e.file_id,
                name=e.name,
                version_id=e.version_id,
                spec=EvaluatorSpecOut(
                    arguments_type="target_required" if needs_target else "target_free",
                    return_type="number",
                    evaluator_type=_evaluator_type(e),
                    code="" if _evaluator_type(e) == "python" else None,
                    assertion=e.assertion,
                ),
                created_at=e.added_at,
                updated_at=e.added_at,
                last_used_at=e.added_at,
            ),
            orchestrated=e.orchestrated,
            added_at=e.added_at,
        )


class EvaluationOut(HlModel):
    id: str
    runs_count: int
    evaluators: list[EvaluationEvaluatorOut]
    name: str | None
    file_id: str | None
    created_at: datetime
    created_by: EvaluationUserOut | None
    updated_at: datetime
    url: str | None = None

    @classmethod
    def of(cls, ev: Evaluation) -> EvaluationOut:
        return cls(
            id=ev.id,
            runs_count=ev.runs_count,
            evaluators=[EvaluationEvaluatorOut.of(e) for e in ev.evaluators],
            name=ev.name,
            file_id=str(ev.prompt_id),
            created_at=ev.created_at,
            created_by=_user(ev.created_by),
            updated_at=ev.updated_at,
            # relative to the API's base (the console shows the prompt's runs); the SDK prints it
            url=f"/console/#/prompts/{ev.prompt_id}/evaluations/{ev.id}",
        )


class EvaluationPage(HlModel):
    records: list[EvaluationOut]
    page: int
    size: int
    total: int


class EvaluationDatasetOut(HlModel):
    path: str
    id: str
    name: str
    version_id: str
    type: str = "dataset"
    description: str
    datapoints_count: int
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime


class EvaluationVersionOut(HlModel):
    path: str
    id: str
    name: str
    version_id: str
    type: str = "prompt"
    model: str
    provider: str
    template: str
    temperature: float | None
    max_tokens: int | None
    top_p: float | None
    version_description: str
    inputs: list[dict[str, str]]
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime
    version_logs_count: int = 0
    total_logs_count: int = 0
    attributes: dict[str, Any] | None = Field(default=None, description="a flow's attributes (type flow)")


class EvaluationRunOut(HlModel):
    id: str
    orchestrated: bool
    added_at: datetime
    created_at: datetime
    status: Literal["pending", "running", "completed", "cancelled"]
    control: bool
    dataset: EvaluationDatasetOut | None
    version: EvaluationVersionOut | None
    created_by: EvaluationUserOut | None
    evalgate_status: str = Field(description="evalgate extension: the run's own lifecycle status")
    num_logs: int = Field(description="evalgate extension: logs counted so far")

    @classmethod
    def of(cls, view: RunView) -> EvaluationRunOut:
        # lazy: a sibling service, loaded on the path that calls it (cold start)
        from evalgate.services.humanloop.common import humanloop_status

        run, prompt, version, ds = view.run, view.prompt, view.version, view.dataset
        version_out = None
        if prompt is not None and version is not None:
            s = version.settings
            flow = (s.model_extra or {}).get("hl_type") == "flow"
            version_out = EvaluationVersionOut(
                type="flow" if flow else "prompt",
                attributes=(s.model_extra or {}).get("attributes") or {} if flow else None,
                path=prompt.name,
                id=str(prompt.id),
                name=prompt.name,
                version_id=str(version.version_no),
                model=s.model,
                provider=s.provider,
                template=version.template,
                temperature=s.temperature,
                max_tokens=s.max_tokens,
                top_p=s.top_p,
                version_description=version.message,
                inputs=[{"name": v} for v in version.variables],
                created_at=version.created_at,
                updated_at=prompt.updated_at,
                last_used_at=prompt.updated_at,
            )
        dataset_out = None
        if ds is not None:
            dataset_out = EvaluationDatasetOut(
                path=ds.name,
                id=str(ds.id),
                name=ds.name,
                version_id=str(ds.id),
                description=ds.description,
                datapoints_count=ds.case_count,
                created_at=ds.created_at,
                updated_at=ds.updated_at,
                last_used_at=ds.updated_at,
            )
        return cls(
            id=str(run.id),
            orchestrated=view.member.orchestrated,
            added_at=view.member.added_at,
            created_at=run.created_at,
            status=humanloop_status(run),  # type: ignore[arg-type]
            control=view.control,
            dataset=dataset_out,
            version=version_out,
            created_by=_user(view.member.created_by),
            evalgate_status=run.status.value,
            num_logs=run.aggregates.done,
        )


class EvaluationRunsOut(HlModel):
    runs: list[EvaluationRunOut]


class EvaluatorStatsOut(HlModel):
    """Humanloop's numeric evaluator stats; num_true/num_false too when the evaluator judged pass/fail."""

    evaluator_version_id: str
    total_logs: int
    num_judgments: int
    num_nulls: int
    num_errors: int
    mean: float | None
    sum: float | None
    std: float | None
    percentiles: dict[str, float]
    num_true: int | None = None
    num_false: int | None = None

    @classmethod
    def of(cls, e: Evaluator, figures: stats.RunStats) -> EvaluatorStatsOut:
        """One evaluator's figures in a run. Orchestrated runs name their scorers by assertion type, external
        ones by evaluator name."""
        s = figures.scorers.get(e.name)
        if s is None and e.assertion is not None:
            s = figures.scorers.get(str(e.assertion.get("type")))
        if s is None:
            return cls(
                evaluator_version_id=e.version_id,
                total_logs=0,
                num_judgments=0,
                num_nulls=0,
                num_errors=0,
                mean=None,
                sum=None,
                std=None,
                percentiles={},
            )
        mean = s.score.mean
        judged = s.pass_rate.judged
        return cls(
            evaluator_version_id=e.version_id,
            total_logs=s.count,
            num_judgments=s.count - s.nulls - s.errors,
            num_nulls=s.nulls,
            num_errors=s.errors,
            mean=mean,
            sum=round(mean * s.values, 9) if mean is not None else None,
            std=s.score.std,
            percentiles={k.removeprefix("p"): v for k, v in s.score.percentiles.items()},
            num_true=s.pass_rate.passed if judged else None,
            num_false=judged - s.pass_rate.passed if judged else None,
        )


class EvaluationRunStatsOut(HlModel):
    run_id: str
    version_id: str | None
    batch_id: str | None
    num_logs: int
    evaluator_stats: list[EvaluatorStatsOut]
    status: Literal["pending", "running", "completed", "cancelled"]
    control: bool = Field(description="evalgate extension: this run is the evaluation's control")
    pass_rate: dict[str, Any] | None = Field(description="evalgate extension: pass rate with its Wilson 95% CI")
    mean_score: float | None = Field(description="evalgate extension")
    cost_usd: float | None = Field(description="evalgate extension")
    comparison: dict[str, Any] | None = Field(
        default=None,
        description="evalgate extension: against the control run over the datapoints both share (paired "
        "deltas, McNemar's exact p-value, a paired bootstrap CI of the mean score delta)",
    )


class EvaluationStatsOut(HlModel):
    run_stats: list[EvaluationRunStatsOut]
    status: Literal["pending", "running", "completed", "cancelled"]
    progress: str | None
    report: str | None
    control_run_id: str | None = Field(description="evalgate extension")

    @classmethod
    def of(cls, figures: stats.EvaluationStats) -> EvaluationStatsOut:
        # lazy: the stats route alone needs these (cold start of the other /v5 functions)
        from evalgate.api.schemas.evals import ComparisonOut, PassRateOut
        from evalgate.services.humanloop.common import humanloop_status

        entries = []
        for s in figures.runs:
            run = s.run
            entries.append(
                EvaluationRunStatsOut(
                    run_id=str(run.id),
                    version_id=str(run.version_no) if run.version_no is not None else None,
                    batch_id=None,
                    num_logs=s.count,
                    evaluator_stats=[EvaluatorStatsOut.of(e, s) for e in figures.evaluation.evaluators],
                    status=humanloop_status(run),  # type: ignore[arg-type]
                    control=run.id == figures.control_run_id,
                    pass_rate=PassRateOut.of(s.pass_rate).model_dump(),
                    mean_score=s.score.mean,
                    cost_usd=s.cost_usd,
                    comparison=ComparisonOut.of(s.comparison).model_dump() if s.comparison else None,
                )
            )
        statuses = [e.status for e in entries]
        finished = sum(1 for st in statuses if st in ("completed", "cancelled"))
        control = figures.control_run_id
        return cls(
            run_stats=entries,
            status=_overall_status(statuses),
            progress=f"{finished} of {len(statuses)} runs finished; {sum(e.num_logs for e in entries)} logs",
            report=_report(figures, entries),
            control_run_id=str(control) if control is not None else None,
        )


def _report(figures: stats.EvaluationStats, entries: list[EvaluationRunStatsOut]) -> str:
    """A plain-text summary like the one Humanloop's SDK prints after `evaluations.run()`: per run its status,
    logs, errors and each evaluator's score (pass rate for pass/fail evaluators, else the mean)."""
    names = [e.path for e in figures.evaluation.evaluators]
    header = ["Run", "Version", "Status", "Logs", "Errors", *names]
    rows = [header]
    for entry, s in zip(entries, figures.runs, strict=True):
        cells = [entry.run_id + (" (control)" if entry.control else ""), entry.version_id or "-", entry.status]
        cells += [str(entry.num_logs), str(s.errors)]
        for es in entry.evaluator_stats:
            if es.num_true is not None and es.num_judgments:
                cells.append(f"{es.num_true}/{es.num_true + (es.num_false or 0)} passed")
            elif es.mean is not None:
                cells.append(f"{es.mean:.3f}")
            else:
                cells.append("-")
        rows.append(cells)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    out = [line]
    for i, r in enumerate(rows):
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")
        if i == 0:
            out.append(line)
    out.append(line)
    return "\n" + "\n".join(out) + "\n"


def _overall_status(statuses: Sequence[str]) -> Literal["pending", "running", "completed", "cancelled"]:
    if not statuses:
        return "pending"
    if "running" in statuses:
        return "running"
    if "pending" in statuses:
        return "pending"
    if all(s == "cancelled" for s in statuses):
        return "cancelled"
    return "completed"


class EvaluatorLogOut(HlModel):
    model_config = ConfigDict(defer_build=True, extra="allow")

    id: str
    parent_id: str
    evaluator: dict[str, Any]
    judgment: Any
    error: str | None


class EvaluationLogOut(HlModel):
    """A log: Humanloop's PromptLogResponse (its file under `prompt`) or, for a flow, FlowLogResponse (its file
    under `flow`); the file and Humanloop's other log fields pass through as they are."""

    model_config = ConfigDict(defer_build=True, extra="allow")

    id: str
    inputs: Any
    output: Any
    error: str | None
    source_datapoint_id: str | None
    evaluator_logs: list[EvaluatorLogOut]


class EvaluationLogRecordOut(HlModel):
    run_id: str
    datapoint: dict[str, Any] | None
    log: EvaluationLogOut
    evaluator_logs: list[EvaluatorLogOut]


class EvaluationLogsPage(HlModel):
    records: list[EvaluationLogRecordOut]
    page: int
    size: int
    total: int


# -- the file API the SDK's evaluations.run() uses (prompts, datasets, evaluators, logs) ----------------------
class HlOpenRequest(ShortRepr):
    """A Humanloop file or log request: the fields evalgate maps are checked; Humanloop's others (tools,
    reasoning effort, provider request bodies...) are accepted and ignored."""

    model_config = ConfigDict(extra="allow", defer_build=True)


class HlOpenOut(ShortRepr):
    """A Humanloop response (PromptResponse, DatasetResponse, EvaluatorResponse, log responses): built by the
    service in Humanloop's shape, checked against the SDK's own models in the tests."""

    model_config = ConfigDict(extra="allow", defer_build=True)


class RetrieveByPath(HlRequest):
    path: FilePath
    environment: Ident | None = None


class PromptUpsert(HlOpenRequest):
    path: FilePath | None = None
    id: Ident | None = None
    model: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    template: str | list[dict[str, Any]] | None = None
    provider: Ident | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=-1)
    top_p: float | None = Field(default=None, ge=0, le=1)
    version_description: str | None = Field(default=None, max_length=10_000)

    @model_validator(mode="after")
    def _one_ref(self) -> PromptUpsert:
        if self.id is None and self.path is None:
            raise ValueError("give path or id")
        return self


class PromptLogCreate(HlOpenRequest):
    path: FilePath | None = None
    id: Ident | None = None
    run_id: Ident | None = None
    source_datapoint_id: Ident | None = None
    inputs: dict[str, Any] | None = None
    output: str | None = Field(default=None, max_length=1_000_000)
    error: str | None = Field(default=None, max_length=100_000)
    prompt_tokens: int | None = Field(default=None, ge=0)
    output_tokens: int | None = Field(default=None, ge=0)
    prompt_cost: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    output_cost: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    provider_latency: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    start_time: datetime | None = None
    end_time: datetime | None = None
    created_at: datetime | None = None
    log_status: Literal["complete", "incomplete"] | None = None


class FlowUpsert(HlOpenRequest):
    """Humanloop's flow upsert: a flow is an evalgate prompt whose versions hold the flow's attributes."""

    path: FilePath | None = None
    id: Ident | None = None
    attributes: dict[str, Any] = Field(
        description="the flow's version: any JSON object (a new version when it changes)"
    )
    version_name: str | None = Field(default=None, max_length=200)
    version_description: str | None = Field(default=None, max_length=10_000)

    @model_validator(mode="after")
    def _one_ref(self) -> FlowUpsert:
        if self.id is None and self.path is None:
            raise ValueError("give path or id")
        return self


class FlowLogCreate(PromptLogCreate):
    """A flow's log (the SDK's runner logs a local callable's output on the flow it evaluates)."""


class DatapointIn(HlOpenRequest):
    inputs: dict[str, Any] | None = None
    messages: list[dict[str, Any]] | None = None
    target: dict[str, Any] | None = None


class DatasetUpsert(HlOpenRequest):
    path: FilePath | None = None
    id: Ident | None = None
    datapoints: list[DatapointIn] = Field(default_factory=list, max_length=1000)
    action: Literal["set", "add", "remove"] | None = None
    version_name: str | None = Field(default=None, max_length=200)
    version_description: str | None = Field(default=None, max_length=10_000)


class EvaluatorSpecIn(HlOpenRequest):
    arguments_type: Literal["target_free", "target_required"]
    return_type: Literal["boolean", "number", "select", "multi_select", "text"]
    evaluator_type: Literal["llm", "python", "human", "external"]
    assertion: dict[str, Any] | None = Field(
        default=None, description='evalgate extension: the assertion evalgate runs, e.g. {"type": "contains"}'
    )


class EvaluatorUpsert(HlOpenRequest):
    path: FilePath | None = None
    id: Ident | None = None
    spec: EvaluatorSpecIn


class EvaluatorLogCreate(HlOpenRequest):
    parent_id: Ident
    path: FilePath | None = None
    id: Ident | None = None
    judgment: bool | float | str | list[str] | None = None
    error: str | None = Field(default=None, max_length=100_000)
    start_time: datetime | None = None
    end_time: datetime | None = None
    created_at: datetime | None = None
    marked_completed: bool | None = None
