"""Humanloop-compatible Evaluations (/v5/evaluations): evaluations, their evaluators and runs, logs, stats.

An evaluation belongs to a prompt (Humanloop's `file`) and lists evaluators; its runs are ordinary Run items
(one entity behind all three API families: docs/architecture.md), linked to it by membership items.
`orchestrated=true` runs execute a dataset against a prompt version through the suite-run workflow, scored
by the evaluators evalgate can run itself (its assertions); `orchestrated=false` runs take logs sent by the
caller, with the judgments of every other evaluator inline.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from evalgate.errors import Conflict, InvalidInput, NotFound, SchemaViolation, Unavailable
from evalgate.models.domain import (
    Dataset,
    ExternalResult,
    Principal,
    Prompt,
    PromptVersion,
    Run,
    RunResult,
    RunStatus,
)
from evalgate.models.evaluations import Evaluation, EvaluationRun, Evaluator
from evalgate.models.stats import EvaluationStats
from evalgate.observability import logger
from evalgate.services.container import container, utcnow
from evalgate.settings import MissingSetting

MAX_EVALUATORS = 25
MAX_ASSERTION_BYTES = 10_000
MAX_RUNS = 200
OPEN = (RunStatus.pending, RunStatus.queued, RunStatus.running)
_EVALUATION_ID = re.compile(r"^evr_[0-9a-f]{20}$")

# our lifecycle -> Humanloop's four statuses: a run that failed or errored has finished (nothing more will
# happen to it), so it reads as completed; `evalgate_status` in the run shape tells the two apart.
HUMANLOOP_STATUS: dict[RunStatus, str] = {
    RunStatus.pending: "pending",
    RunStatus.queued: "pending",
    RunStatus.running: "running",
    RunStatus.completed: "completed",
    RunStatus.failed: "completed",
    RunStatus.error: "completed",
    RunStatus.cancelled: "cancelled",
}


def humanloop_status(run: Run) -> str:
    return HUMANLOOP_STATUS[run.status]


@dataclass
class RunView:
    """A run as one evaluation sees it."""

    run: Run
    member: EvaluationRun
    control: bool
    prompt: Prompt | None
    version: PromptVersion | None
    dataset: Dataset | None


# -- ids ---------------------------------------------------------------------------------------------
def new_evaluation_id() -> str:
    """`evr_` + the creation time in ms (12 hex digits) + 8 random hex digits: ids sort by creation."""
    return f"evr_{int(time.time() * 1000):012x}{secrets.token_hex(4)}"


def parse_evaluation_id(raw: str) -> str:
    if not _EVALUATION_ID.match(raw):
        raise NotFound(f"evaluation {raw} not found")
    return raw


def parse_run_id(raw: str) -> int:
    """Run ids are our integer run ids, as strings; anything else names no run."""
    if not raw.isdigit() or len(raw) > 16:
        raise NotFound(f"run {raw} not found")
    return int(raw)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# -- evaluations ---------------------------------------------------------------------------------------
def create_evaluation(
    principal: Principal, *, file: dict[str, Any], name: str | None, evaluators: list[dict[str, Any]]
) -> Evaluation:
    c = container()
    prompt = _prompt_of_file(principal, file)
    now = utcnow()
    resolved = _merge_evaluators([], evaluators, now)
    ev = Evaluation(
        id=new_evaluation_id(),
        project_id=principal.project_id,
        name=name,
        prompt_id=prompt.id,
        evaluators=resolved,
        created_by=principal.key_id,
        created_at=now,
        updated_at=now,
    )
    c.evaluations.create(ev)
    logger.info("evaluation created", evaluation_id=ev.id, prompt_id=prompt.id, evaluators=len(resolved))
    return ev


def get_evaluation(principal: Principal, evaluation_id: str) -> Evaluation:
    return container().evaluations.get(principal.project_id, parse_evaluation_id(evaluation_id))


def list_evaluations(
    principal: Principal, *, file_id: str | None, page: int, size: int
) -> tuple[list[Evaluation], int]:
    """One page (Humanloop's page/size) and the total. A file_id that names none of our prompts has none."""
    prompt_id: int | None = None
    if file_id is not None:
        if not file_id.isdigit() or len(file_id) > 16:
            return [], 0
        prompt_id = int(file_id)
    every = container().evaluations.list_all(principal.project_id, prompt_id)
    start = (page - 1) * size
    return every[start : start + size], len(every)


def delete_evaluation(principal: Principal, evaluation_id: str) -> None:
    """The evaluation and its memberships; its runs and their logs stay (as in Humanloop)."""
    c = container()
    ev = c.evaluations.get(principal.project_id, parse_evaluation_id(evaluation_id))
    c.evaluations.delete(ev)


def add_evaluators(principal: Principal, evaluation_id: str, evaluators: list[dict[str, Any]]) -> Evaluation:
    c = container()
    evaluation_id = parse_evaluation_id(evaluation_id)
    for _ in range(3):  # optimistic: re-read when another request changed the evaluators meanwhile
        ev = c.evaluations.get(principal.project_id, evaluation_id)
        merged = _merge_evaluators(ev.evaluators, evaluators, utcnow())
        try:
            return c.evaluations.set_evaluators(ev, merged, utcnow())
        except Conflict:
            continue
    raise Conflict("the evaluation's evaluators keep changing; retry")


def remove_evaluator(principal: Principal, evaluation_id: str, evaluator_version_id: str) -> Evaluation:
    c = container()
    evaluation_id = parse_evaluation_id(evaluation_id)
    for _ in range(3):
        ev = c.evaluations.get(principal.project_id, evaluation_id)
        target = _find_evaluator(ev, evaluator_version_id)
        if target is None:
            raise NotFound(f"evaluator {evaluator_version_id} not found in evaluation {evaluation_id}")
        kept = [e for e in ev.evaluators if e.version_id != target.version_id]
        try:
            return c.evaluations.set_evaluators(ev, kept, utcnow())
        except Conflict:
            continue
    raise Conflict("the evaluation's evaluators keep changing; retry")


def _find_evaluator(ev: Evaluation, ref: str) -> Evaluator | None:
    """By version id first, then by path, name or file id (how logs name them too)."""
    for e in ev.evaluators:
        if e.version_id == ref:
            return e
    for e in ev.evaluators:
        if ref in (e.path, e.name, e.file_id):
            return e
    return None


def _merge_evaluators(current: list[Evaluator], refs: list[dict[str, Any]], now: Any) -> list[Evaluator]:
    """Resolve evaluator references and add them; adding one that is there already changes nothing, adding
    another evaluator under a version id in use is a conflict."""
    merged = list(current)
    for i, ref in enumerate(refs):
        new = _evaluator(ref, f"evaluators[{i}]", now)
        same = next((e for e in merged if e.version_id == new.version_id or e.name == new.name), None)
        if same is not None:
            if same.model_dump(exclude={"added_at"}) != new.model_dump(exclude={"added_at"}):
                raise Conflict(
                    f"the evaluation has another evaluator named {new.name!r} ({same.version_id})",
                    field=f"evaluators[{i}]",
                )
            continue
        merged.append(new)
    if len(merged) > MAX_EVALUATORS:
        raise InvalidInput(f"an evaluation has at most {MAX_EVALUATORS} evaluators", field="evaluators")
    return merged


def _builtin_type(name: str) -> bool:
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.scoring import resolve_type

    try:
        resolve_type(name, "type")
    except InvalidInput:
        return False
    return True


def _evaluator(ref: dict[str, Any], field: str, now: Any) -> Evaluator:
    """An evaluator reference (`version_id`, `id` or `path`) as an evaluator of ours. Named after one of our
    assertion types (`contains`, `is-json`, `llm-rubric`...) or given an `assertion` config, evalgate runs it;
    otherwise (or with `orchestrated: false`) its judgments come with the logs."""
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.scoring.assertions import normalize_assertion

    path = ref.get("path") or ref.get("version_id") or ref.get("id")
    assert isinstance(path, str)
    name = path.rstrip("/").rsplit("/", 1)[-1] or path
    assertion = ref.get("assertion")
    orchestrated = ref.get("orchestrated")
    if assertion is not None and orchestrated is False:
        raise InvalidInput(
            "an evaluator with an assertion is run by evalgate: drop `orchestrated: false` or the assertion",
            field=f"{field}.orchestrated",
        )
    if assertion is None and orchestrated is not False and _builtin_type(name):
        assertion = {"type": name}
    if assertion is not None:
        assertion = {**assertion, "metric": name[:200]}
        try:
            normalize_assertion(assertion, f"{field}.assertion")
        except InvalidInput as exc:
            hint = "" if ref.get("assertion") else f" (give its settings in {field}.assertion)"
            raise InvalidInput(exc.message + hint, field=exc.field) from exc
        if len(json.dumps(assertion)) > MAX_ASSERTION_BYTES:
            raise InvalidInput(
                f"an evaluator's assertion takes at most {MAX_ASSERTION_BYTES} bytes", field=f"{field}.assertion"
            )
    return Evaluator(
        version_id=ref.get("version_id") or f"evv_{_digest('version:' + path)}",
        file_id=ref.get("id") or f"ev_{_digest('file:' + path)}",
        path=path,
        name=name,
        orchestrated=assertion is not None,
        assertion=assertion,
        added_at=now,
    )


def _prompt_of_file(principal: Principal, file: dict[str, Any]) -> Prompt:
    """Humanloop's `file`: `id` is one of our prompt ids, `path` a prompt name."""
    c = container()
    file_id, path = file.get("id"), file.get("path")
    if file_id is not None:
        if not str(file_id).isdigit() or len(str(file_id)) > 16:
            raise InvalidInput(f"file {file_id} not found: file.id is the id of one of your prompts", field="file.id")
        try:
            prompt = c.prompts.get_prompt(principal.project_id, int(file_id))
        except NotFound as exc:
            raise InvalidInput(f"file {file_id} not found: no such prompt", field="file.id") from exc
        if path is not None and path != prompt.name:
            raise InvalidInput(f"prompt {file_id} is named {prompt.name!r}, not {path!r}", field="file.path")
        return prompt
    matches = [p for p in _all_prompts(principal) if p.name == path]
    if not matches:
        raise InvalidInput(f"file {path!r} not found: no prompt has that name", field="file.path")
    if len(matches) > 1:
        raise InvalidInput(f"{len(matches)} prompts are named {path!r}: give file.id instead", field="file.path")
    return matches[0]


def _all_prompts(principal: Principal) -> list[Prompt]:
    c = container()
    out: list[Prompt] = []
    cursor = None
    while True:
        page = c.prompts.list_prompts(principal.project_id, limit=100, cursor=cursor)
        out += page.items
        cursor = page.next_cursor
        if not cursor:
            return out


# -- runs -------------------------------------------------------------------------------------------
def list_runs(principal: Principal, evaluation_id: str) -> list[RunView]:
    c = container()
    ev = c.evaluations.get(principal.project_id, parse_evaluation_id(evaluation_id))
    lookups = _Lookups(principal)
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
    version_obj = _version_of(principal, prompt, version) if version is not None else None
    dataset_obj = _dataset_of(principal, prompt, dataset) if dataset is not None else None
    if use_existing_logs and (dataset_obj is None or version_obj is None):
        raise InvalidInput("use_existing_logs needs both a dataset and a version", field="use_existing_logs")
    metadata: dict[str, Any] = {"humanloop": {"evaluationId": ev.id}}
    if dataset_obj is not None:
        metadata["humanloop"]["datasetId"] = dataset_obj.id
    name = f"{ev.name or ev.id}"
    if orchestrated:
        if dataset_obj is None or version_obj is None:
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
            dataset_id=dataset_obj.id,
            cases=None,
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
    return _Lookups(principal).view(ev, member, run)


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
    return _Lookups(principal).view(ev, member, run)


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
    return done


def _version_of(principal: Principal, prompt: Prompt, ref: dict[str, Any]) -> PromptVersion:
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


def _dataset_of(principal: Principal, prompt: Prompt, ref: dict[str, Any]) -> Dataset:
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


class _Lookups:
    """Prompts, versions and datasets read once per request."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self.cache: dict[tuple[str, int, int], Any] = {}

    def _get(self, key: tuple[str, int, int], load: Callable[[], Any]) -> Any:
        if key not in self.cache:
            try:
                self.cache[key] = load()
            except NotFound:
                self.cache[key] = None
        return self.cache[key]

    def view(self, ev: Evaluation, member: EvaluationRun, run: Run) -> RunView:
        c = container()
        pid = self.principal.project_id
        prompt = version = dataset = None
        if run.prompt_id is not None:
            prompt_id = run.prompt_id
            prompt = self._get(("p", prompt_id, 0), lambda: c.prompts.get_prompt(pid, prompt_id))
            if prompt is not None and run.version_no is not None:
                version_no = run.version_no
                version = self._get(
                    ("v", prompt_id, version_no), lambda: c.prompts.get_version(pid, prompt_id, version_no)
                )
            if member.dataset_id is not None:
                dataset_id = member.dataset_id
                dataset = self._get(
                    ("d", prompt_id, dataset_id), lambda: c.datasets.get_dataset(pid, prompt_id, dataset_id)
                )
        return RunView(run, member, ev.control_run_id == run.id, prompt, version, dataset)


# -- logs ---------------------------------------------------------------------------------------------
def add_logs(
    principal: Principal,
    evaluation_id: str,
    run_id: str,
    *,
    log_ids: list[str] | None,
    logs: list[dict[str, Any]] | None,
    idempotency_key: str | None,
) -> tuple[RunView, bool]:
    """Logs of a run that is not orchestrated, each with its judgments. A log id is counted once: a replay,
    or the same logs in other batches, never counts twice. Humanloop's `log_ids` name logs kept by Humanloop;
    evalgate keeps none, so they cannot be resolved (422). Also says whether the answer is an Idempotency-Key
    replay."""
    # lazy: a sibling service, loaded on the path that calls it (cold start)
    from evalgate.services import evals

    c = container()
    if log_ids:
        raise SchemaViolation(
            "log_ids cannot be resolved: evalgate keeps no Humanloop logs. Send the logs inline in `logs` "
            "([{id, datapoint_id, inputs, output, judgments: {evaluator: number|boolean|null}}])",
            field="log_ids",
        )
    if not logs:
        raise SchemaViolation("send the run's logs inline in `logs`", field="logs")
    ev = c.evaluations.get(principal.project_id, parse_evaluation_id(evaluation_id))
    member = c.evaluations.get_run(principal.project_id, ev.id, parse_run_id(run_id))
    run = c.runs.get_run(principal.project_id, member.run_id)
    if run.kind != "external":
        raise Conflict(f"run {run.id} is orchestrated by evalgate: its logs are generated by the run, not added")
    seen: set[str] = set()
    results = []
    for i, log in enumerate(logs):
        if log["id"] in seen:
            raise InvalidInput(f"two logs in this request have the id {log['id']!r}", field=f"logs[{i}].id")
        seen.add(log["id"])
        results.append(_result_of_log(ev, log, f"logs[{i}]"))
    _, _, replayed = evals.submit_results(principal, run.id, results, idempotency_key)
    if run.status == RunStatus.pending:  # logs arriving: the run is under way
        now = utcnow()
        with contextlib.suppress(Conflict):  # it moved meanwhile
            c.runs.transition(
                principal.project_id,
                run.id,
                RunStatus.running,
                allowed_from=[RunStatus.pending],
                now=now,
                sets={"startedAt": now.isoformat()},
            )
    run = c.runs.get_run(principal.project_id, run.id)
    return _Lookups(principal).view(ev, member, run), replayed


def _result_of_log(ev: Evaluation, log: dict[str, Any], field: str) -> dict[str, Any]:
    """An inline log as an external result (EvalGuard's EvalCaseResult): judgments keyed by evaluator name;
    the evaluators evalgate runs without a model (contains, is-json, regex...) are scored here when the log
    brings no judgment for them."""
    judgments: dict[str, Any] = {}
    for key, value in (log.get("judgments") or {}).items():
        evaluator = _find_evaluator(ev, key)
        if evaluator is None:
            raise InvalidInput(f"the evaluation has no evaluator {key!r}", field=f"{field}.judgments.{key}")
        judgments[evaluator.name] = value
    error = log.get("error")
    if error is None and log.get("output") is not None:
        for evaluator in ev.evaluators:
            if evaluator.assertion is not None and evaluator.name not in judgments:
                computed = _score_here(evaluator, log)
                if computed is not None:
                    judgments[evaluator.name] = computed
    scores: list[float] = []
    passes: list[bool] = []
    for value in judgments.values():
        if isinstance(value, bool):
            scores.append(1.0 if value else 0.0)
            passes.append(value)
        elif isinstance(value, int | float):
            scores.append(float(value))
        elif isinstance(value, dict) and "score" in value:
            scores.append(float(value["score"]))
            passes.append(bool(value["passed"]))
    result: dict[str, Any] = {
        "id": log["id"],
        "input": log.get("inputs") or None,
        "actual_output": log.get("output"),
        "expected_output": log.get("target"),
        "score": None if error is not None or not scores else sum(scores) / len(scores),
        "passed": None if error is not None or not passes else all(passes),
        "latency": log.get("latency_ms"),
        "cost": log.get("cost"),
        "scorer_results": judgments,
    }
    tokens = {k: log[k] for k in ("prompt_tokens", "output_tokens") if log.get(k) is not None}
    if tokens:
        result["token_usage"] = tokens
    if log.get("datapoint_id") is not None:
        result["caseId"] = log["datapoint_id"]  # pairs the logs of two runs in comparisons
    if error is not None:
        result["error"] = error
    return result


def _score_here(evaluator: Evaluator, log: dict[str, Any]) -> dict[str, Any] | None:
    """Run an evaluator that needs no model on a log: {score, passed} or {error}; None when it needs a judge
    or an embedding model (its judgment must then come with the log)."""
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.scoring import TYPES, CaseOutput, run_assertion
    from evalgate.scoring.assertions import normalize_assertion

    assert evaluator.assertion is not None
    spec = normalize_assertion(evaluator.assertion, "assertion")
    kind = TYPES[spec["type"]]
    if kind.judge or kind.embedder:
        return None
    output, target = log.get("output"), log.get("target")
    inputs = log.get("inputs") or {}
    out = CaseOutput(
        output=output if isinstance(output, str) else json.dumps(output),
        expected=None if target is None else (target if isinstance(target, str) else json.dumps(target)),
        variables=inputs if isinstance(inputs, dict) else {},
        latency_ms=log.get("latency_ms"),
        cost_usd=log.get("cost"),
        input_tokens=log.get("prompt_tokens"),
        output_tokens=log.get("output_tokens"),
    )
    res = run_assertion(spec, out)
    if res.status == "errored":
        return {"error": res.reason}
    return {"score": res.score, "passed": res.status == "passed"}


def list_logs(
    principal: Principal, evaluation_id: str, *, run_ids: list[str] | None, page: int, size: int
) -> tuple[list[dict[str, Any]], int]:
    """The logs of the evaluation's runs (or of some of them), run after run, Humanloop's page/size. The
    total comes from the runs' aggregates; a page deep in a run reads the logs before it (offset pages)."""
    c = container()
    ev = c.evaluations.get(principal.project_id, parse_evaluation_id(evaluation_id))
    members = c.evaluations.list_runs(principal.project_id, ev.id)
    if run_ids:
        wanted = {int(r) for r in run_ids if r.isdigit() and len(r) <= 16}
        members = [m for m in members if m.run_id in wanted]
    runs: list[Run] = []
    for m in members:
        try:
            runs.append(c.runs.get_run(principal.project_id, m.run_id))
        except NotFound:
            continue
    total = sum(r.aggregates.done for r in runs)
    skip = (page - 1) * size
    records: list[dict[str, Any]] = []
    for run in runs:
        if len(records) >= size:
            break
        if skip >= run.aggregates.done:
            skip -= run.aggregates.done
            continue
        items, skipped = _read_logs(principal, run, skip, size - len(records))
        skip -= skipped
        records += [_log_record(ev, run, item) for item in items]
    return records, total


def _read_logs(principal: Principal, run: Run, skip: int, take: int) -> tuple[list[Any], int]:
    """`take` results of a run after its first `skip` (and how many were skipped)."""
    c = container()
    out: list[Any] = []
    skipped = 0
    cursor = None
    while len(out) < take:
        limit = min(1000, skip - skipped + take - len(out))
        if run.kind == "external":
            page = c.runs.list_external_results(principal.project_id, run.id, limit=limit, cursor=cursor)
        else:
            page = c.runs.list_results(principal.project_id, run.id, limit=limit, cursor=cursor)
        for item in page.items:
            if skipped < skip:
                skipped += 1
            elif len(out) < take:
                out.append(item)
        cursor = page.next_cursor
        if not cursor:
            break
    return out, skipped


def _judgment(raw: Any) -> tuple[Any, str | None]:
    if isinstance(raw, dict):
        if raw.get("error"):
            return None, str(raw["error"])
        return raw.get("score", raw.get("value", raw.get("passed"))), None
    return raw, None


def _evaluator_ref(ev: Evaluation, name: str) -> dict[str, Any]:
    e = _find_evaluator(ev, name)
    if e is not None:
        return {"version_id": e.version_id, "id": e.file_id, "path": e.path, "name": e.name}
    return {"version_id": f"evv_{_digest('version:' + name)}", "id": None, "path": name, "name": name}


def _log_record(ev: Evaluation, run: Run, item: ExternalResult | RunResult) -> dict[str, Any]:
    """One log of a run in Humanloop's EvaluationLogResponse shape: the log, its datapoint, its judgments."""
    prompt_ref = {
        "id": str(run.prompt_id) if run.prompt_id is not None else None,
        "version_id": str(run.version_no) if run.version_no is not None else None,
    }
    judgments: list[tuple[str, Any, str | None]] = []
    if isinstance(item, RunResult):
        log_id = f"{run.id}-{item.index}"
        datapoint_id = item.case_name
        inputs: Any = item.variables or None
        target = None
        log = {
            "output": item.output,
            "error": item.error,
            "provider_latency": item.duration_ms / 1000,
            "cost": item.cost_usd,
            "prompt_tokens": item.input_tokens,
            "output_tokens": item.output_tokens,
        }
        for a in item.assertions:
            name = str(a.get("metric") or a.get("operator") or a.get("type") or "assertion")
            errored = a.get("status") == "errored"
            judgments.append((name, None if errored else a.get("score"), a.get("reason") if errored else None))
    else:
        extra = item.model_extra or {}
        log_id = item.id
        datapoint_id = extra.get("caseId")
        inputs = item.input
        target = item.expected_output
        usage = item.token_usage or {}
        log = {
            "output": item.actual_output,
            "error": extra.get("error"),
            "provider_latency": item.latency / 1000 if item.latency is not None else None,
            "cost": item.cost,
            "prompt_tokens": usage.get("prompt_tokens"),
            "output_tokens": usage.get("output_tokens"),
        }
        for name, raw in item.scorer_results.items():
            value, error = _judgment(raw)
            judgments.append((name, value, error))
    datapoint = None
    if datapoint_id is not None:
        datapoint = {"id": str(datapoint_id), "inputs": inputs, "target": target}
    evaluator_logs = [
        {
            "id": f"{log_id}:{_evaluator_ref(ev, name)['version_id']}",
            "parent_id": log_id,
            "evaluator": _evaluator_ref(ev, name),
            "judgment": value,
            "error": error,
        }
        for name, value, error in judgments
    ]
    return {
        "run_id": str(run.id),
        "datapoint": datapoint,
        "log": {
            "id": log_id,
            "inputs": inputs,
            "source_datapoint_id": str(datapoint_id) if datapoint_id is not None else None,
            "prompt": prompt_ref,
            **log,
            "evaluator_logs": evaluator_logs,
        },
        "evaluator_logs": evaluator_logs,
    }


# -- stats --------------------------------------------------------------------------------------------
def evaluation_stats(principal: Principal, evaluation_id: str) -> EvaluationStats:
    """Per run its statistics (from the runs' aggregates: the run item and one item per scorer, no log is
    read); each run but the control also carries its paired comparison with the control run."""
    # lazy: a sibling service, loaded on the path that calls it (cold start)
    from evalgate.services import evals

    c = container()
    ev = c.evaluations.get(principal.project_id, parse_evaluation_id(evaluation_id))
    members = c.evaluations.list_runs(principal.project_id, ev.id)
    control = ev.control_run_id if any(m.run_id == ev.control_run_id for m in members) else None
    runs = []
    for member in members:
        try:
            figures = evals.run_stats(principal, member.run_id)
        except NotFound:
            continue
        if control is not None and member.run_id != control:
            with contextlib.suppress(NotFound, InvalidInput):  # the control run was deleted meanwhile
                figures = dataclasses.replace(figures, comparison=evals.compare_runs(principal, member.run_id, control))
        runs.append(figures)
    return EvaluationStats(evaluation=ev, runs=runs, control_run_id=control)
