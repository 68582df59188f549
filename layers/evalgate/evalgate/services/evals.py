"""EvalGuard-compatible eval runs for external execution: create, list, get, delete, PATCH status,
results batches (idempotent) and their listing. The same Run entity as suite runs (DESIGN §1)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from evalgate.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from evalgate.models.domain import TERMINAL, ExternalResult, Page, Principal, Run, RunStatus
from evalgate.services import idempotency
from evalgate.services.container import container, utcnow

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
        return "passed" if run.verdict == "passed" else "failed"
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
        return c.runs.transition(principal.project_id, run_id, lifecycle, allowed_from=open_states, now=now, sets=sets)
    except Conflict as exc:
        raise Conflict(
            f"eval run {run_id} has ended ({evalguard_status(current)}); its status cannot change", field="status"
        ) from exc


def submit_results(
    principal: Principal, run_id: int, results: list[dict[str, Any]], idempotency_key: str | None
) -> tuple[int, Any, bool]:
    if len(results) > MAX_RESULTS_PER_BATCH:
        raise PayloadTooLarge(
            f"a batch holds at most {MAX_RESULTS_PER_BATCH} results and 6 MB; this one has {len(results)} results"
        )
    if not results:
        raise InvalidInput("results is empty", field="results")

    def call() -> tuple[int, Any]:
        c = container()
        run = c.runs.get_run(principal.project_id, run_id)
        if run.status == RunStatus.cancelled:
            raise Conflict(f"eval run {run_id} was cancelled; it takes no more results")
        canonical = json.dumps(results, sort_keys=True, separators=(",", ":"), default=str)
        batch_hash = hashlib.sha256(canonical.encode()).hexdigest()[:32]
        parsed = []
        seen: set[str] = set()
        for i, raw in enumerate(results):
            result_id = str(raw.get("id") or f"{batch_hash[:16]}-{i}")
            if result_id in seen:
                raise InvalidInput(f"two results in this batch have the id {result_id!r}", field=f"results[{i}].id")
            seen.add(result_id)
            parsed.append(ExternalResult.model_validate({**raw, "id": result_id}))
        c.runs.record_external_batch(principal.project_id, run_id, batch_hash, parsed)
        return 200, {"success": True}

    return idempotency.run_once(
        principal, f"results:{run_id}", idempotency_key, {"runId": run_id, "results": results}, call
    )


def list_results(principal: Principal, run_id: int, *, limit: int, cursor: str | None) -> Page:
    c = container()
    c.runs.get_run(principal.project_id, run_id)
    return c.runs.list_external_results(principal.project_id, run_id, limit=limit, cursor=cursor)


def run_stats(principal: Principal, run_id: int) -> dict[str, Any]:
    """Statistics of a run from its aggregates: one item read, whatever the number of results."""
    from evalgate.stats import histogram_percentiles, mean_std, wilson_interval

    run = container().runs.get_run(principal.project_id, run_id)
    a = run.aggregates
    mean, std = mean_std(a.done, a.score_sum, a.score_sq_sum)
    low, high = wilson_interval(a.passed, a.done) if a.done else (None, None)
    return {
        "runId": str(run.id),
        "status": evalguard_status(run),
        "count": a.done,
        "passed": a.passed,
        "failed": a.failed,
        "errors": a.errored,
        "score": {
            "mean": mean,
            "std": std,
            "percentiles": histogram_percentiles(a.histogram) if a.done else {},
            "percentileResolution": 1 / len(a.histogram),
        },
        "passRate": {
            "value": a.passed / a.done if a.done else None,
            "ci95": [low, high] if a.done else None,
            "method": "wilson",
        },
        "latency": {"totalMs": a.latency_ms_sum, "meanMs": a.latency_ms_sum / a.done if a.done else None},
        "tokens": {"input": a.input_tokens, "output": a.output_tokens},
        "costUsd": round(a.cost_usd, 9),
    }
