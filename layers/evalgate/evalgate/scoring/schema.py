"""JSON Schema for is-json / contains-json: draft-07 with formats, through the `jsonschema` library.

promptfoo compiles the value with Ajv (draft-07, strict schema mode, ajv-formats). Here:
- a schema is an object or a boolean, or a string holding one as JSON or YAML (as promptfoo's js-yaml load);
- it is checked against the draft-07 metaschema when the assertion is saved, and keywords Ajv's strict mode
  refuses (unknown ones) are refused then too, with the path to the offending spot;
- `format` is asserted (Ajv with ajv-formats asserts it): the library's checkers plus the ajv-formats ones it
  lacks without optional packages (date-time, time, uri, uri-reference, url, uuid, hostname, duration, ...).

`jsonschema` (and its `referencing`/`rpds` dependencies) is imported on first use, never at module import,
so a Lambda that never validates a schema does not pay for it.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from evalgate.errors import InvalidInput

MAX_DEPTH = 32

# Draft-07 vocabulary (validation + annotations) and what Ajv accepts besides in strict mode.
KEYWORDS = frozenset(
    {
        "$schema", "$id", "$ref", "$comment", "title", "description", "default", "examples", "readOnly",
        "writeOnly", "definitions", "$defs", "type", "enum", "const", "multipleOf", "maximum", "exclusiveMaximum",
        "minimum", "exclusiveMinimum", "maxLength", "minLength", "pattern", "items", "additionalItems", "maxItems",
        "minItems", "uniqueItems", "contains", "maxProperties", "minProperties", "required", "properties",
        "patternProperties", "additionalProperties", "dependencies", "propertyNames", "if", "then", "else",
        "allOf", "anyOf", "oneOf", "not", "format", "contentMediaType", "contentEncoding", "deprecated",
        "nullable", "discriminator",
    }
)  # fmt: skip
_SUBSCHEMA = ("items", "additionalItems", "contains", "additionalProperties", "propertyNames", "if", "then", "else",
              "not")  # fmt: skip
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "items")
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "definitions", "$defs", "dependencies")

# ajv-formats' "full" patterns for the formats jsonschema checks only with optional packages.
_FORMATS: dict[str, re.Pattern[str]] = {
    "date-time": re.compile(
        r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])[Tt ]([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?"
        r"([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)$"
    ),
    "time": re.compile(r"^([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]([01]\d|2[0-3]):[0-5]\d)?$"),
    "uri": re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]*$"),
    "url": re.compile(r"^(?:https?|ftp)://[^\s/$.?#][^\s]*$", re.I),
    "uri-reference": re.compile(r"^[^\s]*$"),
    "uuid": re.compile(r"^(?:urn:uuid:)?[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}$", re.I),
    "hostname": re.compile(
        r"^(?=.{1,253}\.?$)[a-z0-9](?:[-0-9a-z]{0,61}[0-9a-z])?(?:\.[a-z0-9](?:[-0-9a-z]{0,61}[0-9a-z])?)*\.?$", re.I
    ),
    "duration": re.compile(r"^P(?!$)((\d+Y)?(\d+M)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+S)?)?|(\d+W)?)$"),
    "json-pointer": re.compile(r"^(?:/(?:[^~/]|~0|~1)*)*$"),
    "relative-json-pointer": re.compile(r"^(?:0|[1-9][0-9]*)(?:#|(?:/(?:[^~/]|~0|~1)*)*)$"),
    "byte": re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"),
}
# Every format ajv-formats defines: anything else is an unknown format (refused, as Ajv's strict mode does).
AJV_FORMATS = frozenset(
    {
        "date", "time", "date-time", "iso-time", "iso-date-time", "duration", "uri", "uri-reference",
        "uri-template", "url", "email", "hostname", "ipv4", "ipv6", "regex", "uuid", "json-pointer",
        "json-pointer-uri-fragment", "relative-json-pointer", "byte", "int32", "int64", "float", "double",
        "password", "binary",
    }
)  # fmt: skip
_INT32 = (-(2**31), 2**31 - 1)


def load(value: Any, field: str) -> Any:
    """The schema an assertion value stands for (None when there is none); InvalidInput when it is not one."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        if value.startswith("file://"):
            raise InvalidInput("file:// references are not supported; inline the JSON schema", field=field)
        value = _parse_text(value, field)
    if not isinstance(value, dict | bool):
        raise InvalidInput(
            "value must be a JSON Schema: an object or a boolean, or a JSON/YAML string of one", field=field
        )
    check(value, field)
    return value


