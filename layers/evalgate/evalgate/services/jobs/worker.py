"""The worker step: a queued job samples its target's recent production traces and fans out scoring messages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from evalgate.models.jobs import AutoEvalJob
from evalgate.models.prompt_ref import prompt_ref
from evalgate.observability import logger
from evalgate.services.container import container, utcnow
from evalgate.services.jobs.common import (
    MAX_WINDOW,
    MAX_WINDOW_PAGES,
    TRACES_PER_MESSAGE,
    WINDOW_FACTOR,
    analyze_queue,
    job_store,
    judged_scope,
    scoring_queue,
)

if TYPE_CHECKING:
    pass


# -- worker ------------------------------------------------------------------------------------------
def run_job(project_id: str, job_id: str) -> None:
    """queued → running, sample once, fan out. A redelivery resumes where the first delivery stopped
    (the sampled ids are stored before any scoring message is sent) and re-sends at most duplicates,
    which the scorer ignores; a job that ended is left alone."""
    store = job_store()
    job = store.get_job(project_id, job_id)
    if job.status == "queued":
        store.mark_running(project_id, job_id, utcnow())
        job = store.get_job(project_id, job_id)
    if job.status != "running":
        logger.info("auto-eval job message ignored", status=job.status)
        return
    if job.sampled_at is None:
        chosen = sample_traces(job)
        store.record_sample_ids(job, chosen, utcnow())  # False: another delivery recorded its (equal) sample
        job = store.get_job(project_id, job_id)
    trace_ids = store.sample_ids(job)
    if not job.fanout_done:
        bodies = [
            {"project_id": project_id, "job_id": job_id, "trace_ids": trace_ids[i : i + TRACES_PER_MESSAGE]}
            for i in range(0, len(trace_ids), TRACES_PER_MESSAGE)
        ]
        calls = scoring_queue().send_all(bodies) if bodies else 0
        store.set_fanout_done(project_id, job_id)
        logger.info("auto-eval fan-out", samples=len(trace_ids), messages=len(bodies), send_calls=calls)
    maybe_queue_analysis(project_id, job_id)


def sample_traces(job: AutoEvalJob) -> list[str]:
    """The job's sample: `sample_count` ids chosen by salted hash rank (evalgate.autoeval.sampling) among
    the most recent production traces of the target that its scope has not judged before: a window of
    5 x sample_count (at most 20,000) unjudged traces, newest first from the traces index (ids only). When
    judged-before traces thin the window out, up to 4 windows' worth of older traces are read once more."""
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.autoeval.sampling import choose

    c = container()
    store = job_store()
    scope = judged_scope(job)
    n = job.sample_count
    window = max(n, min(WINDOW_FACTOR * n, MAX_WINDOW))
    query: dict[str, Any] = {
        "model": job.target.get("model") or None,
        "prompt_id": prompt_ref(job.target.get("prompt_id")),
        "environment": job.target.get("environment") or "production",
    }
    ids = c.traces.recent_ids(job.project_id, limit=window, **query)
    judged = store.judged_among(job.project_id, scope, ids)
    if len(ids) == window and len(ids) - len(judged) < window:
        ids = c.traces.recent_ids(job.project_id, limit=window * MAX_WINDOW_PAGES, **query)
        judged = store.judged_among(job.project_id, scope, ids)
    candidates = [i for i in ids if i not in judged][:window]
    return choose(candidates, n, scope, exclude=judged)


def maybe_queue_analysis(project_id: str, job_id: str) -> bool:
    """When every sample is counted, the one caller that wins the conditional SET sends the analyze
    message (exactly once). Safe to call any number of times."""
    store = job_store()
    job = store.get_job(project_id, job_id)
    total = job.progress.total
    if job.status != "running" or total is None or job.analyze_queued or job.progress.done < total:
        return False
    if not store.claim_analysis(project_id, job_id):
        return False
    try:
        analyze_queue().send({"project_id": project_id, "job_id": job_id})
    except BaseException:
        store.unclaim_analysis(project_id, job_id)
        raise
    logger.info("auto-eval analysis queued", samples=total)
    return True
