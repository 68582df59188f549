"""An evaluation's runs: create (orchestrated or not), add an existing one, remove, update (control, status)."""

from __future__ import annotations

import contextlib
from typing import Any

from evalgate.errors import Conflict, InvalidInput, NotFound, Unavailable
from evalgate.models.domain import (
    Dataset,
    Principal,
    Prompt,
    PromptVersion,
    Run,
    RunStatus,
)
from evalgate.models.evaluations import EvaluationRun
from evalgate.observability import logger
from evalgate.services import paired_cache
from evalgate.services.container import container, utcnow
from evalgate.services.humanloop.common import (
    MAX_RUNS,
    OPEN,
    Lookups,
    RunView,
    humanloop_status,
    parse_evaluation_id,
    parse_run_id,
)
from evalgate.settings import MissingSetting


# -- runs -------------------------------------------------------------------------------------------
def list_runs(principal: Principal, evaluation_id: str) -> list[RunView]:
    c = container()
    ev = c.evaluations.get(principal.project_id, parse_evaluation_id(evaluation_id))
    lookups = Lookups(principal)
    views = []
    for member in c.evaluations.list_runs(principal.project_id, ev.id):
        try:
            run = c.runs.get_run(principal.project_id, member.run_id)
        except NotFound:  # deleted through another API: no longer part of anything
            continue
        views.append(lookups.view(ev, member, run))
    return views


def create_run(
    principal: Principal,
    evaluation_id: str,
    *,
    dataset: dict[str, Any] | None,
    version: dict[str, Any] | None,
    orchestrated: bool,
    use_existing_logs: bool,
) -> RunView:
    """A new run in the evaluation. Orchestrated: the dataset against the version, scored by the evaluators
    evalgate runs (the workflow starts; the run answers pending). Not orchestrated: a run waiting for logs."""
    # lazy: a sibling service, loaded on the path that calls it (cold start)
    from evalgate.services import evals

    c = container()
    ev = c.evaluations.get(principal.project_id, parse_evaluation_id(evaluation_id))
    if ev.runs_count >= MAX_RUNS:
        raise Conflict(f"an evaluation holds at most {MAX_RUNS} runs")
    try:
        prompt = c.prompts.get_prompt(principal.project_id, ev.prompt_id)
    except NotFound as exc:
        raise Conflict(f"the evaluation's prompt {ev.prompt_id} was deleted; it takes no new runs") from exc
    version_obj = version_of(principal, prompt, version) if version is not None else None
    # lazy: a sibling module, loaded on the path that calls it (cold start)
    from evalgate.services.humanloop.files import dataset_version

    hl_dataset = dataset_version(principal, dataset) if dataset is not None else None
    dataset_obj = dataset_of(principal, prompt, dataset) if dataset is not None and hl_dataset is None else None
    if use_existing_logs and ((dataset_obj is None and hl_dataset is None) or version_obj is None):
        raise InvalidInput("use_existing_logs needs both a dataset and a version", field="use_existing_logs")
    metadata: dict[str, Any] = {"humanloop": {"evaluationId": ev.id}}
    if dataset_obj is not None:
        metadata["humanloop"]["datasetId"] = dataset_obj.id
    cases = None
    if hl_dataset is not None:  # a /v5 dataset: its datapoints are the run's cases (named by datapoint id)
        file, hl_version = hl_dataset
        points = hl_version["datapoints"]
        metadata["humanloop"].update(
            {"hlDatasetId": file["id"], "hlDatasetVersionId": hl_version["version_id"], "datapoints": len(points)}
        )
        cases = [{"name": d["id"], "variables": d.get("inputs") or {}, "expectedOutput": _expected(d)} for d in points]
    name = f"{ev.name or ev.id}"
    if orchestrated:
        if (dataset_obj is None and cases is None) or version_obj is None:
            missing = "dataset" if dataset_obj is None else "version"
            raise InvalidInput(
                f"an orchestrated run needs a dataset and a version; {missing} is missing", field=missing
            )
        # lazy: a sibling service, loaded on the path that calls it (cold start)
        from evalgate.services.runs import start_spec_run

        # use_existing_logs: evalgate keeps no logs to reuse, but its model response cache answers every
        # (prompt, model, inputs) it has seen before, so a re-run of the same version and dataset is not paid twice
        run = start_spec_run(
            principal,
            name=name,
            prompt_id=prompt.id,
            version_no=version_obj.version_no,
            dataset_id=dataset_obj.id if dataset_obj else None,
            cases=cases,
            assertions=[e.assertion for e in ev.evaluators if e.assertion is not None],
            kind="orchestrated",
            metadata=metadata,
        )
    else:
        if use_existing_logs:
            raise InvalidInput(
                "evalgate keeps no Humanloop logs to reuse: send the run's logs to POST .../logs instead",
                field="use_existing_logs",
            )
        run = evals.create_eval(
            principal,
            name=name,
            model=version_obj.settings.model if version_obj else "",
            prompt_id=prompt.id,
            version_no=version_obj.version_no if version_obj else None,
            metadata=metadata,
        )
    member = EvaluationRun(
        evaluation_id=ev.id,
        run_id=run.id,
        orchestrated=orchestrated,
        dataset_id=dataset_obj.id if dataset_obj else None,
        created_by=principal.key_id,
        added_at=utcnow(),
    )
    try:
        c.evaluations.add_run(principal.project_id, member, max_runs=MAX_RUNS)
    except (Conflict, NotFound):  # the evaluation filled up or went away meanwhile: the run must not go on
        with contextlib.suppress(Conflict):  # unless it has ended already
            _finish(principal, run, RunStatus.cancelled)
        raise
    logger.info("evaluation run created", evaluation_id=ev.id, run_id=run.id, orchestrated=orchestrated)
    return RunView(run, member, False, prompt, version_obj, dataset_obj)


