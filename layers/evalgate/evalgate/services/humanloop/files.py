"""The slice of Humanloop's file API that its SDK's `evaluations.run()` touches, on evalgate's entities:
prompts are evalgate prompts (path = name, version_id = version number), datasets and evaluators are /v5
files (store/hl_files.py; a dataset's datapoints become a run's cases), logs are kept with their judgments
and counted into the evalgate run they belong to (services/humanloop/logs.py)."""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any

from evalgate.errors import Conflict, InvalidInput, NotFound
from evalgate.models.domain import ModelConfig, Principal, Prompt, PromptVersion
from evalgate.models.evaluations import Evaluator
from evalgate.services.container import container, utcnow
from evalgate.services.humanloop.common import all_prompts, digest

MAX_DATAPOINTS = 1000
MAX_DATASET_BYTES = 350_000  # one item (DynamoDB's 400 KB) holds a version's datapoints
EVALUATOR_TYPES = ("llm", "python", "human", "external")


def _iso(value: datetime | None) -> str:
    return (value or utcnow()).isoformat()


def file_id_of(kind: str, path: str) -> str:
    return f"{kind}_{digest('file:' + path)}"


def evaluator_version_id_of(path: str) -> str:
    return f"evv_{digest('version:' + path)}"


# -- prompts --------------------------------------------------------------------------------------------
FLOW_MODEL = "flow"  # the model name of a flow's versions (a flow is never executed by evalgate)


def is_flow(version: PromptVersion | None) -> bool:
    """A Humanloop flow is an evalgate prompt whose versions carry the flow's attributes (no template)."""
    return version is not None and (version.settings.model_extra or {}).get("hl_type") == "flow"


def file_key(response: dict[str, Any]) -> str:
    """The key a log names its file under: `flow` for a FlowResponse, else `prompt`."""
    return "flow" if response.get("type") == "flow" else "prompt"


def flow_response(prompt: Prompt, version: PromptVersion) -> dict[str, Any]:
    """Humanloop's FlowResponse for a prompt that holds a flow."""
    attributes = (version.settings.model_extra or {}).get("attributes")
    return {
        "path": prompt.name,
        "id": str(prompt.id),
        "name": prompt.name.rstrip("/").rsplit("/", 1)[-1] or prompt.name,
        "type": "flow",
        "version_id": str(version.version_no),
        "version_name": f"v{version.version_no}",
        "version_description": version.message or None,
        "attributes": attributes if isinstance(attributes, dict) else {},
        "description": prompt.description or None,
        "created_at": _iso(version.created_at),
        "updated_at": _iso(prompt.updated_at),
        "last_used_at": _iso(prompt.updated_at),
        "version_logs_count": 0,
        "evaluator_aggregates": None,
    }


def prompt_response(prompt: Prompt, version: PromptVersion | None) -> dict[str, Any]:
    """Humanloop's PromptResponse for one of our prompts at a version (its latest when none is asked); a
    prompt that holds a flow answers as Humanloop's FlowResponse."""
    if version is not None and is_flow(version):
        return flow_response(prompt, version)
    settings = version.settings if version else ModelConfig()
    extra = settings.model_extra or {}
    return {
        "path": prompt.name,
        "id": str(prompt.id),
        "name": prompt.name.rstrip("/").rsplit("/", 1)[-1] or prompt.name,
        "type": "prompt",
        "version_id": str(version.version_no) if version else "0",
        "version_name": f"v{version.version_no}" if version else None,
        "model": settings.model,
        "provider": settings.provider,
        "endpoint": "chat",
        "template": version.template if version else None,
        "template_language": "default",
        "temperature": settings.temperature,
        "max_tokens": settings.max_tokens,
        "top_p": settings.top_p,
        "stop": extra.get("stop"),
        "description": prompt.description or None,
        "created_at": _iso(version.created_at if version else prompt.created_at),
        "updated_at": _iso(prompt.updated_at),
        "last_used_at": _iso(prompt.updated_at),
        "version_logs_count": 0,
        "total_logs_count": 0,
        "inputs": [{"name": v} for v in (version.variables if version else [])],
        "evaluator_aggregates": None,
    }


