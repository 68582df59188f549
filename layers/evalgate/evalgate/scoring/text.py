"""Deterministic checks: string matching, JSON, counts, latency and cost, the offline token estimate."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from evalgate.scoring import schema as json_schema
from evalgate.scoring.base import Check, CheckError, Outcome, compile_pattern, excerpt, json_equal, num, summary

# --- token estimate ------------------------------------------------------------------------------------------

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN_PIECES = re.compile(rf"(?P<cjk>[{_CJK}])|(?P<digits>\d+)|(?P<word>[^\W\d_{_CJK}]+)|(?P<other>\S)")


def estimate_tokens(text: str) -> int:
    """Offline estimate of a BPE token count (tuned against cl100k/o200k-style tokenizers; no vocabulary).

    Whitespace is free (BPE folds a leading space into the next token). Then:
    - a run of letters counts 1 token per started 6 letters ("the" 1, "evaluation" 2, "internationalization" 4),
    - a run of digits counts 1 token per started 3 digits (tokenizers split numbers in groups of three),
    - each CJK / kana / hangul character counts 1,
    - every other visible character (punctuation, symbols, emoji, "_") counts 1.
    English prose lands within about ±25% of real counts; code and JSON are over-counted slightly, which is
    the safe side for a max-token assertion.
    """
    total = 0
    for match in _TOKEN_PIECES.finditer(text):
        kind = match.lastgroup
        length = len(match.group())
        if kind == "word":
            total += math.ceil(length / 6)
        elif kind == "digits":
            total += math.ceil(length / 3)
        else:
            total += 1
    return total


def js_number(value: float) -> str:
    """String(value) as JavaScript writes it for the numbers a config holds (42.0 -> "42")."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() and abs(value) < 1e21 else str(value)


# --- string checks -------------------------------------------------------------------------------------------


def _quoted(text: str) -> str:
    return repr(excerpt(text, 80))


def check_equals(c: Check) -> Outcome:
    value = c.spec.get("value")
    output = c.output
    if isinstance(value, dict | list):
        try:
            parsed = json.loads(output)
        except ValueError:
            return Outcome(
                False,
                0.0,
                summary(value),
                excerpt(output),
                "The output is not JSON, so it cannot equal the expected JSON.",
            )
        same = json_equal(parsed, value)
        reason = (
            "The output JSON equals the expected JSON." if same else "The output JSON differs from the expected JSON."
        )
        return Outcome(same, float(same), summary(value), excerpt(output), reason)
    if isinstance(value, bool):
        expected = json.dumps(value)
    elif isinstance(value, int | float):
        expected = js_number(value)
    else:
        expected = c.reference()
    same = output == expected
    reason = "The output equals the expected text." if same else "The output differs from the expected text."
    return Outcome(same, float(same), excerpt(expected), excerpt(output), reason)


def _contains(c: Check, *, ignore_case: bool) -> Outcome:
    needle = c.reference()
    haystack = c.output
    found = needle.lower() in haystack.lower() if ignore_case else needle in haystack
    how = " (ignoring case)" if ignore_case else ""
    reason = f"The output {'contains' if found else 'does not contain'} {_quoted(needle)}{how}."
    return Outcome(found, float(found), excerpt(needle), excerpt(haystack), reason)


def check_contains(c: Check) -> Outcome:
    return _contains(c, ignore_case=False)


def check_icontains(c: Check) -> Outcome:
    return _contains(c, ignore_case=True)


def _contains_many(c: Check, *, need_all: bool, ignore_case: bool) -> Outcome:
    needles = c.references()
    haystack = c.output.lower() if ignore_case else c.output
    found = [n for n in needles if (n.lower() if ignore_case else n) in haystack]
    missing = [n for n in needles if n not in found]
    if need_all:
        passed = not missing
        reason = (
            f"The output contains all {len(needles)} values."
            if passed
            else f"The output is missing {len(missing)} of {len(needles)} values: "
            f"{', '.join(_quoted(m) for m in missing[:5])}."
        )
    else:
        passed = bool(found)
        reason = (
            f"The output contains {_quoted(found[0])}."
            if passed
            else f"The output contains none of the {len(needles)} values."
        )
    return Outcome(passed, float(passed), summary(needles), excerpt(c.output), reason)


def check_contains_any(c: Check) -> Outcome:
    return _contains_many(c, need_all=False, ignore_case=False)


def check_contains_all(c: Check) -> Outcome:
    return _contains_many(c, need_all=True, ignore_case=False)


def check_icontains_any(c: Check) -> Outcome:
    return _contains_many(c, need_all=False, ignore_case=True)


