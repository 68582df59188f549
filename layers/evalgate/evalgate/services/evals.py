"""EvalGuard-compatible eval runs for external execution: create, list, get, delete, PATCH status,
results batches (idempotent) and their listing. The same Run entity as suite runs."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import TYPE_CHECKING, Any

from evalgate.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from evalgate.models.domain import TERMINAL, ExternalResult, Page, Principal, Run, RunStatus
from evalgate.models.stats import Comparison, PassRate, RunStats, ScorerStats, ScoreSummary
from evalgate.services import idempotency, paired_cache
from evalgate.services.container import container, utcnow

if TYPE_CHECKING:
    from evalgate.stats.gate import RunFigures

MAX_RESULTS_PER_BATCH = 1000
MAX_BATCH_BYTES = 6 * 1024 * 1024

# EvalGuard's status vocabulary → (lifecycle, verdict)
FROM_EVALGUARD: dict[str, tuple[RunStatus, str | None]] = {
    "pending": (RunStatus.pending, None),
    "queued": (RunStatus.queued, None),
    "running": (RunStatus.running, None),
    "passed": (RunStatus.completed, "passed"),
    "failed": (RunStatus.completed, "failed"),
    "error": (RunStatus.error, None),
}


def evalguard_status(run: Run) -> str:
    if run.status == RunStatus.completed:
        verdict = run.verdict
        if verdict is None:  # completed elsewhere (Humanloop's `completed`) with no verdict: its results decide
            a = run.aggregates
            verdict = "passed" if a.done and not a.failed and not a.errored else "failed"
        return "passed" if verdict == "passed" else "failed"
    if run.status in (RunStatus.failed, RunStatus.cancelled, RunStatus.error):
        return "error"
    return run.status.value


def parse_run_id(raw: str) -> int:
    """EvalGuard passes run ids as strings; ours are integers. Anything else names no run."""
    if not raw.isdigit() or len(raw) > 16:
        raise NotFound(f"eval run {raw} not found")
    return int(raw)


def create_eval(
    principal: Principal,
    *,
    name: str,
    model: str,
    prompt_id: int | None,
    version_no: int | None,
    metadata: dict[str, Any],
) -> Run:
    c = container()
    if prompt_id is not None:
        try:
            c.prompts.get_prompt(principal.project_id, prompt_id)
        except NotFound as exc:
            raise InvalidInput(f"prompt {prompt_id} not found", field="promptId") from exc
        if version_no is not None:
            try:
                c.prompts.get_version(principal.project_id, prompt_id, version_no)
            except NotFound as exc:
                raise InvalidInput(f"prompt {prompt_id} has no version {version_no}", field="promptVersion") from exc
    run = Run(
        id=c.runs.new_run_id(),
        project_id=principal.project_id,
        prompt_id=prompt_id,
        version_no=version_no,
        kind="external",
        name=name,
        model=model,
        metadata=metadata,
        created_at=utcnow(),
    )
    c.runs.create_run(run)
    return run


def create_orchestrated_eval(principal: Principal, body: Any) -> Run:
    """An eval whose cases evalgate runs (POST /api/v1/evals with cases or a dataset, a template or prompt
    version, and scorers): the suite-run workflow executes it; the run answers pending."""
    # lazy: a sibling service, loaded on the path that calls it (cold start)
    from evalgate.services.runs import start_spec_run

    if body.cases is None and body.dataset_id is None:
        raise InvalidInput("an orchestrated eval needs cases or a datasetId", field="cases")
    if not body.scorers:
        raise InvalidInput("an orchestrated eval needs scorers to score its cases", field="scorers")
    scorers = [{"type": s} if isinstance(s, str) else s for s in body.scorers]
    model: dict[str, Any] = dict(body.model_params or {})
    if body.model:
        model["model"] = body.model
    if body.provider:
        model["provider"] = body.provider
    config: dict[str, Any] = {}
    if body.max_concurrency is not None:
        config["max_concurrency"] = body.max_concurrency
    if body.pass_threshold is not None:
        config["pass_threshold"] = body.pass_threshold
    return start_spec_run(
        principal,
        name=body.name,
        prompt_id=body.prompt_id,
        version_no=body.prompt_version,
        dataset_id=body.dataset_id,
        cases=body.cases,
        assertions=scorers,
        kind="orchestrated",
        metadata=body.metadata,
        template=body.prompt_template,
        model=model or None,
        suite_config=config,
        dataset_version=body.dataset_version,
    )


def get_eval(principal: Principal, run_id: int) -> Run:
    return container().runs.get_run(principal.project_id, run_id)


def list_evals(
    principal: Principal, *, limit: int, cursor: str | None, status: str | None, prompt_id: int | None
) -> Page:
    filters: dict[str, Any] = {}
    if status is not None:
        lifecycle, verdict = FROM_EVALGUARD[status]
        filters["status"] = lifecycle.value
        if verdict:
            filters["verdict"] = verdict
    if prompt_id is not None:
        filters["promptId"] = prompt_id
    return container().runs.list_project_runs(principal.project_id, limit=limit, cursor=cursor, filters=filters)


def delete_eval(principal: Principal, run_id: int) -> None:
    container().runs.delete_run(principal.project_id, run_id)


def update_eval(
    principal: Principal, run_id: int, status: str, score: float | None, total_latency: float | None
) -> Run:
    """Move the run to an EvalGuard status; a run that has ended cannot move again (409)."""
    c = container()
    lifecycle, verdict = FROM_EVALGUARD[status]
    now = utcnow()
    current = c.runs.get_run(principal.project_id, run_id)
    open_states = [s for s in RunStatus if s not in TERMINAL]
    sets: dict[str, Any] = {}
    if score is not None:
        sets["score"] = score
    if total_latency is not None:
        sets["totalLatency"] = total_latency
    if verdict is not None:
        sets["verdict"] = verdict
    if lifecycle == RunStatus.running and current.started_at is None:
        sets["startedAt"] = now.isoformat()
    if lifecycle in TERMINAL:
        sets["finishedAt"] = now.isoformat()
        started = current.started_at or current.created_at
        sets["durationMs"] = int((now - started).total_seconds() * 1000)
    try:
        run = c.runs.transition(principal.project_id, run_id, lifecycle, allowed_from=open_states, now=now, sets=sets)
    except Conflict as exc:
        raise Conflict(
            f"eval run {run_id} has ended ({evalguard_status(current)}); its status cannot change", field="status"
        ) from exc
    if lifecycle in TERMINAL:
        paired_cache.run_ended(principal.project_id, run)
    return run


@dataclasses.dataclass(frozen=True)
class PreparedResults:
    """A results batch parsed (ids given, each result validated) and its run's state being read."""

    project_id: str
    run_id: int
    batch_hash: str
    parsed: list[ExternalResult]
    run_state: Any  # a future of the run's ingest state (RunStore.ingest_state)


