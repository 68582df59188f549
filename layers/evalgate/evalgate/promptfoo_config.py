"""A promptfoo config (promptfooconfig.yaml) read as it is and turned into evalgate objects (a plan; no I/O
beyond reading the config's files, and none at all for an inlined config).

    plan = load_plan(Path("promptfooconfig.yaml"))          # the CLI, with the config's files at hand
    inlined = inline_files(config, base_dir)                 # every file:// reference replaced by its content
    plan = build_plan(inlined, None)                         # the API: the same plan, no file access

What is read: `description`, `prompts` (inline strings, {raw, label}, file:// text files, with `---` between
several prompts of one file), `providers` (strings or {id, label, config}), `tests` (inline, or file:// CSV,
JSON, JSON Lines or YAML files, or a list mixing them), `defaultTest` (vars, assert, options, threshold),
`vars` values that are file:// references (text, or parsed JSON/YAML), array vars (expanded into one test per
combination, as promptfoo does), CSV columns `__expected<N>`, `__description`, `__threshold`, `__metric`,
assertion `threshold`, `weight`, `metric`, and `options.provider` as the grading judge. Anything evalgate
cannot honour (a JavaScript/Python assertion or transform, an unmappable provider, a chat-JSON prompt) is a
PromptfooConfigError naming it: a config never runs differently from what it says.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_TESTS = 1000


class PromptfooConfigError(Exception):
    """The config cannot be imported as it is; the message names the spot."""


@dataclass
class PromptSpec:
    label: str
    template: str


@dataclass
class ProviderSpec:
    label: str  # as written in the config (promptfoo's provider id or label)
    model_config: dict[str, Any]  # evalgate ModelConfig: provider, model, temperature, ...


@dataclass
class TestSpec:
    name: str
    variables: dict[str, Any]
    assertions: list[dict[str, Any]]
    threshold: float | None = None
    description: str = ""


@dataclass
class Plan:
    name: str
    description: str
    prompts: list[PromptSpec]
    providers: list[ProviderSpec]
    tests: list[TestSpec]
    judge: dict[str, Any] | None = None  # {provider, model} from options.provider
    warnings: list[str] = field(default_factory=list)


# --- providers ---------------------------------------------------------------------------------------------

_MODEL_KEYS = {"temperature": "temperature", "max_tokens": "max_tokens", "top_p": "top_p"}
_DROPPED_KEYS = ("apiKey", "apiKeyEnvar", "apiBaseUrl", "apiHost", "organization")  # evalgate's settings own these
# structured API parameters passed to the model as they are (scalars always are)
_STRUCTURED_KEYS = ("response_format", "tools", "tool_choice", "stop", "logit_bias", "functions", "function_call")


def map_provider(raw: Any, where: str) -> ProviderSpec:
    """promptfoo provider id → evalgate model config. `openai:[chat:]<model>`, `anthropic:[messages:]<model>`,
    `bedrock:[converse:]<model>`, `echo`, and `evalgate:<provider>:<model>` for evalgate's own providers
    (e.g. the offline `scripted`)."""
    config: dict[str, Any] = {}
    if isinstance(raw, str):
        provider_id, label = raw, raw
    elif isinstance(raw, dict) and isinstance(raw.get("id"), str):
        provider_id, label = raw["id"], str(raw.get("label") or raw["id"])
        config = raw.get("config") or {}
        if not isinstance(config, dict):
            raise PromptfooConfigError(f"{where}.config must be a mapping")
    elif isinstance(raw, dict) and len(raw) == 1 and isinstance(next(iter(raw.values())), dict):
        provider_id = next(iter(raw))
        body = raw[provider_id]
        label, config = str(body.get("label") or provider_id), body.get("config") or {}
    else:
        raise PromptfooConfigError(f"{where}: a provider is an id string or {{id, label, config}}")
    parts = provider_id.split(":")
    if provider_id == "echo":
        provider, model = "echo", "echo"
    elif parts[0] == "evalgate" and len(parts) >= 3:
        provider, model = parts[1], ":".join(parts[2:])
    elif parts[0] in ("openai", "anthropic", "bedrock") and len(parts) >= 2:
        rest = parts[1:]
        if rest[0] in ("chat", "messages", "converse", "completion") and len(rest) > 1:
            rest = rest[1:]
        provider, model = parts[0], ":".join(rest)
        if parts[0] == "openai" and parts[1] in ("embedding", "embeddings", "assistant", "image", "realtime"):
            raise PromptfooConfigError(f"{where}: provider '{provider_id}' is not a chat model evalgate can run")
    else:
        raise PromptfooConfigError(
            f"{where}: provider '{provider_id}' has no evalgate counterpart; use openai:<model>, "
            "anthropic:<model>, bedrock:<model>, echo, or evalgate:<provider>:<model>"
        )
    model_config: dict[str, Any] = {"provider": provider, "model": model}
    for key, value in config.items():
        if key in _MODEL_KEYS:
            model_config[_MODEL_KEYS[key]] = value
        elif key in _DROPPED_KEYS:
            continue  # secrets and endpoints come from evalgate's own settings, never from the config
        elif isinstance(value, str | int | float | bool) or value is None or key in _STRUCTURED_KEYS:
            model_config[key] = value
        else:  # e.g. transformResponse, functionToolCallbacks: promptfoo-side behaviour evalgate cannot run
            raise PromptfooConfigError(f"{where}.config.{key}: provider option '{key}' is not supported by evalgate")
    return ProviderSpec(label=label, model_config=model_config)


# --- files ---------------------------------------------------------------------------------------------------


def _path(ref: str, base: Path | None, where: str) -> Path:
    if base is None:
        raise PromptfooConfigError(
            f"{where}: {ref!r} is a file reference; the API takes configs with their files inlined "
            "(`evalgate import promptfoo` does it)"
        )
    path = (base / ref.removeprefix("file://")).resolve()
    if not path.is_file():
        raise PromptfooConfigError(f"{where}: file {ref!r} not found (relative to {base})")
    return path


def _load_data(path: Path, where: str) -> Any:
    # lazy: PyYAML loads only when a YAML document is read (cold start)
    import yaml

    text = path.read_text(encoding="utf-8-sig")
    suffix = path.suffix.lower()
    try:
        if suffix == ".json":
            return json.loads(text)
        if suffix == ".jsonl":
            return [json.loads(line) for line in text.splitlines() if line.strip()]
        if suffix in (".yaml", ".yml"):
            return yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as err:
        raise PromptfooConfigError(f"{where}: {path.name} is not valid {suffix[1:].upper()}: {err}") from err
    return text


def _var_value(value: Any, base: Path | None, where: str) -> Any:
    if isinstance(value, str) and value.startswith("file://"):
        path = _path(value, base, where)
        if path.suffix.lower() in (".js", ".cjs", ".mjs", ".ts", ".py"):
            raise PromptfooConfigError(f"{where}: a var computed by code ({value}) is not supported")
        return _load_data(path, where)
    return value


# --- prompts -------------------------------------------------------------------------------------------------


def _prompts(raw: Any, base: Path | None) -> list[PromptSpec]:
    items = raw if isinstance(raw, list) else [raw]
    out: list[PromptSpec] = []
    for i, item in enumerate(items):
        where = f"prompts[{i}]"
        label = None
        if isinstance(item, dict):
            label = item.get("label") or item.get("id")
            item = item.get("raw", item.get("id"))
        if not isinstance(item, str) or not item.strip():
            raise PromptfooConfigError(f"{where}: a prompt is a string, a file:// path or {{raw, label}}")
        if item.startswith("file://"):
            path = _path(item, base, where)
            if path.suffix.lower() not in (".txt", ".md", ".j2", ".nunjucks", ".prompt", ""):
                raise PromptfooConfigError(f"{where}: {path.name}: only text prompt files are supported")
            texts = [t.strip() for t in re.split(r"\n-{3,}\n", path.read_text(encoding="utf-8"))]
            for j, text in enumerate(t for t in texts if t):
                name = label or (path.name if len(texts) == 1 else f"{path.name}:{j + 1}")
                out.append(PromptSpec(label=str(name), template=text))
        else:
            out.append(PromptSpec(label=str(label or _short(item)), template=item))
    if not out:
        raise PromptfooConfigError("prompts: the config has no prompt")
    return out


def _short(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# --- assertions ----------------------------------------------------------------------------------------------

_ASSERT_KEYS = {"type", "value", "threshold", "weight", "metric", "description"}
_SHORTHAND = re.compile(r"^(not-)?([a-z][a-z0-9-]*)(?:\((\d+(?:\.\d+)?)\))?(?::([\s\S]*))?$")
_LIST_TYPES = {"contains-all", "contains-any", "icontains-all", "icontains-any"}


def _assertion(raw: Any, where: str, base: Path | None) -> dict[str, Any]:
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise PromptfooConfigError(f"{where}: an assertion needs a type")
    kind = raw["type"]
    base_kind = kind.removeprefix("not-")
    if base_kind in ("javascript", "python", "ruby", "webhook") or base_kind == "assert-set":
        raise PromptfooConfigError(f"{where}: '{kind}' assertions are not supported (evalgate runs no user code)")
    for key in raw:
        if key not in _ASSERT_KEYS:
            raise PromptfooConfigError(f"{where}.{key}: assertion option '{key}' is not supported by evalgate")
    out = {k: v for k, v in raw.items() if k in _ASSERT_KEYS and v is not None}
    if isinstance(out.get("value"), str) and out["value"].startswith("file://"):
        out["value"] = _var_value(out["value"], base, f"{where}.value")
    return out


def assertion_from_string(text: str) -> dict[str, Any]:
    """A CSV `__expected` cell: `grade:`/`llm-rubric:` rubric, `<type>[(threshold)]:value`, else equals."""
    if text.startswith(("javascript:", "fn:", "eval:", "python:")):
        raise PromptfooConfigError(f"__expected {text[:30]!r}: code assertions are not supported")
    if text.startswith("grade:"):
        return {"type": "llm-rubric", "value": text[6:]}
    if text.startswith("llm-rubric:"):
        return {"type": "llm-rubric", "value": text[11:]}
    match = _SHORTHAND.match(text)
    if match:
        # lazy: loaded only on the code paths that need it (cold start)
        from evalgate.scoring import TYPES

        neg, kind, threshold, value = match.groups()
        if kind in TYPES:
            out: dict[str, Any] = {"type": f"{neg or ''}{kind}"}
            if value is not None:
                out["value"] = value if kind in _LIST_TYPES or kind in ("is-json", "contains-json") else value.strip()
            if threshold is not None:
                out["threshold"] = float(threshold)
            return out
    return {"type": "equals", "value": text}


# --- tests ---------------------------------------------------------------------------------------------------


def _csv_tests(path: Path) -> list[dict[str, Any]]:
    rows = csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))
    tests = []
    for row in rows:
        test: dict[str, Any] = {"vars": {}, "assert": []}
        for key, value in row.items():
            key = (key or "").strip()
            value = value or ""
            if key.startswith("__expected"):
                if value.strip():
                    test["assert"].append(assertion_from_string(value.strip()))
            elif key == "__description":
                test["description"] = value
            elif key == "__threshold":
                if value.strip():
                    test["threshold"] = float(value)
            elif key == "__metric":
                test["metric"] = value
            elif key.startswith("__"):
                raise PromptfooConfigError(f"{path.name}: column {key!r} is not supported")
            else:
                test["vars"][key] = value
        tests.append(test)
    return tests


def _raw_tests(raw: Any, base: Path | None) -> list[dict[str, Any]]:
    items = raw if isinstance(raw, list) else [raw]
    out: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        if isinstance(item, str) and item.startswith("file://"):
            path = _path(item, base, f"tests[{i}]")
            if path.suffix.lower() == ".csv":
                out += _csv_tests(path)
            else:
                data = _load_data(path, f"tests[{i}]")
                if not isinstance(data, list):
                    raise PromptfooConfigError(f"tests[{i}]: {path.name} must hold a list of tests")
                out += data
        elif isinstance(item, dict):
            out.append(item)
        else:
            raise PromptfooConfigError(f"tests[{i}]: a test is a mapping or a file:// path")
    return out


def _expand(variables: dict[str, Any]) -> list[dict[str, Any]]:
    """promptfoo turns each array var into one test per value (the cartesian product)."""
    keys = [k for k, v in variables.items() if isinstance(v, list)]
    if not keys:
        return [variables]
    combos = itertools.product(*(variables[k] for k in keys))
    return [{**variables, **dict(zip(keys, combo, strict=True))} for combo in combos]


def _check_test_shape(test: dict[str, Any], where: str) -> None:
    """The parts of a test (or defaultTest) have the types promptfoo's schema gives them."""
    for key, kind, what in (("vars", dict, "a mapping"), ("options", dict, "a mapping"), ("assert", list, "a list")):
        if test.get(key) is not None and not isinstance(test[key], kind):
            raise PromptfooConfigError(f"{where}.{key} must be {what}")
    threshold = test.get("threshold")
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1
    ):
        raise PromptfooConfigError(f"{where}.threshold must be a number between 0 and 1")
    for key in ("description", "metric"):
        if test.get(key) is not None and not isinstance(test[key], str):
            raise PromptfooConfigError(f"{where}.{key} must be a string")


