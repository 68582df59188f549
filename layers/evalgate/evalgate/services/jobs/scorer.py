"""The scorer step: one judge call per sampled trace, a result per sample, the last one claims the analysis."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from evalgate import pools
from evalgate.models.jobs import AutoEvalJob, SampleRecord
from evalgate.observability import logger
from evalgate.services.container import container, utcnow
from evalgate.services.jobs.common import REASON_MAX, auto_eval_settings, job_store, judged_scope
from evalgate.services.jobs.worker import maybe_queue_analysis

if TYPE_CHECKING:
    from evalgate.autoeval.judge import JudgeInput


# -- scorer ------------------------------------------------------------------------------------------
class ScoringFailed(RuntimeError):
    """Some traces of a message could not be judged on this delivery; the message is retried."""


def score_traces(project_id: str, job_id: str, trace_ids: Sequence[str], *, attempt: int, final: bool) -> None:
    """Judge the traces of one scoring message that have no result yet. A trace whose judging fails is
    retried with the message (bypassing the response cache); on the final delivery it is recorded failed."""
    store = job_store()
    job = store.get_job(project_id, job_id)
    if job.status != "running":
        logger.info("auto-eval scoring message ignored", status=job.status)
        return
    ids = list(dict.fromkeys(trace_ids))
    pending = [t for t in ids if t not in store.existing_samples(project_id, job_id, ids)]
    errors: list[str] = []
    if pending:
        traces = container().traces.get_many(project_id, pending)
        settings = auto_eval_settings()
        workers = min(settings.judge_concurrency, len(pending))

        def one(trace_id: str) -> str | None:
            return _score_one(job, trace_id, traces.get(trace_id), use_cache=attempt <= 1, final=final)

        if workers <= 1:
            outcomes = [one(t) for t in pending]
        else:
            with pools.scope("judge", workers) as pool:
                outcomes = pool.map(one, pending)
        errors = [e for e in outcomes if e]
    maybe_queue_analysis(project_id, job_id)
    if errors:
        raise ScoringFailed(f"{len(errors)} of {len(ids)} traces could not be judged yet: {errors[0]}")


def _score_one(job: AutoEvalJob, trace_id: str, trace: Any | None, *, use_cache: bool, final: bool) -> str | None:
    """Judge and record one trace. Returns an error to retry with the message, or None when recorded."""
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.autoeval.judge import JudgeParseError
    from evalgate.providers.base import ProviderError

    store = job_store()
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
    waited = _rate_limited(job)
    if waited:
        if not final:
            return waited
        store.record_sample(
            job, SampleRecord(trace_id=trace_id, status="failed", error=waited), judged_scope=None, now=now
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


def _rate_limited(job: AutoEvalJob) -> str | None:
    """Take a slot of the judge provider's shared rate limit (every scorer instance counts on the same
    DynamoDB window, store/rate_limits.py); an error to retry with the message when none came in time."""
    settings = auto_eval_settings()
    if not settings.judge_rate_per_s or not job.config.get("criteria"):
        return None  # no judge call (deterministic scorers only), or no shared limit configured
    provider = str((job.config.get("judge") or {}).get("provider") or settings.judge_provider)
    if container().rate_limiter.acquire(
        f"judge#{provider}", settings.judge_rate_per_s, timeout=settings.judge_rate_wait_s
    ):
        return None
    return f"RateLimited: the judge provider's shared limit of {settings.judge_rate_per_s} calls/s is in use"


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