def add_existing_run(principal: Principal, evaluation_id: str, run_id: str) -> RunView:
    """Add a run of this project (from another evaluation, or any eval run of the prompt) to the evaluation."""
    c = container()
    ev = c.evaluations.get(principal.project_id, parse_evaluation_id(evaluation_id))
    run = c.runs.get_run(principal.project_id, parse_run_id(run_id))
    if run.prompt_id is not None and run.prompt_id != ev.prompt_id:
        raise InvalidInput(
            f"run {run.id} evaluates prompt {run.prompt_id}, not this evaluation's prompt {ev.prompt_id}",
            field="run_id",
        )
    raw = run.metadata.get("humanloop")
    hl: dict[str, Any] = raw if isinstance(raw, dict) else {}
    dataset_id = hl.get("datasetId") if isinstance(hl.get("datasetId"), int) else None
    member = EvaluationRun(
        evaluation_id=ev.id,
        run_id=run.id,
        orchestrated=run.kind != "external",
        dataset_id=dataset_id,
        created_by=None,
        added_at=utcnow(),
    )
    c.evaluations.add_run(principal.project_id, member, max_runs=MAX_RUNS)
    return Lookups(principal).view(ev, member, run)


def remove_run(principal: Principal, evaluation_id: str, run_id: str) -> None:
    """Take the run out of the evaluation; the run and its logs stay (as in Humanloop)."""
    c = container()
    rid = parse_run_id(run_id)
    for _ in range(3):
        ev = c.evaluations.get(principal.project_id, parse_evaluation_id(evaluation_id))
        try:
            c.evaluations.remove_run(principal.project_id, ev.id, rid, was_control=ev.control_run_id == rid)
            return
        except Conflict:
            continue
    raise Conflict("the evaluation's control run keeps changing; retry")


def update_run(
    principal: Principal, evaluation_id: str, run_id: str, *, control: bool | None, status: str | None
) -> RunView:
    """`status` cancelled/completed only from pending or running (else 409); `control` true makes the run the
    evaluation's control (the previous one stops being it), false un-sets it when it is."""
    c = container()
    ev = c.evaluations.get(principal.project_id, parse_evaluation_id(evaluation_id))
    member = c.evaluations.get_run(principal.project_id, ev.id, parse_run_id(run_id))
    run = c.runs.get_run(principal.project_id, member.run_id)
    if status is not None:
        run = _finish(principal, run, RunStatus.completed if status == "completed" else RunStatus.cancelled)
    now = utcnow()
    if control is True:
        c.evaluations.set_control(principal.project_id, ev.id, run.id, now)
    elif control is False:
        c.evaluations.clear_control(principal.project_id, ev.id, run.id, now)
    if control is not None:
        ev = c.evaluations.get(principal.project_id, ev.id)
    return Lookups(principal).view(ev, member, run)