def _tests(config: dict[str, Any], base: Path | None) -> tuple[list[TestSpec], dict[str, Any] | None]:
    default = config.get("defaultTest") or {}
    if isinstance(default, str):
        default = _load_data(_path(default, base, "defaultTest"), "defaultTest")
    if not isinstance(default, dict):
        raise PromptfooConfigError("defaultTest must be a mapping")
    _check_test_shape(default, "defaultTest")
    options = {**(default.get("options") or {})}
    raw_tests = _raw_tests(config.get("tests") or [{}], base)
    tests: list[TestSpec] = []
    for i, raw in enumerate(raw_tests):
        where = f"tests[{i}]"
        if not isinstance(raw, dict):
            raise PromptfooConfigError(f"{where}: a test is a mapping")
        _check_test_shape(raw, where)
        for key in raw:
            if key not in ("vars", "assert", "description", "threshold", "options", "metadata", "metric"):
                raise PromptfooConfigError(f"{where}.{key}: test option '{key}' is not supported by evalgate")
        test_options = raw.get("options") or {}
        for key in ("transform", "postprocess", "prefix", "suffix"):
            if key in test_options or key in options:
                raise PromptfooConfigError(f"{where}.options.{key}: output transforms are not supported")
        variables = {
            k: _var_value(v, base, f"{where}.vars.{k}")
            for k, v in {**(default.get("vars") or {}), **(raw.get("vars") or {})}.items()
        }
        asserts = [*(default.get("assert") or []), *(raw.get("assert") or [])]
        assertions = [_assertion(a, f"{where}.assert[{j}]", base) for j, a in enumerate(asserts)]
        if raw.get("metric"):
            assertions = [{**a, "metric": a.get("metric", raw["metric"])} for a in assertions]
        threshold = raw.get("threshold", default.get("threshold"))
        description = str(raw.get("description") or "")
        for n, expanded in enumerate(_expand(variables)):
            suffix = f" #{n + 1}" if n else ""
            name = f"{i + 1:03d} {description}".strip()[:180] + suffix
            tests.append(TestSpec(name=name, variables=expanded, assertions=assertions, threshold=threshold,
                                  description=description))  # fmt: skip
    if not tests:
        raise PromptfooConfigError("tests: the config expands to no test (an empty array var?)")
    if len(tests) > MAX_TESTS:
        raise PromptfooConfigError(f"the config expands to {len(tests)} tests; at most {MAX_TESTS} are imported")
    grader = options.get("provider")
    judge = map_provider(grader, "defaultTest.options.provider").model_config if grader else None
    return tests, judge