def prepare_results(project_id: str, run_id: int, results: list[dict[str, Any]]) -> PreparedResults:
    """Parse a batch and begin reading its run's state. The route calls this with the principal it recalled, while
    the request's admission is still checking the key and its rate (nothing is written and nothing read is
    answered before `submit_results`, which waits for the admission); bad input raises here (the answer then
    waits for the admission: a revoked key is still a 401)."""
    if len(results) > MAX_RESULTS_PER_BATCH:
        raise PayloadTooLarge(
            f"a batch holds at most {MAX_RESULTS_PER_BATCH} results and 6 MB; this one has {len(results)} results"
        )
    if not results:
        raise InvalidInput("results is empty", field="results")
    run_state = container().runs.ingest_state(project_id, run_id)  # read while the batch is parsed below
    # results sent without an id get one from the batch's content (a resend gets the same ids); the hash of the
    # whole batch is computed only then (~1 ms of a 100-result call's CPU otherwise)
    batch_hash = _batch_hash(results) if not all(r.get("id") for r in results) else ""
    parsed = []
    seen: set[str] = set()
    for i, raw in enumerate(results):
        result_id = str(raw.get("id") or f"{batch_hash[:16]}-{i}")
        if result_id in seen:
            raise InvalidInput(f"two results in this batch have the id {result_id!r}", field=f"results[{i}].id")
        seen.add(result_id)
        parsed.append(ExternalResult.model_validate({**raw, "id": result_id}))
    return PreparedResults(project_id, run_id, batch_hash, parsed, run_state)


