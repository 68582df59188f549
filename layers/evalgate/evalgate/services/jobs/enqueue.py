"""The API side of auto-eval jobs: start one (from the API or a monitor), fail stale ones, read one."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from evalgate.errors import InvalidInput, NotFound, Throttled, Unavailable
from evalgate.models.domain import Principal
from evalgate.models.jobs import AutoEvalJob
from evalgate.models.prompt_ref import prompt_ref
from evalgate.observability import logger
from evalgate.services.container import container, utcnow
from evalgate.services.jobs.common import (
    JOB_ID,
    MAX_SAMPLE_COUNT,
    RETRY_AFTER_SECONDS,
    as_dict,
    auto_eval_settings,
    job_config,
    job_store,
    jobs_queue,
    validate_target,
)

if TYPE_CHECKING:
    pass


# -- API side ---------------------------------------------------------------------------------------
def start(principal: Principal, target: Any, sample_count: int) -> str:
    """POST /api/v1/auto-eval: validate the target, then queue the job. Returns the job id."""
    checked = validate_target(principal, target)
    return enqueue_job(principal.project_id, target=checked, sample_count=sample_count, requested_by=principal.key_id)


STALE_AFTER = timedelta(hours=2)  # a job open this long was lost (a crash on its last delivery): fail it


def reap_stale_jobs(project_id: str, now: datetime) -> int:
    """Fail the project's jobs that have been queued or running for longer than STALE_AFTER (their slot would
    otherwise stay taken forever: a function that crashes or times out on a message's last delivery cannot
    mark its job failed). Returns how many slots came back."""
    store = container().jobs
    freed = 0
    for job in store.open_jobs(project_id):
        since = job.started_at or job.created_at
        if now - since > STALE_AFTER and store.fail(
            project_id, job.id, f"failed: the job made no progress for {STALE_AFTER} and was given up", now
        ):
            logger.warning("stale auto-eval job failed", job_id=job.id, since=since.isoformat())
            freed += 1
    return freed


def enqueue_job(
    project_id: str, *, target: dict, sample_count: int, monitor: Any | None = None, requested_by: str
) -> str:
    """Queue a job (the API, and the monitors' scheduler). Raises Throttled (429) when the project already
    has AUTOEVAL_MAX_ACTIVE_JOBS jobs queued or running; Unavailable (503) when the queue is unreachable."""
    if not 1 <= sample_count <= MAX_SAMPLE_COUNT:
        raise InvalidInput(f"sample_count must be between 1 and {MAX_SAMPLE_COUNT}", field="sample_count")
    settings = auto_eval_settings()
    raw = as_dict(target) if target else as_dict(getattr(monitor, "target", None))
    normalized = {
        "model": str(raw["model"]) if raw.get("model") else None,  # None: every model's traffic
        "prompt_id": prompt_ref(raw.get("prompt_id")),
        "project_id": project_id,
        "environment": raw.get("environment") or "production",
    }
    store = job_store()
    now = utcnow()
    job = AutoEvalJob(
        id=str(uuid.uuid4()),
        project_id=project_id,
        status="queued",
        target=normalized,
        sample_count=sample_count,
        config=job_config(monitor, settings),
        created_at=now,
        requested_by=requested_by,
        monitor_id=str(monitor.id) if monitor is not None else None,
    )
    try:
        store.reserve_slot(project_id, settings.max_active_jobs, retry_after=RETRY_AFTER_SECONDS)
    except Throttled:
        if not reap_stale_jobs(project_id, now):
            raise
        store.reserve_slot(project_id, settings.max_active_jobs, retry_after=RETRY_AFTER_SECONDS)
    try:
        store.create_job(job)
    except BaseException:
        store.free_slot(project_id)
        raise
    try:
        jobs_queue().send({"project_id": project_id, "job_id": job.id})
    except Exception as exc:  # the job must not stay queued forever: record why, give the slot back
        store.fail(project_id, job.id, "failed: the job could not be queued", utcnow())
        logger.exception("auto-eval job not queued", job_id=job.id)
        raise Unavailable("the auto-eval job could not be queued; retry shortly") from exc
    logger.info("auto-eval job queued", job_id=job.id, monitor_id=job.monitor_id, sample_count=sample_count)
    return job.id


def list_jobs(
    principal: Principal, *, limit: int, cursor: str | None, status: str | None = None
) -> tuple[list[AutoEvalJob], str | None]:
    """The caller's project's jobs, newest first, with their progress (no reports: open a job for its report)."""
    return job_store().list_jobs(
        principal.project_id, limit=limit, cursor=cursor, filters={"status": status} if status else None
    )


def get_job(principal: Principal, job_id: str) -> tuple[AutoEvalJob, dict[str, Any] | None]:
    """A job of the caller's project and its report (once completed); another project's job is 404."""
    if not JOB_ID.match(job_id):
        raise NotFound(f"auto-eval job {job_id} not found")
    store = job_store()
    job = store.get_job(principal.project_id, job_id)
    if job.status != "completed":
        return job, None
    # lazy: the annotation code loads only for a completed report (cold start)
    from evalgate.services.annotation_agreement import annotate_report

    return job, annotate_report(principal, store.report(job))