def _parse_text(text: str, field: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        pass
    import yaml  # lazily: only schemas given as YAML text need it

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise InvalidInput("value must be a JSON Schema (the string is neither JSON nor YAML)", field=field) from err


def check(schema: Any, field: str) -> None:
    """Refuse a schema that is not draft-07 valid or uses a keyword Ajv's strict mode would refuse."""
    _strict(schema, field, 0)
    # lazy: jsonschema loads on the first schema check (cold start)
    from jsonschema import Draft7Validator
    from jsonschema.exceptions import best_match

    meta = Draft7Validator(Draft7Validator.META_SCHEMA, format_checker=Draft7Validator.FORMAT_CHECKER)
    err = best_match(meta.iter_errors(schema))  # the deepest, most relevant error (into anyOf branches)
    if err is not None:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
        raise InvalidInput(f"value is not a valid JSON Schema: {err.message}", field=f"{field}{where}")


def _strict(schema: Any, field: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise InvalidInput(f"the schema is nested deeper than {MAX_DEPTH} levels", field=field)
    if not isinstance(schema, dict):
        return
    for key, sub in schema.items():
        if key not in KEYWORDS:
            raise InvalidInput(f"unknown JSON Schema keyword '{key}' (strict mode)", field=f"{field}.{key}")
        if key in _SUBSCHEMA and isinstance(sub, dict):
            _strict(sub, f"{field}.{key}", depth + 1)
        elif key in _SUBSCHEMA_LISTS and isinstance(sub, list):
            for i, item in enumerate(sub):
                _strict(item, f"{field}.{key}[{i}]", depth + 1)
        elif key in _SUBSCHEMA_MAPS and isinstance(sub, dict):
            for name, item in sub.items():
                _strict(item, f"{field}.{key}.{name}", depth + 1)
        elif key == "format" and isinstance(sub, str) and sub not in known_formats():
            raise InvalidInput(f"unknown format '{sub}'", field=f"{field}.format")


@lru_cache(maxsize=1)
def _checker() -> Any:
    # lazy: jsonschema loads on the first schema check (cold start)
    from jsonschema import FormatChecker

    checker = FormatChecker(["email", "ipv4", "ipv6", "date", "regex"])  # stdlib-backed in the library
    for name, pattern in _FORMATS.items():
        checker.checks(name)(_pattern_check(pattern))
    checker.checks("date-time")(_date_time)
    checker.checks("int32")(lambda v: not _is_int(v) or _INT32[0] <= v <= _INT32[1])
    checker.checks("int64")(lambda v: not _is_int(v) or -(2**63) <= v <= 2**63 - 1)
    for name in AJV_FORMATS - set(checker.checkers):  # annotations only (as ajv-formats for these)
        checker.checks(name)(lambda v: True)
    return checker


def _date_time(value: Any) -> bool:
    """RFC 3339 date-time with a real calendar date (ajv-formats checks the day of the month too)."""
    # lazy: only date-time formats need it
    import datetime

    if not isinstance(value, str):
        return True
    if _FORMATS["date-time"].match(value) is None:
        return False
    try:
        datetime.date.fromisoformat(value[:10])
    except ValueError:
        return False
    return True


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _pattern_check(pattern: re.Pattern[str]) -> Any:
    return lambda value: not isinstance(value, str) or pattern.match(value) is not None


def known_formats() -> frozenset[str]:
    return AJV_FORMATS


@lru_cache(maxsize=64)
def _validator(schema_json: str) -> Any:
    # lazy: jsonschema loads on the first schema check (cold start)
    from jsonschema import Draft7Validator

    return Draft7Validator(json.loads(schema_json), format_checker=_checker())


def validate(instance: Any, schema: Any, *, limit: int = 5) -> list[str]:
    """Up to `limit` readable errors ("$.user.age: 'x' is not of type 'integer'"); [] when the instance is valid."""
    validator = _validator(json.dumps(schema, sort_keys=True))
    errors: list[str] = []
    for err in validator.iter_errors(instance):
        path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path)
        errors.append(f"{path}: {err.message}")
        if len(errors) >= limit:
            break
    return errors
