"""The quality gate of a prompt: its settings, and the check CI calls (Echostash /eval/gate)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from evalgate.errors import Conflict, InvalidInput, NotFound
from evalgate.models.domain import GateSettings, Principal, Run, RunStatus
from evalgate.models.stats import DatasetCheck
from evalgate.services import datasets, evals, paired_cache
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
    from evalgate.stats.gate import check_gate

    settings = get_settings(principal, prompt_id)
    run = (
        _run_of(principal, prompt_id, run_id, field="runId")
        if run_id is not None
        else _latest_completed(principal, prompt_id)
    )
    paired = settings.mode == "non-inferiority"
    per_case = paired or settings.k_of_n is not None
    control_run: Run | None = None
    dataset_check: DatasetCheck | None = None
    changed: set[str] = set()
    if settings.control_run_id is not None:
        control_run = _run_of(principal, prompt_id, settings.control_run_id, field="controlRunId")
        dataset_check, changed = datasets.check_versions(principal.project_id, run, control_run)
        if not dataset_check.same and settings.on_dataset_change == "refuse":
            raise Conflict(f"the gate refuses to compare: {dataset_check.message.split(';')[0]}", field="runId")
    config = config_of(settings)
    if per_case:  # pairing and k-of-n read each case's outcomes: cached per (run, control, config) (issue 17)
        result = paired_cache.gate_result(
            principal.project_id, run, control_run if paired else None, config, changed if paired else set()
        )
    else:
        result = check_gate(config, _figures(principal, run, per_case=False), None)
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


def config_of(settings: GateSettings) -> Any:
    """The statistics' `GateConfig` of a prompt's gate settings."""
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.stats.gate import GateConfig

    return GateConfig(
        metric=settings.metric,
        threshold=settings.threshold,
        mode=settings.mode,
        margin=settings.margin,
        min_samples=settings.min_samples,
        k_of_n=settings.k_of_n,
        allow_inconclusive=settings.allow_inconclusive,
        confidence=settings.confidence,
    )


def precompute(project_id: str, run_id: int) -> list[str]:
    """Cache what a `gate/check` of this run (its prompt's gate) and a comparison with the gate's control run will
    ask (the paired-gate worker, when a run ends). Returns what was computed ("gate", "compare"): nothing for a
    run that is gone, has no prompt, or whose gate reads no per-case figures."""
    c = container()
    try:
        run = c.runs.get_run(project_id, run_id)
    except NotFound:
        return []
    if run.prompt_id is None:
        return []
    settings = c.gates.get(project_id, run.prompt_id)
    paired = settings.mode == "non-inferiority"
    control_run: Run | None = None
    if settings.control_run_id is not None and settings.control_run_id != run.id:
        try:
            control_run = c.runs.get_run(project_id, settings.control_run_id)
        except NotFound:
            control_run = None
        if control_run is not None and control_run.prompt_id not in (None, run.prompt_id):
            control_run = None  # the check answers 400 for it: nothing to cache
    changed: set[str] = set()
    refused = False
    if control_run is not None:
        check, changed = datasets.check_versions(project_id, run, control_run)
        refused = not check.same and settings.on_dataset_change == "refuse"
    figures_of = paired_cache.loader(project_id, keep=True)  # the columns kept for later recomputations
    done = []
    # a control the check would refuse or pair differently (gone, another prompt's, the run itself): not guessed
    unknown_control = settings.control_run_id is not None and control_run is None
    if (paired or settings.k_of_n is not None) and not refused and not unknown_control:
        paired_cache.gate_result(
            project_id,
            run,
            control_run if paired else None,
            config_of(settings),
            changed if paired else set(),
            figures_of,
        )
        done.append(paired_cache.GATE)
    if control_run is not None:
        paired_cache.comparison(project_id, run, control_run, changed, figures_of)
        done.append(paired_cache.COMPARE)
    return done


def handle_message(body: str) -> list[str]:
    """The paired-gate queue's message: {"projectId", "runId"} of a run that ended."""
    message = json.loads(body)
    return precompute(str(message["projectId"]), int(message["runId"]))


def as_json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
