"""The analyzer step: summary, report against the baseline, completion, alerts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from evalgate.models.jobs import AutoEvalJob
from evalgate.observability import logger
from evalgate.services.container import utcnow
from evalgate.services.jobs.common import NO_TRAFFIC_NOTE, NOTHING_JUDGED_NOTE, job_store, target_key

if TYPE_CHECKING:
    pass


# -- analyzer ----------------------------------------------------------------------------------------
def analyze_job(project_id: str, job_id: str) -> None:
    """Summarise the samples, compare with the baseline, store the report, complete the job and give the
    project's slot back (one transaction), then point the target at this job and send the alerts."""
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.autoeval.report import SampleResult, build_report, summarize

    store = job_store()
    job = store.get_job(project_id, job_id)
    if job.status == "completed":
        _after_completion(job)  # a redelivery after a crash: finish what the first delivery left
        return
    if job.status != "running":
        logger.info("auto-eval analyze message ignored", status=job.status)
        return
    records = store.samples(project_id, job_id)
    results = [
        SampleResult(trace_id=r.trace_id, scores=r.scores, passed=r.passed, hallucination_reason=r.hallucination_reason)
        for r in records
        if r.status == "scored"
    ]
    current = summarize(results)
    baseline_job = _baseline_job(job)
    baseline = store.summary(baseline_job) if baseline_job else None
    thresholds = job.config.get("thresholds") or None
    report = build_report(current, baseline, results, thresholds=thresholds)
    note = None
    if (job.progress.total or 0) == 0:
        note = NO_TRAFFIC_NOTE
    elif not results:
        note = NOTHING_JUDGED_NOTE
    done = store.complete(
        job,
        report=report,
        summary=current,
        baseline_job_id=baseline_job.id if baseline_job else None,
        note=note,
        alert_pending=bool(report.get("alerts")),
        now=utcnow(),
    )
    logger.info("auto-eval job analysed", completed=done, verdict=report.get("verdict"), samples=len(results))
    if done:
        _after_completion(store.get_job(project_id, job_id))


def _baseline_job(job: AutoEvalJob) -> AutoEvalJob | None:
    """The monitor's pinned baseline job, else the target's last completed job created before this one."""
    store = job_store()
    pinned = job.config.get("baseline_job_id")
    if pinned:
        found = store.find_job(job.project_id, str(pinned))
        return found if found is not None and found.status == "completed" else None
    last = store.last_job_id(job.project_id, target_key(job.target))
    if last is None or last[0] == job.id or last[1] >= job.created_at:
        return None
    found = store.find_job(job.project_id, last[0])
    return found if found is not None and found.status == "completed" else None


def _after_completion(job: AutoEvalJob) -> None:
    store = job_store()
    store.set_last_job(job, target_key(job.target))
    if not job.alert_pending:
        return
    report = store.report(job) or {}
    # lazy: a sibling service, loaded on the path that calls it (cold start)
    from evalgate.services import alerts

    config = job.config
    payload = {
        "job_id": job.id,
        "monitor_id": job.monitor_id,
        "target": job.target,
        "verdict": report.get("verdict"),
        "has_drift": report.get("has_drift"),
        "overall_delta": report.get("overall_delta"),
        "alerts": report.get("alerts"),
        "regressions": report.get("regressions"),
        "metric_deltas": report.get("metric_deltas"),
        "hallucinations": len(report.get("hallucinations") or []),
    }
    subject = f"evalgate auto-eval: {len(report.get('alerts') or [])} alert(s) for {job.target.get('model')}"
    alerts.send(
        job.project_id,
        subject=subject[:100],
        payload=payload,
        webhook_url=config.get("webhook_url"),
        webhook_secret_ref=config.get("webhook_secret_ref"),
    )
    store.clear_alert_pending(job.project_id, job.id)