def _expected(datapoint: dict[str, Any]) -> Any:
    """A datapoint's target as a case's expected output: {"output": x} is x (Humanloop's usual target)."""
    target = datapoint.get("target")
    if isinstance(target, dict) and set(target) == {"output"}:
        return target["output"]
    return target or None


def finish(principal: Principal, run: Run, word: str) -> Run:
    """Complete or cancel a pending or running run (409 from any other status)."""
    return _finish(principal, run, RunStatus.completed if word == "completed" else RunStatus.cancelled)


def _finish(principal: Principal, run: Run, to: RunStatus) -> Run:
    """Cancel or complete a pending or running run (409 from any other status); an orchestrated run's
    workflow is stopped (its steps also check the status)."""
    now = utcnow()
    started = run.started_at or run.created_at
    sets = {"finishedAt": now.isoformat(), "durationMs": int((now - started).total_seconds() * 1000)}
    try:
        done = container().runs.transition(principal.project_id, run.id, to, allowed_from=OPEN, now=now, sets=sets)
    except Conflict as exc:
        current = container().runs.get_run(principal.project_id, run.id)
        word = "cancelled" if to == RunStatus.cancelled else "completed"
        raise Conflict(
            f"run {run.id} is {humanloop_status(current)}: only a pending or running run can be {word}",
            field="status",
            details={"current": humanloop_status(current), "evalgate_status": current.status.value},
        ) from exc
    if run.execution_arn:
        try:
            container().workflow.stop(run.execution_arn, f"run {to.value}")
        except (Unavailable, MissingSetting):  # the run has its final status either way; its steps check it
            logger.exception("stop execution failed", run_id=run.id)
    paired_cache.run_ended(principal.project_id, done)
    return done


def version_of(principal: Principal, prompt: Prompt, ref: dict[str, Any]) -> PromptVersion:
    """`version_id` is a version number of the evaluation's prompt; `id` / `path` name the prompt itself
    (Humanloop then takes the deployed version: ours is the latest)."""
    c = container()
    if ref.get("version_id") is not None:
        raw = str(ref["version_id"])
        if not raw.isdigit() or len(raw) > 9:
            raise InvalidInput(
                f"version {raw} not found: version_id is a version number of prompt {prompt.id}",
                field="version.version_id",
            )
        try:
            return c.prompts.get_version(principal.project_id, prompt.id, int(raw))
        except NotFound as exc:
            raise InvalidInput(f"prompt {prompt.id} has no version {raw}", field="version.version_id") from exc
    if ref.get("id") is not None and str(ref["id"]) != str(prompt.id):
        raise InvalidInput(f"version.id must be this evaluation's prompt ({prompt.id})", field="version.id")
    if ref.get("path") is not None and ref["path"] != prompt.name:
        raise InvalidInput(f"version.path must be this evaluation's prompt ({prompt.name!r})", field="version.path")
    if not prompt.latest_version:
        raise InvalidInput(f"prompt {prompt.id} has no version yet", field="version")
    return c.prompts.get_version(principal.project_id, prompt.id, prompt.latest_version)


def dataset_of(principal: Principal, prompt: Prompt, ref: dict[str, Any]) -> Dataset:
    """`id` (or `version_id`: our datasets have no versions) is a dataset id of the evaluation's prompt,
    `path` its name."""
    c = container()
    raw = ref.get("id") if ref.get("id") is not None else ref.get("version_id")
    if raw is not None:
        field = "dataset.id" if ref.get("id") is not None else "dataset.version_id"
        if not str(raw).isdigit() or len(str(raw)) > 16:
            raise InvalidInput(f"dataset {raw} not found under prompt {prompt.id}", field=field)
        try:
            return c.datasets.get_dataset(principal.project_id, prompt.id, int(raw))
        except NotFound as exc:
            raise InvalidInput(f"dataset {raw} not found under prompt {prompt.id}", field=field) from exc
    cursor = None
    while True:
        page = c.datasets.list_datasets(principal.project_id, prompt.id, limit=100, cursor=cursor)
        for ds in page.items:
            if ds.name == ref.get("path"):
                return ds
        cursor = page.next_cursor
        if not cursor:
            raise InvalidInput(f"dataset {ref.get('path')!r} not found under prompt {prompt.id}", field="dataset.path")
