"""Assertion types, their aliases, and the validation that runs when a suite or test is saved.

A raw assertion is promptfoo-shaped (`{"type": "contains", "value": "Hello", "weight": 2}`), Echostash-API-
shaped (`{"operator": "contains", "expected": "Hello"}`) or Echostash-PDK shorthand (`{"contains": "Hello"}`).
`validate_assertions` turns each into one normalized shape:

    {"type": "contains",          # canonical name, never negated
     "operator": "not_contains",  # the name as written (reported back in results)
     "negate": true,
     "value": "Hello",            # normalized (ranges become {"min", "max"}, comma lists become lists)
     "threshold": null,           # the effective threshold (type default filled in), or null
     "weight": 1.0,
     ...}                         # optional: "n" (rouge-n), "factuality" (category scores), "metric", "description"

Normalizing a normalized assertion gives it back unchanged.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from evalgate.errors import InvalidInput
from evalgate.scoring import schema as json_schema
from evalgate.scoring.base import compile_pattern
from evalgate.scoring.compare import COMPARISON_TYPES
from evalgate.scoring.sql import DIALECTS
from evalgate.templating import VARIABLE


@dataclass(frozen=True)
class TypeSpec:
    value: str  # how `value` is validated (see _validate_value)
    threshold: tuple[float, float | None] | None = None  # accepted range; None: threshold not used
    default_threshold: float | None = None
    judge: bool = False  # needs a Judge
    embedder: bool = False  # needs an Embedder


_UNIT = (0.0, 1.0)
_NON_NEGATIVE = (0.0, None)

TYPES: dict[str, TypeSpec] = {
    "equals": TypeSpec("equals"),
    "contains": TypeSpec("text_ref"),
    "icontains": TypeSpec("text_ref"),
    "contains-any": TypeSpec("text_list"),
    "contains-all": TypeSpec("text_list"),
    "icontains-any": TypeSpec("text_list"),
    "icontains-all": TypeSpec("text_list"),
    "starts-with": TypeSpec("text_ref"),
    "ends-with": TypeSpec("text_ref"),
    "regex": TypeSpec("regex"),
    "is-json": TypeSpec("schema"),
    "contains-json": TypeSpec("schema"),
    "word-count": TypeSpec("range"),
    "length": TypeSpec("range"),
    "token-count": TypeSpec("range"),
    "levenshtein": TypeSpec("text_ref", _NON_NEGATIVE, 5),
    "rouge-n": TypeSpec("text_ref", _UNIT, 0.75),
    "bleu": TypeSpec("texts_ref", _UNIT, 0.5),
    "similar": TypeSpec("texts_ref", _UNIT, 0.75, embedder=True),
    "latency": TypeSpec("limit", _NON_NEGATIVE),
    "cost": TypeSpec("limit", _NON_NEGATIVE),
    "llm-rubric": TypeSpec("text", _UNIT, None, judge=True),
    "g-eval": TypeSpec("criteria", _UNIT, 0.7, judge=True),
    "factuality": TypeSpec("text_ref", _UNIT, None, judge=True),
    "answer-relevance": TypeSpec("none", _UNIT, 0.7, judge=True),
    "context-faithfulness": TypeSpec("none", _UNIT, 0.7, judge=True),
    "model-graded-closedqa": TypeSpec("text", judge=True),
    "context-recall": TypeSpec("text_ref", _UNIT, 0.5, judge=True),
    "context-relevance": TypeSpec("none", _UNIT, 0.5, judge=True),
    "gleu": TypeSpec("texts_ref", _UNIT, 0.5),
    "meteor": TypeSpec("texts_ref", _UNIT, 0.5),
    "is-xml": TypeSpec("xml_elements"),
    "contains-xml": TypeSpec("xml_elements"),
    "is-sql": TypeSpec("sql"),
    "contains-sql": TypeSpec("sql"),
    "is-html": TypeSpec("none"),
    "contains-html": TypeSpec("none"),
    "is-refusal": TypeSpec("none"),
    "finish-reason": TypeSpec("text"),
    "perplexity": TypeSpec("none", _NON_NEGATIVE),
    "perplexity-score": TypeSpec("none", _UNIT),
    "is-valid-openai-tools-call": TypeSpec("tools"),
    "is-valid-openai-function-call": TypeSpec("tools"),
    "llm-judge": TypeSpec("text", judge=True),
    "sentiment": TypeSpec("sentiment", judge=True),
    # comparisons: rank one test's outputs across the runs of a suite (scoring/compare.py), never run alone
    "select-best": TypeSpec("text", judge=True),
    "max-score": TypeSpec("max_score"),
}

# Echostash names -> (canonical type, negated)
ALIASES: dict[str, tuple[str, bool]] = {
    "not_contains": ("contains", True),
    "matches": ("regex", False),
    "starts_with": ("starts-with", False),
    "ends_with": ("ends-with", False),
    "json_valid": ("is-json", False),
    "word_count": ("word-count", False),
    "llm_judge": ("llm-judge", False),
    "similar_to": ("similar", False),
    "token_count": ("token-count", False),
    # promptfoo's other names for the same checks
    "model-graded-factuality": ("factuality", False),
    "is-valid-function-call": ("is-valid-openai-function-call", False),
    "similar:cosine": ("similar", False),
}

ASSERTION_TYPES: frozenset[str] = frozenset(TYPES) | frozenset(ALIASES)

_CODE_TYPES = frozenset({"javascript", "python", "ruby", "webhook"})
# promptfoo types evalgate refuses, with the reason (see README: promptfoo compatibility)
_REFUSED: dict[str, str] = {
    "moderation": "it needs OpenAI's moderation endpoint; use llm-rubric with a safety rubric",
    "classifier": "it needs a HuggingFace classifier model; use llm-rubric",
    "pi": "it needs the Pi Labs scoring service; use llm-rubric or g-eval",
    "guardrails": "it reads guardrail metadata evalgate's providers do not return",
    "similar:dot": "evalgate's similar is cosine similarity (similar:cosine)",
    "similar:euclidean": "evalgate's similar is cosine similarity (similar:cosine)",
    "agent-rubric": "it grades an agent's tool-using trajectory, which evalgate's single model call does not have",
    "search-rubric": "it needs a grader with web search",
    "conversation-relevance": "it grades multi-turn conversations; an evalgate case is one prompt and one output",
    "tool-call-f1": "it compares the provider's tool calls, which evalgate's providers do not return",
    "skill-used": "it reads agent skill metadata evalgate's providers do not return",
    "trajectory:goal-success": "agent trajectories are not recorded by evalgate",
    "trajectory:tool-args-match": "agent trajectories are not recorded by evalgate",
    "trajectory:step-count": "agent trajectories are not recorded by evalgate",
    "trajectory:tool-sequence": "agent trajectories are not recorded by evalgate",
    "trajectory:tool-used": "agent trajectories are not recorded by evalgate",
    "trace-span-count": "evalgate keeps no OpenTelemetry traces of a model call",
    "trace-span-duration": "evalgate keeps no OpenTelemetry traces of a model call",
    "trace-error-spans": "evalgate keeps no OpenTelemetry traces of a model call",
}
SENTIMENTS = ("positive", "negative", "neutral", "helpful")
FACTUALITY_KEYS = ("subset", "superset", "agree", "disagree", "differButFactual")
_COMMON_KEYS = frozenset(
    {"value", "expected", "threshold", "weight", "metric", "description", "negate", "n", "alpha", "beta", "gamma"}
)
_KNOWN_KEYS = _COMMON_KEYS | {"type", "operator", "factuality"}

MAX_ASSERTIONS = 100
MAX_TEXT = 20_000
MAX_ITEMS = 200
MAX_CRITERIA = 20
MAX_ROUGE_N = 4


def resolve_type(name: Any, field: str) -> tuple[str, bool]:
    """(canonical type, negated) for a name as written; InvalidInput for anything not accepted."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("assertion type must be a non-empty string", field=field)
    name = name.strip()
    if name in ALIASES:
        return ALIASES[name]
    if name in TYPES:
        return name, False
    if name.startswith("not-"):
        base, negated = resolve_type(name[4:], field)
        if negated:
            raise InvalidInput(f"'{name}' negates a type that is already negated", field=field)
        return base, True
    if name in _REFUSED:
        raise InvalidInput(f"'{name}' assertions are not supported: {_REFUSED[name]}", field=field)
    if name in _CODE_TYPES:
        raise InvalidInput(
            f"'{name}' assertions are not supported: evalgate does not run user code; "
            "use regex, is-json with a schema, or llm-rubric instead",
            field=field,
        )
    raise InvalidInput(
        f"unknown assertion type '{name}'; supported: {', '.join(sorted(ASSERTION_TYPES))} "
        "(any of them can be negated with a 'not-' prefix)",
        field=field,
    )