def check_icontains_all(c: Check) -> Outcome:
    return _contains_many(c, need_all=True, ignore_case=True)


def check_starts_with(c: Check) -> Outcome:
    prefix = c.reference()
    ok = c.output.startswith(prefix)
    reason = f"The output {'starts' if ok else 'does not start'} with {_quoted(prefix)}."
    return Outcome(ok, float(ok), excerpt(prefix), excerpt(c.output), reason)


def check_ends_with(c: Check) -> Outcome:
    suffix = c.reference()
    ok = c.output.endswith(suffix)
    reason = f"The output {'ends' if ok else 'does not end'} with {_quoted(suffix)}."
    tail = c.output[-(len(suffix) + 40) :] if len(c.output) > len(suffix) + 40 else c.output
    return Outcome(ok, float(ok), excerpt(suffix), excerpt(tail), reason)


def check_regex(c: Check) -> Outcome:
    pattern = c.value_text()
    try:
        compiled = compile_pattern(pattern)
    except re.error as err:
        raise CheckError(
            f"The rendered pattern is not a valid regular expression: {err}.", expected=excerpt(pattern)
        ) from err
    match = compiled.search(c.output)
    reason = f"The output {'matches' if match else 'does not match'} /{excerpt(pattern, 80)}/."
    actual = excerpt(match.group(0)) if match else excerpt(c.output)
    return Outcome(match is not None, float(match is not None), excerpt(pattern), actual, reason)


# --- JSON ----------------------------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(text: str) -> Any:
    """Strict JSON (NaN / Infinity rejected); surrounding whitespace allowed. Raises ValueError."""
    return json.loads(text, parse_constant=_reject_constant)


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
MAX_JSON_CANDIDATES = 500
MAX_OBJECT_CHARS = 100_000  # promptfoo's maxJsonLength
_SLASH_COMMENT = re.compile(r'("(?:[^"\\]|\\.)*")|//')


def _lenient_object(candidate: str) -> Any:
    """A {...} candidate parsed as promptfoo does (js-yaml in JSON mode, // comments allowed): JSON first, then
    YAML flow syntax ({a: 1}); None when it is neither or not an object/array."""
    try:
        return _DECODER.decode(candidate)
    except ValueError:
        pass
    import yaml  # lazily: only outputs with non-JSON braces get here

    text = _SLASH_COMMENT.sub(lambda m: m.group(1) or "#", candidate)
    try:
        value = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict | list) else None


def extract_json_objects(text: str) -> list[Any]:
    """promptfoo's extractJsonObjects: from each '{', the shortest balanced (or, at the end of the text,
    auto-closed) brace span that parses; scanning resumes after it. Arrays on their own are not objects."""
    found: list[Any] = []
    i, size, tried = 0, len(text), 0
    while i < size and tried < MAX_JSON_CANDIDATES:
        if text[i] != "{":
            i += 1
            continue
        tried += 1
        opened, closed, j = 1, 0, i + 1
        limit = min(i + MAX_OBJECT_CHARS, size)
        resume = i + 1
        while j < limit and opened > closed:
            if text[j] == "{":
                opened += 1
            elif text[j] == "}":
                closed += 1
            j += 1
            if opened == closed or j == size or j == i + MAX_OBJECT_CHARS:
                candidate = text[i:j] + "}" * (opened - closed)
                value = _lenient_object(candidate)
                if isinstance(value, dict | list):
                    found.append(value)
                    resume = j
                    break
                if opened == closed:
                    break
        i = resume
    return found


def extract_json_values(text: str) -> list[Any]:
    """Every JSON object or array embedded in `text` (outermost ones, left to right)."""
    found: list[Any] = []
    position, tried = 0, 0
    while tried < MAX_JSON_CANDIDATES:
        starts = [i for i in (text.find("{", position), text.find("[", position)) if i >= 0]
        if not starts:
            break
        start = min(starts)
        tried += 1
        try:
            value, end = _DECODER.raw_decode(text, start)
        except ValueError:
            position = start + 1
            continue
        found.append(value)
        position = end
    return found


def _schema_expected(schema: Any) -> str:
    return (
        "valid JSON"
        if schema is None
        else excerpt(f"JSON matching the schema {json.dumps(schema, separators=(',', ':'))}")
    )