def build_plan(config: Any, base: Path | None, *, name: str | None = None) -> Plan:
    if not isinstance(config, dict):
        raise PromptfooConfigError("the config must be a YAML mapping")
    try:
        return _build(config, base, name)
    except (TypeError, AttributeError, ValueError) as err:  # a shape the checks above did not foresee
        raise PromptfooConfigError(f"the config is malformed ({type(err).__name__}: {str(err)[:200]})") from err


def _build(config: dict[str, Any], base: Path | None, name: str | None) -> Plan:
    description = str(config.get("description") or "")
    providers_raw = config.get("providers") or config.get("targets")
    if not providers_raw:
        raise PromptfooConfigError("providers: the config names no provider")
    providers_list = providers_raw if isinstance(providers_raw, list) else [providers_raw]
    providers = [map_provider(p, f"providers[{i}]") for i, p in enumerate(providers_list)]
    tests, judge = _tests(config, base)
    plan_name = (name or description or (base.name if base else "") or "promptfoo").strip()[:200]
    return Plan(plan_name, description, _prompts(config.get("prompts"), base), providers, tests, judge)


def inline_files(config: Any, base: Path) -> dict[str, Any]:
    """The config with every file:// reference it uses replaced by the file's content: prompt files by
    {raw, label} entries, test files by their tests (CSV rows converted as promptfoo converts them), a
    defaultTest file by its mapping, file:// vars and assertion values by their content."""
    if not isinstance(config, dict):
        raise PromptfooConfigError("the config must be a YAML mapping")
    out = dict(config)
    if "prompts" in out:
        out["prompts"] = [{"raw": p.template, "label": p.label} for p in _prompts(out["prompts"], base)]
    default = out.get("defaultTest")
    if isinstance(default, str):
        default = _load_data(_path(default, base, "defaultTest"), "defaultTest")
    if isinstance(default, dict):
        out["defaultTest"] = _inline_test(default, base, "defaultTest")
    if out.get("tests") is not None:
        out["tests"] = [
            _inline_test(t, base, f"tests[{i}]") if isinstance(t, dict) else t
            for i, t in enumerate(_raw_tests(out["tests"], base))
        ]
    return out


def _inline_test(test: dict[str, Any], base: Path, where: str) -> dict[str, Any]:
    out = dict(test)
    if isinstance(out.get("vars"), dict):
        out["vars"] = {k: _var_value(v, base, f"{where}.vars.{k}") for k, v in out["vars"].items()}
    if isinstance(out.get("assert"), list):
        out["assert"] = [
            {**a, "value": _var_value(a["value"], base, f"{where}.assert[{j}].value")}
            if isinstance(a, dict) and isinstance(a.get("value"), str)
            else a
            for j, a in enumerate(out["assert"])
        ]
    return out


def load_config(path: Path) -> Any:
    # lazy: PyYAML loads only when a YAML document is read (cold start)
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise PromptfooConfigError(f"cannot read {path}: {err.strerror}") from err
    except yaml.YAMLError as err:
        raise PromptfooConfigError(f"{path.name} is not valid YAML: {err}") from err


def load_plan(path: Path, *, name: str | None = None) -> Plan:
    return build_plan(load_config(path), path.resolve().parent, name=name)