def validate_assertions(raw: Any, *, field: str = "assertions", comparisons: bool = False) -> list[dict[str, Any]]:
    """Normalize and validate assertion configs when a suite/test is saved.

    Raises InvalidInput whose `field` names the offending spot (e.g. 'assertions[2].value') for an unknown
    type, a missing or ill-typed value, a bad regex or JSON schema, a negative weight, a threshold outside
    its range, an unknown key. Returns the normalized dicts `evaluate` accepts.

    `select-best` / `max-score` compare a test's outputs across several runs: accepted only where such runs
    exist (`comparisons=True`: suite tests, promptfoo imports), at most one of each per test, never negated,
    and max-score only beside another assertion whose scores it can aggregate."""
    if not isinstance(raw, list):
        raise InvalidInput("assertions must be a list", field=field)
    if len(raw) > MAX_ASSERTIONS:
        raise InvalidInput(f"at most {MAX_ASSERTIONS} assertions are allowed", field=field)
    out = [normalize_assertion(item, f"{field}[{i}]") for i, item in enumerate(raw)]
    seen: set[str] = set()
    for i, spec in enumerate(out):
        kind = spec["type"]
        if kind not in COMPARISON_TYPES:
            continue
        where = f"{field}[{i}].type"
        if not comparisons:
            raise InvalidInput(
                f"'{kind}' compares the outputs of one test across several prompts or providers, and here each "
                "case has one output: use it in a suite test and compare the suite's runs "
                "(POST /api/prompts/{promptId}/eval/compare), or in a promptfoo config with several prompts "
                "or providers",
                field=where,
            )
        if spec["negate"]:
            raise InvalidInput(f"'{kind}' cannot be negated", field=where)
        if kind in seen:
            raise InvalidInput(f"a test takes at most one '{kind}' assertion", field=where)
        seen.add(kind)
        if kind == "max-score" and all(s["type"] in COMPARISON_TYPES for s in out):
            raise InvalidInput(
                "max-score needs at least one other assertion (besides max-score or select-best) whose scores "
                "it aggregates",
                field=where,
            )
    return out