def submit_results(
    principal: Principal,
    run_id: int,
    results: list[dict[str, Any]],
    idempotency_key: str | None,
    *,
    prepared: PreparedResults | None = None,
) -> tuple[int, Any, bool]:
    """Store and count a batch (`prepared`: by `prepare_results` for this project and run, else here)."""
    if prepared is None or (prepared.project_id, prepared.run_id) != (principal.project_id, run_id):
        prepared = prepare_results(principal.project_id, run_id, results)
    batch = prepared

    def call() -> tuple[int, Any]:
        c = container()
        c.runs.record_external_batch(
            principal.project_id, run_id, batch.batch_hash, batch.parsed, run_state=batch.run_state
        )
        return 200, {"success": True}

    return idempotency.run_once(
        principal, f"results:{run_id}", idempotency_key, {"runId": run_id, "results": results}, call
    )


def _batch_hash(results: list[dict[str, Any]]) -> str:
    canonical = json.dumps(results, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def list_results(principal: Principal, run_id: int, *, limit: int, cursor: str | None) -> Page:
    c = container()
    c.runs.get_run(principal.project_id, run_id)
    return c.runs.list_external_results(principal.project_id, run_id, limit=limit, cursor=cursor)


def _score_summary(n: int, total: float, sq: float, histogram: list[int]) -> ScoreSummary:
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.stats import histogram_percentiles, mean_std

    mean, std = mean_std(n, total, sq)
    return ScoreSummary(
        mean=mean,
        std=std,
        percentiles=histogram_percentiles(histogram) if n else {},
        resolution=1 / len(histogram),
    )


def _pass_rate(passed: int, judged: int) -> PassRate:
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.stats import wilson_interval

    low, high = wilson_interval(passed, judged) if judged else (None, None)
    ci = (low, high) if judged and low is not None and high is not None else None
    return PassRate(passed=passed, judged=judged, value=passed / judged if judged else None, ci95=ci)


def run_stats(principal: Principal, run_id: int, control_run_id: int | None = None) -> RunStats:
    """Statistics of a run from its aggregates: the run item and one item per scorer, whatever the number of
    results; with a control run, the paired comparison over the cases both share."""
    c = container()
    run = c.runs.get_run(principal.project_id, run_id)
    a = run.aggregates
    scorers = {
        agg.name: ScorerStats(
            name=agg.name,
            count=agg.count,
            nulls=agg.nulls,
            errors=agg.errors,
            values=agg.values,
            score=_score_summary(agg.values, agg.score_sum, agg.score_sq_sum, agg.histogram),
            pass_rate=_pass_rate(agg.passed, agg.judged),
        )
        for agg in c.runs.scorer_aggregates(principal.project_id, run_id)
    }
    return RunStats(
        run=run,
        count=a.done,
        passed=a.passed,
        failed=a.failed,
        errors=a.errored,
        nulls=a.nulls,
        score=_score_summary(a.done, a.score_sum, a.score_sq_sum, a.histogram),
        pass_rate=_pass_rate(a.passed, a.done),
        latency_total_ms=a.latency_ms_sum,
        latency_mean_ms=a.latency_ms_sum / a.done if a.done else None,
        input_tokens=a.input_tokens,
        output_tokens=a.output_tokens,
        cost_usd=round(a.cost_usd, 9),
        scorers=scorers,
        comparison=compare_runs(principal, run_id, control_run_id) if control_run_id is not None else None,
    )


def case_figures(principal: Principal, run: Run) -> RunFigures:
    """The gate's view of a run: its aggregates and each case's outcomes (`paired_cache.case_figures_of`)."""
    return paired_cache.case_figures_of(principal.project_id, run)


def compare_runs(principal: Principal, run_id: int, control_run_id: int) -> Comparison:
    """A run against a control run over the cases both share: the pass rates and mean scores on those cases,
    paired deltas, McNemar's exact test of the pass/fail flips, a paired bootstrap CI of the mean score delta
    (cached per run, control and counted results: `services.paired_cache`)."""
    c = container()
    run = c.runs.get_run(principal.project_id, run_id)
    try:
        control = c.runs.get_run(principal.project_id, control_run_id)
    except NotFound as exc:
        raise InvalidInput(f"control run {control_run_id} not found", field="controlRunId") from exc
    # lazy: a sibling service, loaded on the path that compares (cold start)
    from evalgate.services.datasets import check_versions

    check, changed = check_versions(principal.project_id, run, control)
    comparison = paired_cache.comparison(principal.project_id, run, control, changed)
    return dataclasses.replace(comparison, control_run_id=control.id, datasets=check)
