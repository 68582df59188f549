"""Annotation queues on the wire (/api/v1/annotation-queues…): snake_case, as the rest of /api/v1."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, model_validator

from evalgate.api.schemas.traces import SnakeModel, SnakeRequest
from evalgate.models.annotations import AnnotationItem, AnnotationQueue, Label
from evalgate.models.prompt_ref import PromptRef
from evalgate.services.annotations import Claim, Progress

CriterionName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200)]
RefId = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Finite = Annotated[float, Field(allow_inf_nan=False, ge=-1e9, le=1e9)]


class CriterionIn(SnakeRequest):
    name: CriterionName
    type: Literal["pass_fail", "score", "label", "comment"]
    description: str = Field(default="", max_length=2000)
    required: bool = True
    scale_min: Finite | None = Field(default=None, description="score: the lowest score (e.g. 1)")
    scale_max: Finite | None = Field(default=None, description="score: the highest score (e.g. 5)")
    labels: list[ShortText] | None = Field(default=None, min_length=2, max_length=50, description="label: the set")
    judge: ShortText | None = Field(
        default=None,
        description="the judge verdict compared with the humans: an assertion type or metric name of a run "
        "(llm-rubric, factuality…), a scorer or evaluator name, an auto-eval criterion",
    )
    pass_threshold: float = Field(default=0.5, ge=0, le=1, description="pass_fail: a judge's score passes from here")


class QueueCreate(SnakeRequest):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    description: str = Field(default="", max_length=2000)
    instructions: str = Field(default="", max_length=20_000, description="shown to reviewers")
    criteria: list[CriterionIn] = Field(min_length=1, max_length=20)
    reviewers_per_item: int = Field(default=1, ge=1, le=10, description="labels each item needs")
    claim_seconds: int | None = Field(
        default=None, ge=10, le=86_400, description="how long a reviewer holds an item (default 600)"
    )


class CriterionOut(SnakeModel):
    name: str
    type: str
    description: str
    required: bool
    scale_min: float | None
    scale_max: float | None
    labels: list[str] | None
    judge: str | None
    pass_threshold: float


class ReviewerProgressOut(SnakeModel):
    reviewer: str = Field(description="the reviewer's API key id")
    labelled: int
    skipped: int
    claimed: int


class ProgressOut(SnakeModel):
    items: int
    complete: int = Field(description="items with all their labels")
    labels: int
    places: int = Field(description="labels the queue needs in all (items x reviewers_per_item)")
    claimed: int = Field(description="claims held now")
    reviewers: list[ReviewerProgressOut]

    @classmethod
    def of(cls, p: Progress) -> ProgressOut:
        return cls(
            items=p.items,
            complete=p.complete,
            labels=p.labels,
            places=p.places,
            claimed=p.claimed,
            reviewers=[
                ReviewerProgressOut(reviewer=k, labelled=v.labelled, skipped=v.skipped, claimed=v.claimed)
                for k, v in sorted(p.reviewers.items())
            ],
        )


class QueueOut(SnakeModel):
    id: str
    name: str
    description: str
    instructions: str
    criteria: list[CriterionOut]
    reviewers_per_item: int
    claim_seconds: int
    created_at: datetime
    created_by: str
    progress: ProgressOut | None = None

    @classmethod
    def of(cls, q: AnnotationQueue, progress: Progress | None = None) -> QueueOut:
        return cls(
            id=q.id,
            name=q.name,
            description=q.description,
            instructions=q.instructions,
            criteria=[CriterionOut(**c.model_dump()) for c in q.criteria],
            reviewers_per_item=q.reviewers_per_item,
            claim_seconds=q.claim_seconds,
            created_at=q.created_at,
            created_by=q.created_by,
            progress=ProgressOut.of(progress) if progress is not None else None,
        )


class QueuePage(SnakeModel):
    items: list[QueueOut]
    next_cursor: str | None = Field(default=None, serialization_alias="nextCursor")


class ItemSourceIn(SnakeRequest):
    """One item: a run's result, a trace, an auto-eval sample, or given inline (manual)."""

    kind: Literal["run", "trace", "auto_eval", "manual"]
    run_id: int | RefId | None = Field(default=None, description="run: a suite, EvalGuard or Humanloop run id")
    result_id: RefId | None = Field(default=None, description="run: the result's id (a suite result's index)")
    trace_id: RefId | None = None
    job_id: RefId | None = Field(default=None, description="auto_eval: the job")
    input: Any = None
    output: str | None = Field(default=None, max_length=1_000_000)
    context: Any = None
    expected: Any = None
    judge: dict[ShortText, Any] | None = Field(default=None, max_length=50, description="manual: verdicts by name")
    metadata: dict[str, Any] | None = None
    ref: RefId | None = Field(default=None, description="manual: your id of the item (adding it again is a no-op)")

    @model_validator(mode="after")
    def _reference(self) -> ItemSourceIn:
        need = {"run": ("run_id", "result_id"), "trace": ("trace_id",), "auto_eval": ("job_id", "trace_id")}
        for name in need.get(self.kind, ()):
            if getattr(self, name) is None:
                raise ValueError(f"a {self.kind} item needs {name}")
        return self


class SampleIn(SnakeRequest):
    size: int = Field(ge=1, le=500)
    seed: int = Field(default=0, ge=0, le=2**53)


class RunFilterIn(SnakeRequest):
    run_id: int | RefId
    status: Literal["passed", "failed", "errored"] | None = None
    judge_failed: ShortText | None = Field(default=None, description="only results this verdict failed")
    sample: SampleIn | None = None