def _prompt_by_path(principal: Principal, path: str) -> Prompt | None:
    matches = [p for p in all_prompts(principal) if p.name == path]
    if len(matches) > 1:
        raise Conflict(f"{len(matches)} prompts are named {path!r}: address the prompt by id")
    return matches[0] if matches else None


def _latest(principal: Principal, prompt: Prompt) -> PromptVersion | None:
    if not prompt.latest_version:
        return None
    return container().prompts.get_version(principal.project_id, prompt.id, prompt.latest_version)


def get_prompt(principal: Principal, prompt_id: str, version_id: str | None) -> dict[str, Any]:
    if not prompt_id.isdigit() or len(prompt_id) > 16:
        raise NotFound(f"prompt {prompt_id} not found")
    c = container()
    prompt = c.prompts.get_prompt(principal.project_id, int(prompt_id))
    if version_id is not None:
        if not version_id.isdigit() or len(version_id) > 9:
            raise NotFound(f"version {version_id} of prompt {prompt_id} not found")
        return prompt_response(prompt, c.prompts.get_version(principal.project_id, prompt.id, int(version_id)))
    return prompt_response(prompt, _latest(principal, prompt))


def _template_text(template: Any) -> str:
    """Humanloop's template is a string or chat messages; evalgate's is one string (messages are joined)."""
    if isinstance(template, str):
        return template
    parts = []
    for m in template or []:
        content = m.get("content") if isinstance(m, dict) else None
        if isinstance(content, list):
            content = "".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
        if content:
            parts.append(str(content))
    return "\n\n".join(parts)


def _upsert_target(principal: Principal, body: dict[str, Any], kind: str) -> Prompt | None:
    """The evalgate prompt an upsert names by `id` (it must exist) or by `path` (None when it is new)."""
    if body.get("id") is not None:
        return container().prompts.get_prompt(principal.project_id, _int_id(str(body["id"]), kind))
    if body.get("path"):
        return _prompt_by_path(principal, str(body["path"]))
    raise InvalidInput(f"give the {kind}'s path or id", field="path")


