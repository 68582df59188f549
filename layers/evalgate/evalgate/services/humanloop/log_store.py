"""/v5 logs: prompts/log (the SDK's local callable's outputs), evaluators/log (judgments on a log) and
logs/{id}. A log with a `run_id` of an evaluation's run is counted into that evalgate run once its judgments
are in: the evaluators evalgate runs score it at once, external ones are waited for (their judgments come
through evaluators/log), human ones are not (they arrive when a person gets to it). When the run has a log
for every datapoint of its dataset it completes."""

from __future__ import annotations

import contextlib
from typing import Any

from evalgate.errors import Conflict, InvalidInput, NotFound, SchemaViolation
from evalgate.models.domain import Principal, Run
from evalgate.models.evaluations import Evaluation, Evaluator
from evalgate.observability import logger
from evalgate.services.container import container, utcnow
from evalgate.services.humanloop.common import OPEN, parse_run_id
from evalgate.services.humanloop.files import (
    evaluator_out,
    evaluator_response,
    file_id_of,
    file_key,
    get_prompt,
    new_log_id,
    prompt_response,
    stored_evaluator,
)

_KEPT = (
    "inputs",
    "output",
    "error",
    "source_datapoint_id",
    "start_time",
    "end_time",
    "log_status",
    "prompt_tokens",
    "output_tokens",
    "messages",
    "metadata",
    "provider_latency",
    "source",
    "user",
)


def _evaluation_of(principal: Principal, run: Run) -> Evaluation | None:
    hl = run.metadata.get("humanloop")
    if not isinstance(hl, dict) or not isinstance(hl.get("evaluationId"), str):
        return None
    try:
        return container().evaluations.get(principal.project_id, hl["evaluationId"])
    except NotFound:
        return None


def create_prompt_log(
    principal: Principal, body: dict[str, Any], version_id: str | None, *, kind: str = "prompt"
) -> dict[str, Any]:
    """A prompt's log (Humanloop's CreatePromptLogResponse), or with `kind` "flow" a flow's (its
    CreateFlowLogResponse: a flow is a prompt that holds a flow). The file is `id` or `path` (one of ours), at
    `version_id` (a version number) or its latest version."""
    c = container()
    prompt_id = body.get("id")
    if prompt_id is None and body.get("path"):
        prompt_id = prompt_by_path_id(principal, str(body["path"]), kind)
    if prompt_id is None:
        raise SchemaViolation(f"give the {kind}'s id or path", field="id")
    prompt = get_prompt(principal, str(prompt_id), version_id)
    if prompt.get("type") != kind:
        raise NotFound(f"{kind} {prompt_id} not found")
    run_id: int | None = None
    evaluation_id: str | None = None
    if body.get("run_id") is not None:
        run = c.runs.get_run(principal.project_id, parse_run_id(str(body["run_id"])))
        run_id = run.id
        ev = _evaluation_of(principal, run)
        evaluation_id = ev.id if ev else None
    now = utcnow().isoformat()
    cost = None
    if body.get("prompt_cost") is not None or body.get("output_cost") is not None:
        cost = float(body.get("prompt_cost") or 0) + float(body.get("output_cost") or 0)
    log = {
        "id": new_log_id(),
        "kind": kind,
        "prompt_id": prompt["id"],
        "version_id": prompt["version_id"],
        "run_id": run_id,
        "evaluation_id": evaluation_id,
        "created_at": body.get("created_at") or now,
        "cost": cost,
        "counted": False,
        **{k: body.get(k) for k in _KEPT},
    }
    if log["log_status"] is None:
        log["log_status"] = "complete"
    c.humanloop.put_log(principal.project_id, log["id"], log)
    if run_id is not None and evaluation_id is not None:
        count_log(principal, log["id"])
    if kind == "flow":
        out = {"id": log["id"], "flow_id": prompt["id"], "version_id": prompt["version_id"]}
        return {**out, "log_status": log["log_status"]}
    return {"id": log["id"], "prompt_id": prompt["id"], "version_id": prompt["version_id"], "session_id": None}


def prompt_by_path_id(principal: Principal, path: str, kind: str = "prompt") -> str:
    # lazy: a sibling module's helper, loaded on the path that calls it (cold start)
    from evalgate.services.humanloop.files import retrieve_by_path

    found = retrieve_by_path(principal, path)
    if found.get("type") != kind:
        raise NotFound(f"no {kind} at path {path!r}")
    return str(found["id"])


