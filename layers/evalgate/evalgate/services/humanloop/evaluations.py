"""Evaluations and their evaluators (/v5/evaluations, …/evaluators)."""

from __future__ import annotations

import json
from typing import Any

from evalgate.errors import Conflict, InvalidInput, NotFound
from evalgate.models.domain import (
    Principal,
)
from evalgate.models.evaluations import Evaluation, Evaluator
from evalgate.observability import logger
from evalgate.services.container import container, utcnow
from evalgate.services.humanloop.common import (
    MAX_ASSERTION_BYTES,
    MAX_EVALUATORS,
    digest,
    new_evaluation_id,
    parse_evaluation_id,
    prompt_of_file,
)


# -- evaluations ---------------------------------------------------------------------------------------
def create_evaluation(
    principal: Principal, *, file: dict[str, Any], name: str | None, evaluators: list[dict[str, Any]]
) -> Evaluation:
    c = container()
    prompt = prompt_of_file(principal, file)
    now = utcnow()
    resolved = _merge_evaluators([], [_with_file(principal, r) for r in evaluators], now)
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
        merged = _merge_evaluators(ev.evaluators, [_with_file(principal, r) for r in evaluators], utcnow())
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
        target = find_evaluator(ev, evaluator_version_id)
        if target is None:
            raise NotFound(f"evaluator {evaluator_version_id} not found in evaluation {evaluation_id}")
        kept = [e for e in ev.evaluators if e.version_id != target.version_id]
        try:
            return c.evaluations.set_evaluators(ev, kept, utcnow())
        except Conflict:
            continue
    raise Conflict("the evaluation's evaluators keep changing; retry")


def find_evaluator(ev: Evaluation, ref: str) -> Evaluator | None:
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


def _with_file(principal: Principal, ref: dict[str, Any]) -> dict[str, Any]:
    """A reference to an evaluator file upserted through /v5/evaluators takes the file's spec: its evalgate
    assertion (evalgate runs it), or none (external and human evaluators are judged through evaluators/log)."""
    # lazy: a sibling module, loaded on the path that calls it (cold start)
    from evalgate.services.humanloop.files import stored_evaluator

    if ref.get("assertion") is not None:
        return ref
    stored = stored_evaluator(principal, ref)
    if stored is None:
        return ref
    spec = stored["spec"]
    out = {**ref, "path": stored["path"], "version_id": stored["version_id"], "id": stored["id"]}
    if spec.get("assertion") is not None:
        out["assertion"] = spec["assertion"]
    else:
        out["orchestrated"] = False
        out["evaluator_type"] = spec.get("evaluator_type")
    return out


def builtin_type(name: str) -> bool:
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
    if assertion is None and orchestrated is not False and builtin_type(name):
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
        version_id=ref.get("version_id") or f"evv_{digest('version:' + path)}",
        file_id=ref.get("id") or f"ev_{digest('file:' + path)}",
        path=path,
        name=name,
        orchestrated=assertion is not None,
        assertion=assertion,
        added_at=now,
        evaluator_type=ref.get("evaluator_type") if assertion is None else None,
    )
