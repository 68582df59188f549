"""Auto-eval jobs and their samples: the domain model (the API shape is api/schemas/autoeval.py; the items
store/autoeval.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

OPEN = ("queued", "running")


@dataclass
class JobProgress:
    sampled: int = 0
    scored: int = 0
    skipped: int = 0
    failed: int = 0
    total: int | None = None

    @property
    def done(self) -> int:
        return self.scored + self.skipped + self.failed


@dataclass
class AutoEvalJob:
    id: str
    project_id: str
    status: str
    target: dict[str, Any]
    sample_count: int
    config: dict[str, Any]
    created_at: datetime
    requested_by: str
    monitor_id: str | None = None
    progress: JobProgress = field(default_factory=JobProgress)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    spend_capped: bool = False
    note: str | None = None
    judge_cost_usd: float = 0.0
    judge_calls: int = 0
    sampled_at: datetime | None = None
    fanout_done: bool = False
    analyze_queued: bool = False
    alert_pending: bool = False
    baseline_job_id: str | None = None
    # large documents: inline text, else a key in the artifacts bucket
    sample_ids_json: str | None = None
    sample_ids_key: str | None = None
    report_json: str | None = None
    report_key: str | None = None
    summary_json: str | None = None
    summary_key: str | None = None

    @property
    def open(self) -> bool:
        return self.status in OPEN


@dataclass
class SampleRecord:
    """The stored result of one sampled trace: scored (scores by metric), failed (error) or skipped."""

    trace_id: str
    status: str  # scored | failed | skipped
    scores: dict[str, float] = field(default_factory=dict)
    passed: dict[str, bool] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    hallucination_reason: str | None = None
    judge_cost_usd: float = 0.0
    judge_calls: int = 0
    error: str | None = None