def normalize_assertion(item: Any, field: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise InvalidInput("an assertion must be an object", field=field)

    # which key names the type, and which holds the value
    value_key = "expected" if "expected" in item and "value" not in item else "value"
    if "type" in item:
        written, type_key = item["type"], "type"
    elif "operator" in item:
        written, type_key = item["operator"], "operator"
    else:
        shorthand = [k for k in item if k not in _COMMON_KEYS and k != "factuality"]
        if len(shorthand) != 1 or shorthand[0] in _KNOWN_KEYS:
            raise InvalidInput("an assertion needs a 'type'", field=f"{field}.type")
        written = type_key = value_key = shorthand[0]
        if "value" in item or "expected" in item:
            raise InvalidInput(f"give the value once, as '{type_key}'", field=f"{field}.value")
    for key in item:
        if key not in _KNOWN_KEYS and key != type_key:
            raise InvalidInput(f"unknown assertion key '{key}'", field=f"{field}.{key}")
    if "value" in item and "expected" in item:
        raise InvalidInput("give either 'value' or 'expected', not both", field=f"{field}.expected")

    base, negated = resolve_type(written, f"{field}.{type_key}")
    spec = TYPES[base]
    operator = written.strip()

    if "negate" in item:
        flag = item["negate"]
        if not isinstance(flag, bool):
            raise InvalidInput("'negate' must be true or false", field=f"{field}.negate")
        if negated and not flag:
            raise InvalidInput(f"'negate: false' contradicts the type '{operator}'", field=f"{field}.negate")
        negated = negated or flag
    if type_key == "type" and "operator" in item:
        shown = item["operator"]
        if not isinstance(shown, str) or resolve_type(shown, f"{field}.operator") != (base, negated):
            raise InvalidInput(f"'operator' disagrees with the type '{operator}'", field=f"{field}.operator")
        operator = shown.strip()
    elif negated and not resolve_type(operator, f"{field}.{type_key}")[1]:
        operator = f"not-{operator}"

    weight = _weight(item.get("weight", 1.0), f"{field}.weight")
    value = _validate_value(base, spec, item.get(value_key), f"{field}.{value_key}")
    threshold = _threshold(base, spec, item.get("threshold"), f"{field}.threshold")
    if spec.value == "limit":
        threshold = _limit(base, value, threshold, weight > 0 or negated, field, value_key)
        value = None

    out: dict[str, Any] = {
        "type": base,
        "operator": operator,
        "negate": negated,
        "value": value,
        "threshold": threshold,
        "weight": weight,
    }
    for key in ("alpha", "beta", "gamma"):  # METEOR's parameters (promptfoo: alpha 0.9, beta 3, gamma 0.5)
        if key in item:
            if base != "meteor":
                raise InvalidInput(f"'{key}' is only used by meteor, not '{base}'", field=f"{field}.{key}")
            if not _is_number(item[key]) or item[key] < 0:
                raise InvalidInput(f"'{key}' must be a number, 0 or more", field=f"{field}.{key}")
            out[key] = float(item[key])
    if base == "rouge-n":
        out["n"] = _rouge_n(item.get("n", 1), f"{field}.n")
    elif "n" in item:
        raise InvalidInput(f"'n' is only used by rouge-n, not '{base}'", field=f"{field}.n")
    if "factuality" in item:
        if base != "factuality":
            raise InvalidInput(
                f"'factuality' scores are only used by factuality, not '{base}'", field=f"{field}.factuality"
            )
        out["factuality"] = _factuality_scores(item["factuality"], f"{field}.factuality")
    for key, limit in (("metric", 200), ("description", 1000)):
        if key in item and item[key] is not None:
            if not isinstance(item[key], str) or len(item[key]) > limit:
                raise InvalidInput(f"'{key}' must be a string of at most {limit} characters", field=f"{field}.{key}")
            out[key] = item[key]
    return out


# --- pieces ---------------------------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _number_text(value: int | float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _weight(value: Any, field: str) -> float:
    if not _is_number(value):
        raise InvalidInput("weight must be a number", field=field)
    if value < 0:
        raise InvalidInput("weight must be 0 or more (0 reports the assertion without counting it)", field=field)
    return float(value)


def _threshold(base: str, spec: TypeSpec, value: Any, field: str) -> float | None:
    if value is None:
        return spec.default_threshold
    if spec.threshold is None:
        raise InvalidInput(f"'{base}' does not use a threshold", field=field)
    if not _is_number(value):
        raise InvalidInput("threshold must be a number", field=field)
    low, high = spec.threshold
    if value < low or (high is not None and value > high):
        bounds = f"between {low:g} and {high:g}" if high is not None else f"{low:g} or more"
        raise InvalidInput(f"the threshold of '{base}' must be {bounds}", field=field)
    return float(value)


def _limit(base: str, value: Any, threshold: float | None, required: bool, field: str, value_key: str) -> float | None:
    """latency / cost: the maximum may be given as threshold (promptfoo) or as value (Echostash)."""
    unit = "milliseconds" if base == "latency" else "USD"
    if value is not None:
        if not _is_number(value) or value < 0:
            raise InvalidInput(f"the maximum {unit} must be a number, 0 or more", field=f"{field}.{value_key}")
        if threshold is not None and float(value) != threshold:
            raise InvalidInput("give the maximum once, as threshold or as value", field=f"{field}.threshold")
        threshold = float(value)
    if threshold is None and required:
        raise InvalidInput(
            f"'{base}' needs a threshold (the maximum in {unit}); without one, set weight 0 to only record it",
            field=f"{field}.threshold",
        )
    return threshold


def _rouge_n(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ROUGE_N:
        raise InvalidInput(f"n must be an integer from 1 to {MAX_ROUGE_N}", field=field)
    return value


def _factuality_scores(value: Any, field: str) -> dict[str, float]:
    if not isinstance(value, dict):
        raise InvalidInput(f"'factuality' must be an object with scores for {', '.join(FACTUALITY_KEYS)}", field=field)
    scores: dict[str, float] = {}
    for key, score in value.items():
        if key not in FACTUALITY_KEYS:
            raise InvalidInput(
                f"unknown factuality category '{key}'; use {', '.join(FACTUALITY_KEYS)}", field=f"{field}.{key}"
            )
        if not _is_number(score) or not 0 <= score <= 1:
            raise InvalidInput("a factuality score must be a number between 0 and 1", field=f"{field}.{key}")
        scores[key] = float(score)
    return scores


def _text(value: Any, field: str, what: str = "value") -> str:
    if _is_number(value):
        return _number_text(value)
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a string", field=field)
    if not value.strip():
        raise InvalidInput(f"{what} must not be empty", field=field)
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"{what} must be at most {MAX_TEXT} characters", field=field)
    return value


def parse_comma_separated(value: str, field: str) -> list[str]:
    """promptfoo's comma-separated values: fields trimmed, runs of commas skipped, a field may be double-quoted
    (keeping commas and spaces; \\" or "" is a quote, \\\\ a backslash). An unterminated quote, or text after a
    closing quote before the next comma, is refused (promptfoo errors the assertion)."""
    fields: list[str] = []
    i, size = 0, len(value)
    while i < size:
        while i < size and (value[i].isspace() or value[i] == ","):
            i += 1
        if i >= size:
            break
        if value[i] == '"':
            i += 1
            chars: list[str] = []
            while True:
                if i >= size:
                    raise InvalidInput("unterminated quoted field in the comma-separated value", field=field)
                ch = value[i]
                if ch == "\\" and i + 1 < size and value[i + 1] in '"\\':
                    chars.append(value[i + 1])
                    i += 2
                elif ch == '"' and i + 1 < size and value[i + 1] == '"':
                    chars.append('"')
                    i += 2
                elif ch == '"':
                    i += 1
                    break
                else:
                    chars.append(ch)
                    i += 1
            fields.append("".join(chars))
            while i < size and value[i].isspace():
                i += 1
            if i < size and value[i] != ",":
                raise InvalidInput("expected a comma after a quoted field", field=field)
        else:
            end = value.find(",", i)
            end = size if end < 0 else end
            fields.append(value[i:end].strip())
            i = end
    return fields


def _texts(value: Any, field: str, *, split_commas: bool, max_items: int = MAX_ITEMS) -> list[str]:
    if isinstance(value, str) and split_commas:
        value = parse_comma_separated(value, field)
        if not value:
            raise InvalidInput("value must list at least one string", field=field)
    if not isinstance(value, list) or not value:
        raise InvalidInput("value must be a non-empty list of strings", field=field)
    if len(value) > max_items:
        raise InvalidInput(f"value must have at most {max_items} items", field=field)
    return [_text(item, f"{field}[{j}]", "each item") for j, item in enumerate(value)]


def _range(value: Any, field: str) -> dict[str, int | None]:
    def bound(v: Any, f: str) -> int | None:
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v != int(v) or v < 0:
            raise InvalidInput("must be a whole number, 0 or more", field=f)
        return int(v)

    if isinstance(value, dict):
        extra = set(value) - {"min", "max"}
        if extra:
            raise InvalidInput(
                f"unknown key '{sorted(extra)[0]}'; use min and max", field=f"{field}.{sorted(extra)[0]}"
            )
        low, high = bound(value.get("min"), f"{field}.min"), bound(value.get("max"), f"{field}.max")
        if low is None and high is None:
            raise InvalidInput("give min, max, or both", field=field)
        if low is not None and high is not None and low > high:
            raise InvalidInput("min must not be greater than max", field=f"{field}.min")
        return {"min": low, "max": high}
    if value is None:
        raise InvalidInput("value is required: a whole number, or {min, max}", field=field)
    if isinstance(value, str):  # a numeric string counts as its number (promptfoo: Number(value))
        try:
            value = float(value.strip()) if value.strip() else value
        except ValueError:
            raise InvalidInput("must be a whole number, or {min, max}", field=field) from None
    exact = bound(value, field)
    return {"min": exact, "max": exact}


def _schema(value: Any, field: str) -> Any:
    return json_schema.load(value, field)


def _xml_elements(value: Any, field: str) -> list[str] | None:
    """is-xml / contains-xml: required element paths ("root.child") as a comma list, a list, or
    {requiredElements: [...]}; none means only well-formedness is checked."""
    if value is None or value == "" or value == [] or value == {}:
        return None
    if isinstance(value, dict):
        if set(value) != {"requiredElements"} or not isinstance(value["requiredElements"], list):
            raise InvalidInput("value must be a string, a list, or {requiredElements: [...]}", field=field)
        value = value["requiredElements"]
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",")]
    return _texts(value, field, split_commas=False)


