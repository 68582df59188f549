"""Auto-eval jobs (DESIGN §4): enqueue (API and monitors), read, and the three SQS-driven steps.

    POST /api/v1/auto-eval ─► job (queued) ─► jobs queue ─► worker: queued → running, sample the target's
    recent production traces, fan out scoring messages (≤ 20 traces each, SendMessageBatch of ≤ 10)
    ─► scoring queue ─► scorer: one judge call per trace, a result item per sample, counters by ADD;
    the sample that completes the count claims the analysis (conditional SET analyzeQueued) ─► analyze
    queue ─► analyzer: summary, baseline, report, completed, slot released, alerts.

Every step is idempotent under SQS redelivery. A step that fails on its last delivery (the queue's
maxReceiveCount, env AUTOEVAL_MAX_RECEIVES) marks the job failed with the reason, so no job stays
running and no project slot leaks; a scorer's last delivery records the samples it still cannot judge as
failed samples instead, so the job completes with what could be judged.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evalgate.errors import InvalidInput, NotFound, Throttled, Unavailable
from evalgate.models.autoeval import AutoEvalJob, SampleRecord
from evalgate.models.domain import Principal
from evalgate.observability import logger
from evalgate.services.container import container, utcnow
from evalgate.settings import AutoEvalSettings
from evalgate.store.autoeval import AutoEvalStore

if TYPE_CHECKING:
    from evalgate.adapters.queue import Queue
    from evalgate.autoeval.judge import JudgeInput

DEFAULT_SAMPLE_COUNT = 100
MAX_SAMPLE_COUNT = 5000
TRACES_PER_MESSAGE = 20
WINDOW_FACTOR = 5  # the candidate window: this many times sample_count most recent traces …
MAX_WINDOW = 20_000  # … at most
MAX_WINDOW_PAGES = 4  # pages of older traces read when judged-before traces thin the window out
RETRY_AFTER_SECONDS = 30
REASON_MAX = 500
_ENVIRONMENT = re.compile(r"^[A-Za-z0-9_.-]{1,50}$")
_JOB_ID = re.compile(r"^[0-9a-f-]{36}$")
NO_TRAFFIC_NOTE = (
    "no production traces were found for this target, so nothing was judged and the report is inconclusive"
)
NOTHING_JUDGED_NOTE = "no sample could be judged, so the report is inconclusive"


def jobs_queue() -> Queue:
    return container().queue("jobs")


def scoring_queue() -> Queue:
    return container().queue("scoring")


def analyze_queue() -> Queue:
    return container().queue("analyze")


def _settings() -> AutoEvalSettings:
    return container().settings.autoeval


def _store() -> AutoEvalStore:
    return container().autoeval


# -- messages ---------------------------------------------------------------------------------------
class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    project_id: str = Field(min_length=1, max_length=100)
    job_id: str = Field(pattern=_JOB_ID.pattern)


class JobMessage(_Message):
    pass


class ScoringMessage(_Message):
    trace_ids: list[str] = Field(min_length=1, max_length=100)


class AnalyzeMessage(_Message):
    pass


class PoisonMessage(ValueError):
    """A message no delivery can process (not JSON, wrong shape): it goes to the DLQ."""


def _parse(kind: type[_Message], body: str) -> Any:
    try:
        return kind.model_validate_json(body)
    except ValidationError as exc:
        reason = f"not a {kind.__name__}: {exc.errors()[0].get('msg', 'invalid')}"
        logger.warning("malformed auto-eval message: it fails on every receive, then goes to the DLQ", reason=reason)
        raise PoisonMessage(reason) from exc


# -- targets and job configuration ------------------------------------------------------------------
def _as_dict(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return dict(value)


def target_key(target: Mapping[str, Any]) -> str:
    """A stable key of what a target observes: its model, prompt and environment."""
    doc = {
        "model": target.get("model"),
        "prompt_id": target.get("prompt_id"),
        "environment": target.get("environment") or "production",
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:24]


def judged_scope(job: AutoEvalJob) -> str:
    """Whose "judged before" set a job uses: its monitor's, else (ad-hoc) its target's."""
    return f"MONITOR#{job.monitor_id}" if job.monitor_id else f"TARGET#{target_key(job.target)}"


def validate_target(principal: Principal, raw: Any) -> dict[str, Any]:
    """The target of POST /api/v1/auto-eval, checked against the caller's project (400 with the field)."""
    if not isinstance(raw, dict):
        raise InvalidInput("target must be an object {model, prompt_id, project_id}", field="target")
    unknown = sorted(set(raw) - {"model", "prompt_id", "project_id", "environment"})
    if unknown:
        raise InvalidInput(
            f"target has an unknown field {unknown[0]!r}; it takes model, prompt_id, project_id, environment",
            field=f"target.{unknown[0]}",
        )
    model = raw.get("model")
    if not isinstance(model, str) or not model.strip():
        raise InvalidInput(
            "target.model is required: the deployed model whose traffic to evaluate", field="target.model"
        )
    if len(model) > 200:
        raise InvalidInput("target.model is longer than 200 characters", field="target.model")
    project_id = raw.get("project_id")
    if project_id is not None and project_id != principal.project_id:
        raise InvalidInput(
            "target.project_id must be the project of the API key (or be left out)", field="target.project_id"
        )
    prompt_id = _prompt_id(raw.get("prompt_id"))
    if prompt_id is not None:
        try:
            container().prompts.get_prompt(principal.project_id, prompt_id)
        except NotFound as exc:
            raise InvalidInput(f"prompt {prompt_id} not found in this project", field="target.prompt_id") from exc
    environment = raw.get("environment", "production")
    if not isinstance(environment, str) or not _ENVIRONMENT.match(environment):
        raise InvalidInput(
            "target.environment must be a short name such as production or staging", field="target.environment"
        )
    return {
        "model": model.strip(),
        "prompt_id": prompt_id,
        "project_id": principal.project_id,
        "environment": environment,
    }