def create_evaluator_log(principal: Principal, body: dict[str, Any], version_id: str | None) -> dict[str, Any]:
    """A judgment on a log (`parent_id`) by an evaluator (`version_id`, `id` or `path`)."""
    c = container()
    parent_id = body.get("parent_id")
    if not parent_id:
        raise SchemaViolation("an evaluator log judges a log: give parent_id", field="parent_id")
    parent, _ = c.humanloop.get_log(principal.project_id, str(parent_id))
    ref = {"version_id": version_id, "id": body.get("id"), "path": body.get("path")}
    evaluator = _evaluator_for(principal, parent, ref)
    now = utcnow().isoformat()
    log = {
        "id": "evl_" + new_log_id()[4:],
        "kind": "evaluator",
        "parent_id": parent["id"],
        "version_id": evaluator["version_id"],
        "evaluator": evaluator,
        "judgment": body.get("judgment"),
        "error": body.get("error"),
        "start_time": body.get("start_time"),
        "end_time": body.get("end_time"),
        "created_at": body.get("created_at") or now,
        "marked_completed": body.get("marked_completed"),
        "log_status": body.get("log_status") or "complete",
    }
    c.humanloop.put_log(principal.project_id, log["id"], log)
    c.humanloop.add_judgment(principal.project_id, parent["id"], evaluator["version_id"], log)
    count_log(principal, parent["id"])
    count_late_judgments(principal, parent["id"])
    return {"id": log["id"], "parent_id": parent["id"], "version_id": evaluator["version_id"], "session_id": None}


def _evaluator_for(principal: Principal, parent: dict[str, Any], ref: dict[str, Any]) -> dict[str, Any]:
    """The evaluator a judgment comes from, as Humanloop's EvaluatorResponse: an upserted evaluator file, or
    an evaluator of the parent's evaluation."""
    stored = stored_evaluator(principal, ref)
    if stored is not None:
        return evaluator_response(stored)
    if parent.get("evaluation_id"):
        # lazy: a sibling module, loaded on the path that calls it (cold start)
        from evalgate.services.humanloop.evaluations import find_evaluator

        with contextlib.suppress(NotFound):
            ev = container().evaluations.get(principal.project_id, parent["evaluation_id"])
            for key in (ref.get("version_id"), ref.get("path"), ref.get("id")):
                found = find_evaluator(ev, str(key)) if key else None
                if found is not None:
                    return evaluator_out(found)
    named = ref.get("path") or ref.get("id") or ref.get("version_id")
    raise NotFound(f"evaluator {named} not found" if named else "give the evaluator's version_id, id or path")


def _waiting_for(ev: Evaluation, judgments: dict[str, Any]) -> list[Evaluator]:
    return [
        e
        for e in ev.evaluators
        if e.assertion is None and e.evaluator_type != "human" and e.version_id not in judgments
    ]


def _target(principal: Principal, run: Run, datapoint_id: Any) -> Any:
    hl = run.metadata.get("humanloop")
    if not isinstance(hl, dict) or not hl.get("hlDatasetId") or datapoint_id is None:
        return None
    try:
        version = container().humanloop.get_dataset_version(
            principal.project_id, hl["hlDatasetId"], hl["hlDatasetVersionId"]
        )
    except NotFound:
        return None
    return next((d.get("target") for d in version["datapoints"] if d["id"] == datapoint_id), None)


def inline_log(log: dict[str, Any], judgments: dict[str, dict[str, Any]], target: Any) -> dict[str, Any]:
    """A stored log as the inline log services/humanloop/logs.py counts (judgments by evaluator version)."""
    values: dict[str, Any] = {}
    for version_id, j in judgments.items():
        values[version_id] = {"error": j["error"]} if j.get("error") else j.get("judgment")
    if isinstance(target, dict) and set(target) == {"output"}:
        target = target["output"]
    latency = None
    if log.get("provider_latency") is not None:
        latency = float(log["provider_latency"]) * 1000
    return {
        "id": log["id"],
        "datapoint_id": log.get("source_datapoint_id"),
        "inputs": log.get("inputs") or {},
        "output": log.get("output"),
        "target": target,
        "judgments": values,
        "error": log.get("error"),
        "latency_ms": latency,
        "cost": log.get("cost"),
        "prompt_tokens": log.get("prompt_tokens"),
        "output_tokens": log.get("output_tokens"),
    }


def count_log(principal: Principal, log_id: str) -> None:
    """Count a run's log into its evalgate run once no external judgment is awaited (an errored log waits
    for none); complete the run when every datapoint has its log."""
    # lazy: sibling services, loaded on the path that calls them (cold start)
    from evalgate.services.humanloop import logs, runs

    c = container()
    log, judgments = c.humanloop.get_log(principal.project_id, log_id)
    if log.get("counted") or log.get("run_id") is None or log.get("evaluation_id") is None:
        return
    try:
        ev = c.evaluations.get(principal.project_id, log["evaluation_id"])
        run = c.runs.get_run(principal.project_id, int(log["run_id"]))
    except NotFound:
        return
    if log.get("error") is None and _waiting_for(ev, judgments):
        return
    inline = inline_log(log, judgments, _target(principal, run, log.get("source_datapoint_id")))
    if run.status not in OPEN:
        logger.info("log arrived after its run ended", run_id=run.id, log_id=log_id)
        return
    logs.add_logs(principal, ev.id, str(run.id), log_ids=None, logs=[inline], idempotency_key=None)
    c.humanloop.set_log_fields(principal.project_id, log_id, {"counted": True})
    run = c.runs.get_run(principal.project_id, run.id)
    hl = run.metadata.get("humanloop")
    expected = hl.get("datapoints") if isinstance(hl, dict) else None
    if isinstance(expected, int) and run.aggregates.done >= expected and run.status in OPEN:
        with contextlib.suppress(Conflict):  # another log completed it meanwhile
            runs.finish(principal, run, "completed")