def _sql(value: Any, field: str) -> dict[str, Any] | None:
    """is-sql / contains-sql: none, or {databaseType, allowedTables, allowedColumns} (node-sql-parser's
    options; promptfoo errors at run time on any other value, evalgate refuses it when saved)."""
    if value is None or value == {}:
        return None
    if not isinstance(value, dict):
        raise InvalidInput("value must be an object: {databaseType, allowedTables, allowedColumns}", field=field)
    extra = sorted(set(value) - {"databaseType", "allowedTables", "allowedColumns"})
    if extra:
        raise InvalidInput(
            f"unknown key '{extra[0]}'; use databaseType, allowedTables or allowedColumns", field=f"{field}.{extra[0]}"
        )
    out: dict[str, Any] = {}
    database = value.get("databaseType")
    if database is not None:
        if database not in DIALECTS:
            raise InvalidInput(
                f"databaseType must be one of {', '.join(sorted(DIALECTS))}", field=f"{field}.databaseType"
            )
        out["databaseType"] = database
    for key in ("allowedTables", "allowedColumns"):
        if value.get(key) is not None:
            items = _texts(value[key], f"{field}.{key}", split_commas=False)
            for j, item in enumerate(items):
                try:
                    re.compile(item)
                except re.error as err:
                    raise InvalidInput(f"not a valid pattern: {err}", field=f"{field}.{key}[{j}]") from None
            out[key] = items
    return out or None


