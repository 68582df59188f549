"""Humanloop-style evaluations: the domain model (the API shape is api/schemas/humanloop.py; the items
store/evaluations.py). The runs of an evaluation are Run items (models/domain.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class Evaluator(BaseModel):
    """An evaluator of an evaluation. `assertion` (an evalgate assertion config) makes it one evalgate runs
    itself; without one its judgments arrive with the logs (an external evaluator)."""

    version_id: str
    file_id: str
    path: str
    name: str
    orchestrated: bool
    assertion: dict[str, Any] | None = None
    added_at: datetime
    # Humanloop's evaluator_type of an evaluator file upserted through /v5/evaluators ("human" judgments are
    # never waited for); None for evaluators named only by path
    evaluator_type: str | None = None


class Evaluation(BaseModel):
    id: str
    project_id: str
    name: str | None = None
    prompt_id: int
    evaluators: list[Evaluator] = Field(default_factory=list)
    runs_count: int = 0
    control_run_id: int | None = None
    created_by: str | None = None
    created_at: datetime
    updated_at: datetime
    rev: int = 0  # bumped by every change of the evaluators (optimistic lock)


class EvaluationRun(BaseModel):
    """A run's membership of an evaluation."""

    evaluation_id: str
    run_id: int
    orchestrated: bool
    dataset_id: int | None = None
    created_by: str | None = None
    added_at: datetime
