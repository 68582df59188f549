"""EvalGuard auto-eval jobs on the wire: snake_case, as in the EvalGuard seed (evalguard-auto-eval.txt)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field

from evalgate.api.schemas.base import ShortRepr
from evalgate.models.jobs import AutoEvalJob
from evalgate.models.prompt_ref import prompt_ref


class _Snake(ShortRepr):
    model_config = ConfigDict(defer_build=True, protected_namespaces=())


class AutoEvalCreate(_Snake):
    """The target is checked by the service (400 naming target.<field>), not by the schema: EvalGuard
    documents it as a free-form object `{ model, prompt_id, project_id }`."""

    model_config = ConfigDict(defer_build=True, extra="forbid", protected_namespaces=())

    target: dict[str, Any] = Field(
        description="{ model, prompt_id, project_id } (+ optional environment, default production): the deployed "
        "model and prompt whose recent production traces to judge, each optional ({} judges all of the project's "
        "production traffic); project_id, when given, must be the key's project"
    )
    sample_count: int = Field(default=100, ge=1, le=5000, description="how many recent traces to sample and judge")


class AutoEvalQueued(_Snake):
    job_id: str


class AutoEvalTargetOut(_Snake):
    model: str | None = Field(description="null: every model's traffic of the project (the target was {})")
    prompt_id: str | None
    project_id: str
    environment: str


class AutoEvalProgress(_Snake):
    sampled: int
    scored: int
    skipped: int
    failed: int
    total: int | None


class AutoEvalJobOut(_Snake):
    job_id: str
    status: Literal["queued", "running", "completed", "failed"]
    target: AutoEvalTargetOut
    sample_count: int
    progress: AutoEvalProgress
    report: dict[str, Any] | None = Field(
        description="when completed: has_drift, overall_delta, metric_deltas, regressions, hallucinations, alerts, "
        "verdict (drift | no_drift | inconclusive), baseline_n, current_n, reason"
    )
    spend_capped: bool
    note: str | None = Field(
        description="why judging stopped early, why the report is inconclusive, or why the job failed"
    )
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    monitor_id: str | None
    baseline_job_id: str | None = Field(default=None, description="the completed job the report compares with")
    judge_calls: int
    judge_cost_usd: float

    @classmethod
    def of(cls, job: AutoEvalJob, report: dict[str, Any] | None) -> AutoEvalJobOut:
        p = job.progress
        return cls(
            job_id=job.id,
            status=job.status,  # type: ignore[arg-type]
            target=AutoEvalTargetOut(
                model=str(job.target["model"]) if job.target.get("model") else None,
                prompt_id=prompt_ref(job.target.get("prompt_id")),
                project_id=str(job.target.get("project_id") or job.project_id),
                environment=str(job.target.get("environment") or "production"),
            ),
            sample_count=job.sample_count,
            progress=AutoEvalProgress(
                sampled=p.sampled, scored=p.scored, skipped=p.skipped, failed=p.failed, total=p.total
            ),
            report=report,
            spend_capped=job.spend_capped,
            note=job.note,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            monitor_id=job.monitor_id,
            baseline_job_id=job.baseline_job_id,
            judge_calls=job.judge_calls,
            judge_cost_usd=round(job.judge_cost_usd, 9),
        )


class AutoEvalJobPage(_Snake):
    """A page of a project's jobs, newest first; each without its report (`report` is null: open the job)."""

    items: list[AutoEvalJobOut]
    next_cursor: str | None = Field(default=None, serialization_alias="nextCursor")