def check_is_json(c: Check) -> Outcome:
    schema = c.spec.get("value")
    expected = _schema_expected(schema)
    try:
        parsed = parse_json(c.output)
    except ValueError as err:
        return Outcome(False, 0.0, expected, excerpt(c.output), f"The output is not valid JSON ({err}).")
    if schema is not None:
        errors = json_schema.validate(parsed, schema)
        if errors:
            return Outcome(
                False,
                0.0,
                expected,
                excerpt(c.output),
                f"The output JSON does not match the schema: {'; '.join(errors)}.",
            )
        return Outcome(True, 1.0, expected, excerpt(c.output), "The output is JSON that matches the schema.")
    return Outcome(True, 1.0, expected, excerpt(c.output), "The output is valid JSON.")


def check_contains_json(c: Check) -> Outcome:
    schema = c.spec.get("value")
    expected = _schema_expected(schema)
    values = extract_json_objects(c.output)
    if not values:
        return Outcome(False, 0.0, expected, excerpt(c.output), "The output contains no JSON object.")
    if schema is None:
        return Outcome(
            True,
            1.0,
            expected,
            excerpt(json.dumps(values[0], ensure_ascii=False)),
            f"The output contains {len(values)} JSON value(s).",
        )
    first_errors: list[str] = []
    for value in values:
        errors = json_schema.validate(value, schema)
        if not errors:
            return Outcome(
                True,
                1.0,
                expected,
                excerpt(json.dumps(value, ensure_ascii=False)),
                "The output contains JSON that matches the schema.",
            )
        first_errors = first_errors or errors
    return Outcome(
        False,
        0.0,
        expected,
        excerpt(json.dumps(values[0], ensure_ascii=False)),
        f"None of the {len(values)} JSON value(s) in the output matches the schema: {'; '.join(first_errors)}.",
    )


# --- counts --------------------------------------------------------------------------------------------------


def _range_text(bounds: dict[str, Any], unit: str) -> str:
    low, high = bounds.get("min"), bounds.get("max")
    if low is not None and low == high:
        return f"{low} {unit}"
    if low is not None and high is not None:
        return f"{low}-{high} {unit}"
    if low is not None:
        return f">= {low} {unit}"
    return f"<= {high} {unit}"


def _in_range(count: int, c: Check, unit: str, note: str = "") -> Outcome:
    bounds = c.spec.get("value") or {}
    low, high = bounds.get("min"), bounds.get("max")
    ok = (low is None or count >= low) and (high is None or count <= high)
    wanted = _range_text(bounds, unit)
    reason = f"The output has {count} {unit}{note}, {'within' if ok else 'outside'} the expected {wanted}."
    return Outcome(ok, float(ok), wanted, count, reason)


_JS_SPACE = re.compile(r"[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]+")


def js_split(text: str) -> list[str]:
    """text.trim().split(/\\s+/) as JavaScript does it (JS whitespace; "" gives [""])."""
    return _JS_SPACE.split(_JS_SPACE.sub(" ", text).strip(" "))


def check_word_count(c: Check) -> Outcome:
    return _in_range(len([w for w in js_split(c.output) if w]), c, "words")


def check_length(c: Check) -> Outcome:
    return _in_range(len(c.output), c, "characters")


def check_token_count(c: Check) -> Outcome:
    if c.out.output_tokens is not None:
        return _in_range(int(c.out.output_tokens), c, "tokens")
    return _in_range(estimate_tokens(c.output), c, "tokens", " (estimated offline)")


# --- performance ---------------------------------------------------------------------------------------------


def check_latency(c: Check) -> Outcome:
    latency = c.out.latency_ms
    limit = c.threshold
    expected = f"<= {num(limit)} ms" if limit is not None else "recorded"
    if latency is None:
        raise CheckError("Latency was not measured for this output.", expected=expected)
    measured = round(float(latency), 3)
    if limit is None:
        return Outcome(True, 1.0, expected, measured, f"Latency was {num(measured)} ms (recorded, no limit).")
    ok = latency <= limit
    reason = f"Latency {num(measured)} ms is {'within' if ok else 'over'} the limit of {num(limit)} ms."
    return Outcome(ok, float(ok), expected, measured, reason)


def check_cost(c: Check) -> Outcome:
    cost = c.out.cost_usd
    limit = c.threshold
    expected = f"<= {num(limit)} USD" if limit is not None else "recorded"
    if cost is None:
        raise CheckError("Cost was not reported for this output.", expected=expected)
    measured = round(float(cost), 8)
    if limit is None:
        return Outcome(True, 1.0, expected, measured, f"Cost was {num(measured)} USD (recorded, no limit).")
    ok = cost <= limit
    reason = f"Cost {num(measured)} USD is {'within' if ok else 'over'} the limit of {num(limit)} USD."
    return Outcome(ok, float(ok), expected, measured, reason)