def count_late_judgments(principal: Principal, log_id: str) -> int:
    """Judgments of a counted log that its counted result does not carry (they arrived after it was counted:
    a person's, typically) go to the run's per-scorer figures, each (log, evaluator) pair once
    (`RunStore.count_late_judgment`). Safe to call again: a retry adds nothing. Returns how many moved now."""
    c = container()
    log, judgments = c.humanloop.get_log(principal.project_id, log_id)
    if not judgments or not log.get("counted") or log.get("run_id") is None or log.get("evaluation_id") is None:
        return 0
    try:
        ev = c.evaluations.get(principal.project_id, log["evaluation_id"])
    except NotFound:
        return 0
    # lazy: a sibling module, loaded on the path that calls it (cold start)
    from evalgate.services.humanloop.evaluations import find_evaluator

    moved = 0
    for version_id, j in sorted(judgments.items()):
        evaluator = find_evaluator(ev, version_id)
        if evaluator is None:  # an evaluator the evaluation does not have: no scorer of its runs
            continue
        value = {"error": j["error"]} if j.get("error") else j.get("judgment")
        try:
            moved += c.runs.count_late_judgment(
                principal.project_id, int(log["run_id"]), str(log["id"]), evaluator.name, value
            )
        except InvalidInput as exc:  # a number the aggregates cannot hold: kept on the log, not counted
            logger.warning("late judgment not counted", log_id=log_id, reason=exc.message)
        except NotFound:
            return moved
    return moved


def resolve_logs(principal: Principal, ev: Evaluation, run: Run, log_ids: list[str]) -> list[dict[str, Any]]:
    """add_logs_to_run's `log_ids` as inline logs; an unknown id (or another project's) is a 404 naming it."""
    c = container()
    out = []
    for log_id in log_ids:
        try:
            log, judgments = c.humanloop.get_log(principal.project_id, log_id)
        except NotFound as exc:
            raise NotFound(f"log {log_id} not found") from exc
        if log.get("kind") not in ("prompt", "flow"):
            raise SchemaViolation(f"log {log_id} is an evaluator's log: add the logs it judges", field="log_ids")
        c.humanloop.set_log_fields(
            principal.project_id, log_id, {"run_id": run.id, "evaluation_id": ev.id, "counted": True}
        )
        out.append(inline_log(log, judgments, _target(principal, run, log.get("source_datapoint_id"))))
    return out


def get_log(principal: Principal, log_id: str) -> dict[str, Any]:
    """Humanloop's PromptLogResponse (or EvaluatorLogResponse) of a stored log, with its evaluator logs."""
    c = container()
    log, judgments = c.humanloop.get_log(principal.project_id, log_id)
    if log.get("kind") == "evaluator":
        return _evaluator_log_out(log)
    try:
        prompt = get_prompt(principal, str(log["prompt_id"]), str(log["version_id"]))
    except NotFound:
        prompt = None
    if prompt is None:  # the prompt was deleted: the log still names it
        prompt = {
            **prompt_response_stub(),
            "id": str(log["prompt_id"]),
            "version_id": str(log["version_id"]),
        }
    return {
        **{k: log.get(k) for k in _KEPT},
        "id": log["id"],
        file_key(prompt): prompt,
        "created_at": log.get("created_at"),
        "run_id": None if log.get("run_id") is None else str(log["run_id"]),
        "evaluator_logs": [_evaluator_log_out(j) for j in judgments.values()],
    }


def _evaluator_log_out(j: dict[str, Any]) -> dict[str, Any]:
    judgment = j.get("judgment")
    return {
        "id": j["id"],
        "parent_id": j.get("parent_id"),
        "evaluator": j["evaluator"],
        "judgment": judgment if isinstance(judgment, bool | int | float | str | list) else None,
        "error": j.get("error"),
        "start_time": j.get("start_time"),
        "end_time": j.get("end_time"),
        "created_at": j.get("created_at"),
        "log_status": j.get("log_status"),
        "marked_completed": j.get("marked_completed"),
        "evaluator_logs": [],
    }


def prompt_response_stub() -> dict[str, Any]:
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.models.domain import Prompt

    now = utcnow()
    return prompt_response(Prompt(id=0, project_id="-", name="(deleted prompt)", created_at=now, updated_at=now), None)


__all__ = ["create_evaluator_log", "create_prompt_log", "file_id_of", "get_log", "resolve_logs"]