def _prompt_id(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.isdigit() and len(value) <= 16:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2**53:
        raise InvalidInput("target.prompt_id must be a prompt id (a positive integer)", field="target.prompt_id")
    return value


def _config(monitor: Any | None, settings: AutoEvalSettings) -> dict[str, Any]:
    """What a job judges with: its monitor's settings, else the defaults (all criteria, env judge)."""
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.autoeval.judge import CRITERIA

    if monitor is None:
        return {
            "criteria": list(CRITERIA),
            "scorers": [],
            "judge": {
                "provider": settings.judge_provider,
                "model": settings.judge_model,
                "params": settings.judge_params,
            },
            "rubric": None,
            "thresholds": {},
            "spend_cap_usd": None,
            "webhook_url": None,
            "webhook_secret_ref": None,
            "baseline_job_id": None,
        }
    judge = _as_dict(getattr(monitor, "judge", None))
    cap = getattr(monitor, "daily_spend_cap_usd", None)
    return {
        "criteria": list(getattr(monitor, "criteria", None) or CRITERIA),
        "scorers": [_as_dict(s) for s in getattr(monitor, "scorers", None) or []],
        "judge": {
            "provider": judge.get("provider") or settings.judge_provider,
            "model": judge.get("model") or settings.judge_model,
            "params": dict(judge.get("params") or {}),
        },
        "rubric": getattr(monitor, "rubric", None),
        "thresholds": {str(k): float(v) for k, v in (getattr(monitor, "thresholds", None) or {}).items()},
        "spend_cap_usd": float(cap) if cap is not None else None,
        "webhook_url": getattr(monitor, "webhook_url", None),
        "webhook_secret_ref": getattr(monitor, "webhook_secret_ref", None),
        "baseline_job_id": getattr(monitor, "baseline_job_id", None),
    }


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
    store = container().autoeval
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
    settings = _settings()
    raw = _as_dict(target) if target else _as_dict(getattr(monitor, "target", None))
    normalized = {
        "model": str(raw.get("model") or ""),
        "prompt_id": raw.get("prompt_id"),
        "project_id": project_id,
        "environment": raw.get("environment") or "production",
    }
    if not normalized["model"]:
        raise InvalidInput("target.model is required", field="target.model")
    store = _store()
    now = utcnow()
    job = AutoEvalJob(
        id=str(uuid.uuid4()),
        project_id=project_id,
        status="queued",
        target=normalized,
        sample_count=sample_count,
        config=_config(monitor, settings),
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


def get_job(principal: Principal, job_id: str) -> tuple[AutoEvalJob, dict[str, Any] | None]:
    """A job of the caller's project and its report (once completed); another project's job is 404."""
    if not _JOB_ID.match(job_id):
        raise NotFound(f"auto-eval job {job_id} not found")
    store = _store()
    job = store.get_job(principal.project_id, job_id)
    return job, store.report(job) if job.status == "completed" else None


# -- SQS steps: the handlers' entry points ----------------------------------------------------------
def handle_job_message(body: str, *, attempt: int) -> None:
    message: JobMessage = _parse(JobMessage, body)
    _step("sample", message, attempt, lambda: run_job(message.project_id, message.job_id))


def handle_scoring_message(body: str, *, attempt: int) -> None:
    message: ScoringMessage = _parse(ScoringMessage, body)
    final = attempt >= _settings().max_receives
    _step(
        "score",
        message,
        attempt,
        lambda: score_traces(message.project_id, message.job_id, message.trace_ids, attempt=attempt, final=final),
    )


def handle_analyze_message(body: str, *, attempt: int) -> None:
    message: AnalyzeMessage = _parse(AnalyzeMessage, body)
    _step("analyze", message, attempt, lambda: analyze_job(message.project_id, message.job_id))


def _step(name: str, message: _Message, attempt: int, call: Any) -> None:
    logger.append_keys(job_id=message.job_id, project_id=message.project_id)
    try:
        call()
    except Exception as exc:
        max_receives = _settings().max_receives
        logger.exception(f"auto-eval {name} failed", attempt=attempt, max_receives=max_receives)
        if attempt >= max_receives and not isinstance(exc, NotFound):
            reason = f"failed: the {name} step failed {attempt} times ({type(exc).__name__}: {str(exc)[:300]})"
            if _store().fail(message.project_id, message.job_id, reason, utcnow()):
                logger.warning("auto-eval job failed", step=name)
        raise
    finally:
        logger.remove_keys(["job_id", "project_id"])


def fail_job(project_id: str, job_id: str, reason: str) -> bool:
    return _store().fail(project_id, job_id, reason, utcnow())


# -- worker ------------------------------------------------------------------------------------------
def run_job(project_id: str, job_id: str) -> None:
    """queued → running, sample once, fan out. A redelivery resumes where the first delivery stopped
    (the sampled ids are stored before any scoring message is sent) and re-sends at most duplicates,
    which the scorer ignores; a job that ended is left alone."""
    store = _store()
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
    store = _store()
    scope = judged_scope(job)
    n = job.sample_count
    window = max(n, min(WINDOW_FACTOR * n, MAX_WINDOW))
    query = {
        "model": job.target["model"],
        "prompt_id": job.target.get("prompt_id"),
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
    store = _store()
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


# -- scorer ------------------------------------------------------------------------------------------
class ScoringFailed(RuntimeError):
    """Some traces of a message could not be judged on this delivery; the message is retried."""


def score_traces(project_id: str, job_id: str, trace_ids: Sequence[str], *, attempt: int, final: bool) -> None:
    """Judge the traces of one scoring message that have no result yet. A trace whose judging fails is
    retried with the message (bypassing the response cache); on the final delivery it is recorded failed."""
    store = _store()
    job = store.get_job(project_id, job_id)
    if job.status != "running":
        logger.info("auto-eval scoring message ignored", status=job.status)
        return
    ids = list(dict.fromkeys(trace_ids))
    pending = [t for t in ids if t not in store.existing_samples(project_id, job_id, ids)]
    errors: list[str] = []
    if pending:
        traces = container().traces.get_many(project_id, pending)
        settings = _settings()
        workers = min(settings.judge_concurrency, len(pending))

        def one(trace_id: str) -> str | None:
            return _score_one(job, trace_id, traces.get(trace_id), use_cache=attempt <= 1, final=final)

        if workers <= 1:
            outcomes = [one(t) for t in pending]
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="judge") as pool:
                outcomes = list(pool.map(one, pending))
        errors = [e for e in outcomes if e]
    maybe_queue_analysis(project_id, job_id)
    if errors:
        raise ScoringFailed(f"{len(errors)} of {len(ids)} traces could not be judged yet: {errors[0]}")


def _score_one(job: AutoEvalJob, trace_id: str, trace: Any | None, *, use_cache: bool, final: bool) -> str | None:
    """Judge and record one trace. Returns an error to retry with the message, or None when recorded."""
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.autoeval.judge import JudgeParseError
    from evalgate.providers.base import ProviderError

    store = _store()
    now = utcnow()
    scope = judged_scope(job)
    if trace is None:
        store.record_sample(
            job,
            SampleRecord(trace_id=trace_id, status="skipped", error="the trace no longer exists"),
            judged_scope=None,
            now=now,
        )
        return None
    config = job.config
    cap = config.get("spend_cap_usd")
    day = now.date().isoformat()
    if job.monitor_id and cap is not None and store.spend_today(job.project_id, job.monitor_id, day) >= cap:
        note = f"judging stopped: the daily judge-spend cap of ${_money(cap)} was reached"
        store.set_spend_capped(job.project_id, job.id, note)
        store.record_sample(
            job, SampleRecord(trace_id=trace_id, status="skipped", error=note), judged_scope=None, now=now
        )
        return None
    try:
        sample, cost = _judge(job, trace, use_cache=use_cache)
    except (JudgeParseError, ProviderError) as exc:
        error = f"{type(exc).__name__}: {str(exc)[:REASON_MAX]}"
        if not final:
            logger.warning("judge failed; the message will be retried", trace_id=trace_id, error=error)
            return error
        store.record_sample(
            job,
            SampleRecord(trace_id=trace_id, status="failed", error=error, judge_calls=1),
            judged_scope=None,
            now=now,
        )
        return None
    if job.monitor_id and cost > 0:
        store.add_spend(job.project_id, job.monitor_id, day, cost)
    store.record_sample(job, sample, judged_scope=scope, now=now)
    return None


def _judge(job: AutoEvalJob, trace: Any, *, use_cache: bool) -> tuple[SampleRecord, float]:
    """ONE judge call for all criteria (through the gateway: cache, retries, limits, cost), plus the
    deterministic scorers. Returns the scored sample and the call's cost (a cached reply costs $0)."""
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.autoeval.judge import deterministic_scores, judge_request, parse_judgment

    config = job.config
    judge = config.get("judge") or {}
    criteria = list(config.get("criteria") or [])
    threshold = float(config.get("threshold", 0.5))
    sample = judge_input(trace)
    results: dict[str, Any] = {}
    cost = 0.0
    calls = 0
    if criteria:
        request = judge_request(
            sample,
            criteria,
            provider=str(judge.get("provider")),
            model=str(judge.get("model")),
            rubric=config.get("rubric"),
            threshold=threshold,
        )
        extra = judge.get("params") or {}
        if extra:
            request = replace(request, params={**request.params, **extra})
        completion = container().gateway.complete(request, project_id=job.project_id, use_cache=use_cache)
        calls = 1
        cost = 0.0 if completion.cached else _cost(completion, request)
        results.update(parse_judgment(completion.text, criteria, threshold))
    scorers = config.get("scorers") or []
    if scorers:
        results.update(
            deterministic_scores(sample, scorers, getattr(trace, "latency_ms", None), getattr(trace, "cost_usd", None))
        )
    hallucination = results.get("hallucination")
    record = SampleRecord(
        trace_id=trace.id,
        status="scored",
        scores={k: float(r.score) for k, r in results.items()},
        passed={k: bool(r.passed) for k, r in results.items()},
        reasons={k: str(r.reason)[:REASON_MAX] for k, r in results.items() if r.reason},
        hallucination_reason=(
            str(hallucination.reason)[:REASON_MAX] if hallucination is not None and not hallucination.passed else None
        ),
        judge_cost_usd=cost,
        judge_calls=calls,
    )
    return record, cost


def _cost(completion: Any, request: Any) -> float:
    """The judge call's cost; a provider that reports $0 (the offline ones) is priced from the judge's
    `input_cost_per_mtok` / `output_cost_per_mtok` params when they are given."""
    if completion.cost_usd:
        return float(completion.cost_usd)
    params = request.params
    if params.get("input_cost_per_mtok") is None and params.get("output_cost_per_mtok") is None:
        return 0.0
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.providers.pricing import cost_of

    return float(cost_of(request.model, completion.input_tokens, completion.output_tokens, params).usd)


def judge_input(trace: Any) -> JudgeInput:
    """A trace as the judge sees it: its input variables and context documents as text (the judge
    module's helpers), and a reference answer when the trace's metadata carries one (`expected`)."""
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.autoeval.judge import JudgeInput, context_text, input_text

    metadata = getattr(trace, "metadata", None) or {}
    expected = metadata.get("expected") if isinstance(metadata.get("expected"), str) else None
    return JudgeInput(
        trace_id=trace.id,
        input=input_text(trace.input),
        output=str(trace.output or ""),
        context=context_text(trace.context),
        expected=expected,
    )


def _money(usd: float) -> str:
    text = f"{usd:.6f}".rstrip("0")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


# -- analyzer ----------------------------------------------------------------------------------------
def analyze_job(project_id: str, job_id: str) -> None:
    """Summarise the samples, compare with the baseline, store the report, complete the job and give the
    project's slot back (one transaction), then point the target at this job and send the alerts."""
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.autoeval.report import SampleResult, build_report, summarize

    store = _store()
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
    store = _store()
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
    store = _store()
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