class AutoEvalFilterIn(SnakeRequest):
    job_id: RefId
    failed_criterion: ShortText | None = Field(default=None, description="only samples this criterion failed")
    sample: SampleIn | None = None


class TraceFilterIn(SnakeRequest):
    model: ShortText | None = None
    prompt_id: PromptRef | None = None
    environment: ShortText | None = None
    since: datetime | None = None
    until: datetime | None = None
    sample: SampleIn | None = None


class AddItems(SnakeRequest):
    """Items one by one, or by filter (optionally a seeded random sample) from a run, an auto-eval job or traces."""

    items: list[ItemSourceIn] | None = Field(default=None, min_length=1, max_length=500)
    from_run: RunFilterIn | None = None
    from_auto_eval: AutoEvalFilterIn | None = None
    from_traces: TraceFilterIn | None = None

    @model_validator(mode="after")
    def _something(self) -> AddItems:
        if not (self.items or self.from_run or self.from_auto_eval or self.from_traces):
            raise ValueError("give items, from_run, from_auto_eval or from_traces")
        return self


class AddItemsOut(SnakeModel):
    added: int
    already_present: int
    item_ids: list[str] = Field(description="the ids of the items added, in queue order")


class SlotOut(SnakeModel):
    reviewer: str
    done: bool
    claimed_until: datetime | None


class ItemOut(SnakeModel):
    id: str
    source: dict[str, Any]
    input: Any
    output: Any
    context: Any
    expected: Any
    metadata: dict[str, Any]
    judge: dict[str, Any] = Field(description="the judge verdicts recorded with the item, by name")
    reviewers: list[SlotOut]
    skipped_by: list[str]
    complete: bool
    added_at: datetime

    @classmethod
    def of(cls, item: AnnotationItem) -> ItemOut:
        return cls(
            id=item.id,
            source=item.source,
            input=item.content.get("input"),
            output=item.content.get("output"),
            context=item.content.get("context"),
            expected=item.content.get("expected"),
            metadata=item.content.get("metadata") or {},
            judge=item.judge,
            reviewers=[
                SlotOut(
                    reviewer=s.by,
                    done=s.done,
                    claimed_until=None if s.done else datetime.fromtimestamp(s.until, tz=UTC),
                )
                for s in item.slots
                if s is not None
            ],
            skipped_by=item.skipped_by,
            complete=item.complete,
            added_at=item.added_at,
        )


class ItemPage(SnakeModel):
    items: list[ItemOut]
    next_cursor: str | None = Field(default=None, serialization_alias="nextCursor")


class ReviewItemOut(SnakeModel):
    """What a reviewer sees: the item without the judge's verdicts (reviews are blind)."""

    id: str
    input: Any
    output: Any
    context: Any
    expected: Any
    metadata: dict[str, Any]


class ClaimOut(SnakeModel):
    queue_id: str
    item: ReviewItemOut | None = Field(description="null: nothing left for this reviewer now")
    claimed_until: datetime | None
    criteria: list[CriterionOut]
    instructions: str
    labels: dict[str, Any] | None = Field(description="this reviewer's earlier answers, when revising")

    @classmethod
    def of(cls, claim: Claim) -> ClaimOut:
        item = claim.item
        return cls(
            queue_id=claim.queue.id,
            item=ReviewItemOut(
                id=item.id,
                input=item.content.get("input"),
                output=item.content.get("output"),
                context=item.content.get("context"),
                expected=item.content.get("expected"),
                metadata=item.content.get("metadata") or {},
            )
            if item is not None
            else None,
            claimed_until=claim.until,
            criteria=[CriterionOut(**c.model_dump()) for c in claim.queue.criteria],
            instructions=claim.queue.instructions,
            labels=claim.label.values if claim.label else None,
        )


class LabelsIn(SnakeRequest):
    values: dict[CriterionName, Any] = Field(
        max_length=20, description='answers by criterion: "pass"/"fail" (or true/false), a number, a label, a text'
    )


class LabelOut(SnakeModel):
    item_id: str
    reviewer: str
    values: dict[str, Any]
    submitted_at: datetime
    updated_at: datetime
    revision: int
    revised: bool = Field(description="true when this request changed an earlier answer")
    item_complete: bool

    @classmethod
    def of(cls, label: Label, *, revised: bool, item_complete: bool) -> LabelOut:
        return cls(**label.model_dump(), revised=revised, item_complete=item_complete)


class AgreementOut(SnakeModel):
    queue_id: str
    run_id: int | None = Field(description="the judge re-run compared (rerun_vs_humans), if asked for")
    items: int
    labelled_items: int
    confidence: float
    min_items: int
    criteria: list[dict[str, Any]] = Field(
        description="per criterion: judge_vs_humans (kappa with interval, raw agreement and base rate, confusion "
        "matrix, precision/recall of fail; or Spearman rho and mean absolute difference for scores), "
        "rerun_vs_humans with run_id, and reviewers (Krippendorff's alpha); status inconclusive when too few items"
    )


class GoldenSetIn(SnakeRequest):
    prompt_id: int = Field(ge=1, le=2**53, description="the prompt the dataset belongs to")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    description: str = Field(default="", max_length=2000)
    criterion: CriterionName | None = Field(
        default=None, description="whose human verdict is the expected output (default: the first judged pass/fail)"
    )
    complete_only: bool = Field(default=False, description="only items with all their labels")


class GoldenSetOut(SnakeModel):
    dataset_id: int
    prompt_id: int
    name: str
    case_count: int
    expected_criterion: str
