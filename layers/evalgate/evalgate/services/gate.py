"""The quality gate of a prompt: its settings, and the check CI calls (Echostash /eval/gate)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from evalgate.errors import Conflict, InvalidInput, NotFound
from evalgate.models.domain import GateSettings, Principal, Run, RunStatus
from evalgate.models.stats import DatasetCheck
from evalgate.services import datasets, evals
from evalgate.services.container import container

LATEST_RUN_PAGES = 10


def get_settings(principal: Principal, prompt_id: int) -> GateSettings:
    c = container()
    c.prompts.get_prompt(principal.project_id, prompt_id)
    return c.gates.get(principal.project_id, prompt_id)


def put_settings(principal: Principal, prompt_id: int, settings: GateSettings) -> GateSettings:
    c = container()
    c.prompts.get_prompt(principal.project_id, prompt_id)
    if settings.k_of_n is not None:
        k, n = settings.k_of_n
        if not 1 <= k <= n:
            raise InvalidInput("kOfN needs 1 <= k <= n", field="kOfN")
    if settings.control_run_id is not None:
        _run_of(principal, prompt_id, settings.control_run_id, field="controlRunId")
    if settings.judge_agreement is not None:
        # lazy: only gates with a judge-agreement rule load the annotation code (cold start)
        from evalgate.services import gate_agreement

        gate_agreement.check_rule(principal, settings.judge_agreement)
    c.gates.put(principal.project_id, prompt_id, settings)
    return settings


def _run_of(principal: Principal, prompt_id: int, run_id: int, *, field: str) -> Run:
    try:
        run = container().runs.get_run(principal.project_id, run_id)
    except NotFound as exc:
        raise InvalidInput(f"run {run_id} not found", field=field) from exc
    if run.prompt_id not in (None, prompt_id):
        raise InvalidInput(f"run {run_id} belongs to another prompt", field=field)
    return run


def _latest_completed(principal: Principal, prompt_id: int) -> Run:
    cursor = None
    for _ in range(LATEST_RUN_PAGES):
        page = container().runs.list_prompt_runs(
            principal.project_id, prompt_id, limit=50, cursor=cursor, filters={"status": RunStatus.completed.value}
        )
        if page.items:
            return page.items[0]
        cursor = page.next_cursor
        if not cursor:
            break
    raise InvalidInput(f"prompt {prompt_id} has no completed run to check; give runId", field="runId")


def _figures(principal: Principal, run: Run, *, per_case: bool) -> Any:
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.stats.gate import RunFigures

    if per_case:  # pairing and k-of-n need each case's outcomes: from the run's batch markers
        return evals.case_figures(principal, run)
    a = run.aggregates
    return RunFigures(n=a.done, passed=a.passed, score_sum=a.score_sum, score_sq_sum=a.score_sq_sum)


def check(principal: Principal, prompt_id: int, run_id: int | None) -> tuple[Any, GateSettings, Run]:
    result, settings, run, _ = check_with_datasets(principal, prompt_id, run_id)
    return result, settings, run


def check_with_datasets(
    principal: Principal, prompt_id: int, run_id: int | None
) -> tuple[Any, GateSettings, Run, DatasetCheck | None]:
    """The gate's verdict, plus (with a control run) whether both runs read the same dataset versions. When they
    differ, the paired comparison covers only the cases both versions share unchanged, or, with
    `onDatasetChange: refuse`, the check answers 409 with the reason."""
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.stats.gate import GateConfig, check_gate

    settings = get_settings(principal, prompt_id)
    run = (
        _run_of(principal, prompt_id, run_id, field="runId")
        if run_id is not None
        else _latest_completed(principal, prompt_id)
    )
    paired = settings.mode == "non-inferiority"
    per_case = paired or settings.k_of_n is not None
    control = None
    dataset_check: DatasetCheck | None = None
    changed: set[str] = set()
    if settings.control_run_id is not None:
        control_run = _run_of(principal, prompt_id, settings.control_run_id, field="controlRunId")
        dataset_check, changed = datasets.check_versions(principal.project_id, run, control_run)
        if not dataset_check.same and settings.on_dataset_change == "refuse":
            raise Conflict(f"the gate refuses to compare: {dataset_check.message.split(';')[0]}", field="runId")
        if paired:
            control = datasets.without_cases(_figures(principal, control_run, per_case=True), changed)
    config = GateConfig(
        metric=settings.metric,
        threshold=settings.threshold,
        mode=settings.mode,
        margin=settings.margin,
        min_samples=settings.min_samples,
        k_of_n=settings.k_of_n,
        allow_inconclusive=settings.allow_inconclusive,
        confidence=settings.confidence,
    )
    figures = _figures(principal, run, per_case=per_case)
    if paired:
        figures = datasets.without_cases(figures, changed)
    result = check_gate(config, figures, control)
    if settings.judge_agreement is not None:
        # lazy: only gates with a judge-agreement rule load the annotation code (cold start)
        from evalgate.services import gate_agreement

        result = gate_agreement.apply(principal, settings.judge_agreement, result)
    errored = run.aggregates.errored
    if errored and result.passed:  # a case that errored was never evaluated: the gate does not pass the run
        result = dataclasses.replace(
            result,
            passed=False,
            verdict="failed",
            reason=f"{errored} of {run.aggregates.total or run.aggregates.done} cases errored in run {run.id}: "
            "the gate never passes a "
            f"run with errored cases ({result.reason})",
        )
    return result, settings, run, dataset_check


def as_json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