def upsert_prompt(principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """A prompt by path (created when new) and a new version when the template or the model settings differ
    from its latest version (Humanloop's upsert)."""
    # lazy: a sibling service, loaded on the path that calls it (cold start)
    from evalgate.services import prompts as prompt_service

    c = container()
    prompt = _upsert_target(principal, body, "prompt")
    settings_raw: dict[str, Any] = {"model": body["model"]}
    for key in ("provider", "temperature", "max_tokens", "top_p"):
        if body.get(key) is not None:
            settings_raw[key] = body[key]
    if body.get("stop") is not None:
        settings_raw["stop"] = body["stop"]
    try:
        settings = ModelConfig.model_validate(settings_raw)
    except ValueError as exc:
        raise InvalidInput(f"the model settings are not valid: {exc}", field="model") from exc
    template = _template_text(body.get("template"))
    if prompt is None:
        prompt, version = prompt_service.create_prompt(
            principal, str(body["path"]), str(body.get("version_description") or ""), template, settings
        )
        return prompt_response(prompt, version)
    latest = _latest(principal, prompt)
    if latest is not None and latest.template == template and latest.settings == settings:
        return prompt_response(prompt, latest)
    version = prompt_service.create_version(
        principal, prompt.id, template, settings, str(body.get("version_description") or "")
    )
    prompt = c.prompts.get_prompt(principal.project_id, prompt.id)
    return prompt_response(prompt, version)


def upsert_flow(principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """A flow by path (an evalgate prompt, created when new) and a new version when its attributes differ from
    its latest version's (Humanloop's flow upsert). A flow's logs come from the caller's own code: evalgate never
    runs it."""
    # lazy: a sibling service, loaded on the path that calls it (cold start)
    from evalgate.services import prompts as prompt_service

    c = container()
    prompt = _upsert_target(principal, body, "flow")
    attributes = body.get("attributes") or {}
    settings = ModelConfig.model_validate(
        {"provider": "external", "model": FLOW_MODEL, "hl_type": "flow", "attributes": attributes}
    )
    message = str(body.get("version_description") or "")
    latest = _latest(principal, prompt) if prompt is not None else None
    if prompt is not None and latest is not None and not is_flow(latest):
        raise Conflict(f"{prompt.name!r} is a prompt, not a flow", field="path")
    if prompt is None:
        prompt, version = prompt_service.create_prompt(principal, str(body["path"]), message, "", settings)
        assert version is not None
        return flow_response(prompt, version)
    if latest is not None and latest.settings == settings:
        return flow_response(prompt, latest)
    version = prompt_service.create_version(principal, prompt.id, "", settings, message)
    prompt = c.prompts.get_prompt(principal.project_id, prompt.id)
    return flow_response(prompt, version)


def get_flow(principal: Principal, flow_id: str, version_id: str | None) -> dict[str, Any]:
    out = get_prompt(principal, flow_id, version_id)
    if out.get("type") != "flow":
        raise NotFound(f"flow {flow_id} not found")
    return out


def _int_id(raw: str, what: str) -> int:
    if not raw.isdigit() or len(raw) > 16:
        raise NotFound(f"{what} {raw} not found")
    return int(raw)


# -- datasets --------------------------------------------------------------------------------------------
def _datapoint(raw: dict[str, Any]) -> dict[str, Any]:
    point = {
        "inputs": raw.get("inputs") or {},
        "messages": raw.get("messages"),
        "target": raw.get("target"),
    }
    return {"id": "dp_" + digest(json.dumps(point, sort_keys=True, default=str)), **point}


def dataset_response(file: dict[str, Any], version: dict[str, Any], with_datapoints: bool) -> dict[str, Any]:
    out = {
        "path": file["path"],
        "id": file["id"],
        "name": file["path"].rstrip("/").rsplit("/", 1)[-1] or file["path"],
        "type": "dataset",
        "version_id": version["version_id"],
        "version_name": version.get("version_name"),
        "description": file.get("description"),
        "created_at": version["created_at"],
        "updated_at": file["updated_at"],
        "last_used_at": file["updated_at"],
        "datapoints_count": len(version["datapoints"]),
        "datapoints": version["datapoints"] if with_datapoints else None,
    }
    return out


def upsert_dataset(principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """A dataset by path; `action` set (the default: the datapoints are the new version's), add (appended)
    or remove. A version is its content: the same datapoints make the same version id."""
    c = container()
    path = body.get("path")
    if body.get("id") is not None:
        file = c.humanloop.get_file(principal.project_id, str(body["id"]))
        path = file["path"]
    if not path:
        raise InvalidInput("give the dataset's path or id", field="path")
    file_id = file_id_of("ds", str(path))
    try:
        file = c.humanloop.get_file(principal.project_id, file_id)
    except NotFound:
        file = {"id": file_id, "path": path, "type": "dataset", "version_id": None, "created_at": _iso(None)}
    current: list[dict[str, Any]] = []
    if file.get("version_id"):
        current = c.humanloop.get_dataset_version(principal.project_id, file_id, file["version_id"])["datapoints"]
    incoming = [_datapoint(d) for d in body.get("datapoints") or []]
    action = body.get("action") or "set"
    if action == "set":
        points = incoming
    elif action == "add":
        known = {d["id"] for d in current}
        points = current + [d for d in incoming if d["id"] not in known]
    else:  # remove
        gone = {d["id"] for d in incoming}
        points = [d for d in current if d["id"] not in gone]
    unique: dict[str, dict[str, Any]] = {}
    for d in points:
        unique.setdefault(d["id"], d)
    points = list(unique.values())
    if len(points) > MAX_DATAPOINTS:
        raise InvalidInput(f"a dataset holds at most {MAX_DATAPOINTS} datapoints", field="datapoints")
    content = json.dumps(points, sort_keys=True, default=str)
    if len(content) > MAX_DATASET_BYTES:
        raise InvalidInput(f"a dataset's datapoints take at most {MAX_DATASET_BYTES} bytes", field="datapoints")
    version_id = "dsv_" + digest(content)
    now = _iso(None)
    if version_id != file.get("version_id"):
        version = {
            "version_id": version_id,
            "version_name": body.get("version_name"),
            "datapoints": points,
            "created_at": now,
        }
        c.humanloop.put_dataset_version(principal.project_id, file_id, version_id, version)
    else:
        version = c.humanloop.get_dataset_version(principal.project_id, file_id, version_id)
    file = {**file, "version_id": version_id, "updated_at": now, "description": body.get("version_description")}
    c.humanloop.put_file(principal.project_id, file_id, file)
    return dataset_response(file, version, with_datapoints=False)


def get_dataset(
    principal: Principal, dataset_id: str, version_id: str | None, include_datapoints: bool
) -> dict[str, Any]:
    c = container()
    file = c.humanloop.get_file(principal.project_id, dataset_id)
    if file.get("type") != "dataset":
        raise NotFound(f"dataset {dataset_id} not found")
    version = c.humanloop.get_dataset_version(principal.project_id, dataset_id, version_id or file["version_id"])
    return dataset_response(file, version, with_datapoints=include_datapoints)


def dataset_version(principal: Principal, ref: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """A run's `dataset` when it names a /v5 dataset (version_id `dsv_…`, id `ds_…`, or the path of one): its
    file and version; None when it names one of evalgate's own datasets (by number or name)."""
    c = container()
    version_id, file_id, path = ref.get("version_id"), ref.get("id"), ref.get("path")
    if file_id is None and path:
        try:
            file = c.humanloop.get_file(principal.project_id, file_id_of("ds", str(path)))
        except NotFound:
            return None
    elif file_id is not None:
        if not str(file_id).startswith("ds_"):
            return None
        try:
            file = c.humanloop.get_file(principal.project_id, str(file_id))
        except NotFound as exc:
            raise InvalidInput(f"dataset {file_id} not found", field="dataset.id") from exc
    elif str(version_id or "").startswith("dsv_"):
        found = c.humanloop.find_dataset_version(principal.project_id, str(version_id))
        if found is None:
            raise InvalidInput(f"dataset version {version_id} not found", field="dataset.version_id")
        return c.humanloop.get_file(principal.project_id, found[0]), found[1]
    else:
        return None
    try:
        version = c.humanloop.get_dataset_version(principal.project_id, file["id"], version_id or file["version_id"])
    except NotFound as exc:
        raise InvalidInput(f"dataset {file['path']!r} has no version {version_id}", field="dataset.version_id") from exc
    return file, version


# -- evaluators -------------------------------------------------------------------------------------------
def evaluator_response(file: dict[str, Any]) -> dict[str, Any]:
    spec = dict(file["spec"])
    if spec.get("evaluator_type") == "python" and spec.get("code") is None:
        spec["code"] = ""
    if spec.get("evaluator_type") == "llm" and spec.get("prompt") is None:
        spec["prompt"] = None
    return {
        "path": file["path"],
        "id": file["id"],
        "name": file["path"].rstrip("/").rsplit("/", 1)[-1] or file["path"],
        "type": "evaluator",
        "version_id": file["version_id"],
        "spec": spec,
        "created_at": file["created_at"],
        "updated_at": file["updated_at"],
        "last_used_at": file["updated_at"],
        "version_logs_count": 0,
        "total_logs_count": 0,
        "inputs": [],
    }


def upsert_evaluator(principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
    """An evaluator file by path with Humanloop's spec (`evaluator_type` llm, python, human or external).
    evalgate runs an evaluator that carries an evalgate `assertion` in its spec (an extension field); its
    evaluator_type says how Humanloop would have run it. External and human ones are judged through
    evaluators/log."""
    # lazy: loaded only on the code paths that need it (cold start)
    from evalgate.scoring.assertions import normalize_assertion

    c = container()
    path = body.get("path")
    if body.get("id") is not None:
        path = c.humanloop.get_file(principal.project_id, str(body["id"]))["path"]
    if not path:
        raise InvalidInput("give the evaluator's path or id", field="path")
    spec = dict(body["spec"])
    if spec.get("assertion") is not None:
        name = str(path).rstrip("/").rsplit("/", 1)[-1] or str(path)
        normalize_assertion({**spec["assertion"], "metric": name[:200]}, "spec.assertion")
    elif spec.get("evaluator_type") in ("llm", "python"):
        raise InvalidInput(
            "evalgate does not run Humanloop's code or LLM evaluators: give the evalgate assertion to run in "
            'spec.assertion (e.g. {"type": "contains", "value": "x"}), or use evaluator_type external',
            field="spec.assertion",
        )
    file_id = file_id_of("ev", str(path))
    now = _iso(None)
    try:
        created = c.humanloop.get_file(principal.project_id, file_id)["created_at"]
    except NotFound:
        created = now
    file = {
        "id": file_id,
        "path": path,
        "type": "evaluator",
        "version_id": evaluator_version_id_of(str(path)),
        "spec": spec,
        "created_at": created,
        "updated_at": now,
    }
    c.humanloop.put_file(principal.project_id, file_id, file)
    return evaluator_response(file)


def stored_evaluator(principal: Principal, ref: dict[str, Any]) -> dict[str, Any] | None:
    """The evaluator file a reference names (by path, id or version id), if one was upserted."""
    c = container()
    path = ref.get("path")
    file_id = ref.get("id")
    if file_id is None and path is not None:
        file_id = file_id_of("ev", str(path))
    if file_id is None and ref.get("version_id"):
        return None
    try:
        file = c.humanloop.get_file(principal.project_id, str(file_id))
    except NotFound:
        return None
    return file if file.get("type") == "evaluator" else None


# -- files by path ----------------------------------------------------------------------------------------
def retrieve_by_path(principal: Principal, path: str) -> dict[str, Any]:
    prompt = _prompt_by_path(principal, path)
    if prompt is not None:
        return prompt_response(prompt, _latest(principal, prompt))
    c = container()
    for kind in ("ds", "ev"):
        try:
            file = c.humanloop.get_file(principal.project_id, file_id_of(kind, path))
        except NotFound:
            continue
        if kind == "ds":
            version = c.humanloop.get_dataset_version(principal.project_id, file["id"], file["version_id"])
            return dataset_response(file, version, with_datapoints=False)
        return evaluator_response(file)
    raise NotFound(f"no file at path {path!r}")


def new_log_id() -> str:
    return "log_" + secrets.token_hex(12)


def humanloop_evaluator_type(e: Evaluator) -> str:
    """Humanloop's evaluator_type of an evaluation's evaluator: an evalgate assertion that needs a judge model
    is "llm", any other assertion "python" (code evalgate runs); without one, the type its file was upserted
    with (external or human), else external."""
    if e.assertion is not None:
        # lazy: loaded only on the code paths that need it (cold start)
        from evalgate.scoring import TYPES

        kind = TYPES.get(str(e.assertion.get("type")))
        return "llm" if kind is not None and kind.judge else "python"
    return e.evaluator_type or "external"


def evaluator_out(e: Evaluator) -> dict[str, Any]:
    """An evaluation's evaluator as Humanloop's EvaluatorResponse (the assertion is an evalgate extension)."""
    evaluator_type = humanloop_evaluator_type(e)
    spec: dict[str, Any] = {
        "arguments_type": "target_free",
        "return_type": "number" if e.assertion is not None else "boolean",
        "evaluator_type": evaluator_type,
        "assertion": e.assertion,
    }
    if evaluator_type == "python":
        spec["code"] = ""
    return evaluator_response(
        {
            "id": e.file_id,
            "path": e.path,
            "version_id": e.version_id,
            "spec": spec,
            "created_at": e.added_at.isoformat(),
            "updated_at": e.added_at.isoformat(),
        }
    )


def stub_evaluator(name: str) -> dict[str, Any]:
    """A judgment's evaluator that the evaluation no longer has."""
    now = _iso(None)
    return evaluator_response(
        {
            "id": file_id_of("ev", name),
            "path": name,
            "version_id": evaluator_version_id_of(name),
            "spec": {"arguments_type": "target_free", "return_type": "number", "evaluator_type": "external"},
            "created_at": now,
            "updated_at": now,
        }
    )