def _tools(value: Any, field: str) -> list[dict[str, Any]] | None:
    """The tool (or function) definitions a call must match; none: the case's `tools`/`functions` variable."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as err:
            raise InvalidInput("value must be a list of tool definitions (or JSON of one)", field=field) from err
    if not isinstance(value, list) or not value or not all(isinstance(t, dict) for t in value):
        raise InvalidInput("value must be a non-empty list of tool definitions", field=field)
    for i, tool in enumerate(value):
        spec = tool.get("function", tool)
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise InvalidInput("each tool needs a function name", field=f"{field}[{i}]")
        if spec.get("parameters") is not None:
            json_schema.load(spec["parameters"], f"{field}[{i}].parameters")
    return value


def _max_score(value: Any, field: str) -> dict[str, Any]:
    """max-score: none, or {method: average|sum, weights: {assertion type: weight}, threshold: number}."""
    if value is None or value == "":
        value = {}
    if not isinstance(value, dict):
        raise InvalidInput("value must be an object: {method, weights, threshold}", field=field)
    extra = sorted(set(value) - {"method", "weights", "threshold"})
    if extra:
        raise InvalidInput(f"unknown key '{extra[0]}'; use method, weights or threshold", field=f"{field}.{extra[0]}")
    method = value.get("method") or "average"
    if method not in ("average", "sum"):
        raise InvalidInput("method must be 'average' or 'sum'", field=f"{field}.method")
    weights = value.get("weights") or {}
    if not isinstance(weights, dict) or len(weights) > MAX_ITEMS:
        raise InvalidInput(
            f"weights must map assertion types to numbers (at most {MAX_ITEMS})", field=f"{field}.weights"
        )
    for name, weight in weights.items():
        if not _is_number(weight) or weight < 0:
            raise InvalidInput("a weight must be a number, 0 or more", field=f"{field}.weights.{name}")
    threshold = value.get("threshold")
    if threshold is not None and not _is_number(threshold):
        raise InvalidInput("threshold must be a number", field=f"{field}.threshold")
    return {
        "method": method,
        "weights": {str(k): float(v) for k, v in weights.items()},
        "threshold": None if threshold is None else float(threshold),
    }


def _regex(value: Any, field: str) -> str:
    pattern = _text(value, field)
    try:
        # template variables are filled in at run time; check the rest of the pattern now
        compile_pattern(VARIABLE.sub("x", pattern))
    except re.error as err:
        raise InvalidInput(f"value is not a valid regular expression: {err}", field=field) from err
    return pattern


def _equals(value: Any, field: str) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or _is_number(value) or isinstance(value, dict | list):
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as err:
            raise InvalidInput("value must be JSON (a string, number, boolean, object or array)", field=field) from err
        return value
    return _text(value, field)


def _validate_value(base: str, spec: TypeSpec, value: Any, field: str) -> Any:
    kind = spec.value
    if kind == "none":
        if value is not None:
            raise InvalidInput(f"'{base}' takes no value", field=field)
        return None
    if kind == "limit":
        return value  # checked with the threshold
    if kind == "equals":
        return _equals(value, field)
    if kind == "schema":
        return _schema(value, field)
    if kind == "range":
        return _range(value, field)
    if kind == "xml_elements":
        return _xml_elements(value, field)
    if kind == "tools":
        return _tools(value, field)
    if kind == "sql":
        return _sql(value, field)
    if kind == "max_score":
        return _max_score(value, field)
    if kind in ("text_ref", "texts_ref") and value is None:
        return None  # falls back to the case's expected output at run time
    if value is None:
        raise InvalidInput(f"'{base}' needs a value", field=field)
    if kind == "texts_ref" and isinstance(value, list):
        return _texts(value, field, split_commas=False)
    if kind == "text_list":
        return _texts(value, field, split_commas=True)
    if kind == "criteria":
        return (
            _texts(value, field, split_commas=False, max_items=MAX_CRITERIA)
            if isinstance(value, list)
            else _text(value, field)
        )
    if kind == "regex":
        return _regex(value, field)
    if kind == "sentiment":
        if not isinstance(value, str) or value.strip().lower() not in SENTIMENTS:
            raise InvalidInput(f"value must be one of {', '.join(SENTIMENTS)}", field=field)
        return value.strip().lower()
    return _text(value, field)
