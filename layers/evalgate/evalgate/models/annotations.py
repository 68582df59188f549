"""Annotation queues (human review, issue 15): a queue's criteria, its items and reviewers' labels."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

CriterionType = Literal["pass_fail", "score", "label", "comment"]
SourceKind = Literal["run", "trace", "auto_eval", "manual"]


class Criterion(BaseModel):
    """What reviewers answer for an item. `judge` names the verdict in the item's source that the humans are
    compared with (an assertion's type or metric name in a run, an evaluator or scorer name, an auto-eval
    criterion); without it the criterion is labelled but has no judge agreement."""

    name: str
    type: CriterionType
    description: str = ""
    required: bool = True
    scale_min: float | None = None  # score: the scale's ends (the judge's 0-1 score is compared on 0-1)
    scale_max: float | None = None
    labels: list[str] | None = None  # label: the allowed labels
    judge: str | None = None
    pass_threshold: float = 0.5  # pass_fail: a judge that gives only a score passes at this score or above


class AnnotationQueue(BaseModel):
    id: str
    project_id: str
    name: str
    description: str = ""
    criteria: list[Criterion]
    reviewers_per_item: int = 1
    claim_seconds: int = 600
    instructions: str = ""
    created_at: datetime
    created_by: str


class Slot(BaseModel):
    """One of an item's N reviewer places: claimed by a key until a time, or done (labels submitted)."""

    by: str
    until: float  # epoch seconds
    done: bool = False


class AnnotationItem(BaseModel):
    id: str
    queue_id: str
    source: dict[str, Any]  # kind + the reference (run id and result id, trace id, job id...)
    content: dict[str, Any]  # input, output, context, expected, metadata: a copy taken when added
    judge: dict[str, dict[str, Any]] = Field(default_factory=dict)  # verdict name -> {passed, score, label}
    slots: list[Slot | None] = Field(default_factory=list)
    skipped_by: list[str] = Field(default_factory=list)
    position: str = ""
    added_at: datetime
    complete: bool = False

    def done_by(self) -> list[str]:
        return [s.by for s in self.slots if s is not None and s.done]

    def active_claims(self, now: float) -> list[str]:
        return [s.by for s in self.slots if s is not None and not s.done and s.until > now]


class Label(BaseModel):
    """One reviewer's answers for one item (a revision replaces the values and counts up `revision`)."""

    item_id: str
    reviewer: str
    values: dict[str, Any]  # criterion name -> "pass"/"fail", a number, a label, a comment
    submitted_at: datetime
    updated_at: datetime
    revision: int = 1
