"""A small JSON Schema validator (stdlib only) for is-json / contains-json.

Supported keywords: type (string or list), enum, const, properties, required, additionalProperties (bool or
schema), minProperties, maxProperties, items (one schema for every element), minItems, maxItems, uniqueItems,
minimum, maximum, exclusiveMinimum, exclusiveMaximum (numeric, draft 6+ form), multipleOf, minLength,
maxLength, pattern (unanchored search, as JSON Schema says), anyOf, oneOf, allOf, not, and boolean schemas.
Annotations (title, description, $schema, $id, $comment, examples, default, format, deprecated, readOnly,
writeOnly, $defs, definitions, contentMediaType, contentEncoding) are accepted and ignored.

Anything else ($ref, patternProperties, if/then/else, prefixItems, ...) is rejected when the assertion is
saved (`check_schema`), so no keyword is ever silently ignored at run time.
"""

from __future__ import annotations

import math
import re
from typing import Any

from evalgate.errors import InvalidInput

TYPES = frozenset({"object", "array", "string", "number", "integer", "boolean", "null"})
ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "$schema",
        "$id",
        "$comment",
        "examples",
        "default",
        "format",
        "deprecated",
        "readOnly",
        "writeOnly",
        "$defs",
        "definitions",
        "contentMediaType",
        "contentEncoding",
    }
)
_SCHEMA_KEYS = frozenset({"additionalProperties", "items", "not"})
_SCHEMA_LIST_KEYS = frozenset({"anyOf", "oneOf", "allOf"})
_NON_NEGATIVE_INT_KEYS = frozenset({"minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"})
_NUMBER_KEYS = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
SUPPORTED = (
    frozenset({"type", "enum", "const", "properties", "required", "uniqueItems", "multipleOf", "pattern"})
    | _SCHEMA_KEYS
    | _SCHEMA_LIST_KEYS
    | _NON_NEGATIVE_INT_KEYS
    | _NUMBER_KEYS
)
MAX_DEPTH = 32
_JS_NAMED_GROUP = re.compile(r"\(\?<(?![=!])")


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a regex written for JavaScript or Python: JS named groups `(?<name>…)` become `(?P<name>…)`."""
    return re.compile(_JS_NAMED_GROUP.sub("(?P<", pattern))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_finite_number(value: Any) -> bool:
    return _is_number(value) and math.isfinite(value)


def check_schema(schema: Any, field: str, _depth: int = 0) -> None:
    """Raise InvalidInput (with the path of the bad keyword) unless `schema` is a schema this module can apply."""
    if isinstance(schema, bool):
        return
    if not isinstance(schema, dict):
        raise InvalidInput("a JSON Schema must be an object or a boolean", field=field)
    if _depth > MAX_DEPTH:
        raise InvalidInput(f"the JSON Schema is nested deeper than {MAX_DEPTH} levels", field=field)
    for key, sub in schema.items():
        path = f"{field}.{key}"
        if key in ANNOTATIONS:
            continue
        if key not in SUPPORTED:
            raise InvalidInput(
                f"unsupported JSON Schema keyword '{key}'; supported: {', '.join(sorted(SUPPORTED))}", field=path
            )
        if key == "type":
            names = sub if isinstance(sub, list) else [sub]
            if not names or not all(isinstance(n, str) and n in TYPES for n in names):
                raise InvalidInput(f"'type' must be one of {', '.join(sorted(TYPES))} (or a list of them)", field=path)
        elif key == "enum":
            if not isinstance(sub, list) or not sub:
                raise InvalidInput("'enum' must be a non-empty list", field=path)
        elif key == "properties":
            if not isinstance(sub, dict):
                raise InvalidInput("'properties' must be an object of schemas", field=path)
            for name, prop in sub.items():
                check_schema(prop, f"{path}.{name}", _depth + 1)
        elif key == "required":
            if not isinstance(sub, list) or not all(isinstance(n, str) for n in sub):
                raise InvalidInput("'required' must be a list of property names", field=path)
        elif key in _SCHEMA_KEYS:
            if key == "items" and isinstance(sub, list):
                raise InvalidInput("tuple-form 'items' (a list of schemas) is not supported", field=path)
            check_schema(sub, path, _depth + 1)
        elif key in _SCHEMA_LIST_KEYS:
            if not isinstance(sub, list) or not sub:
                raise InvalidInput(f"'{key}' must be a non-empty list of schemas", field=path)
            for j, item in enumerate(sub):
                check_schema(item, f"{path}[{j}]", _depth + 1)
        elif key in _NON_NEGATIVE_INT_KEYS:
            if not (isinstance(sub, int) and not isinstance(sub, bool) and sub >= 0):
                raise InvalidInput(f"'{key}' must be a non-negative integer", field=path)
        elif key in _NUMBER_KEYS:
            if not _is_finite_number(sub):
                raise InvalidInput(f"'{key}' must be a number", field=path)
        elif key == "multipleOf":
            if not (_is_finite_number(sub) and sub > 0):
                raise InvalidInput("'multipleOf' must be a number greater than 0", field=path)
        elif key == "uniqueItems":
            if not isinstance(sub, bool):
                raise InvalidInput("'uniqueItems' must be true or false", field=path)
        elif key == "pattern":
            if not isinstance(sub, str):
                raise InvalidInput("'pattern' must be a string", field=path)
            try:
                compile_pattern(sub)
            except re.error as err:
                raise InvalidInput(f"'pattern' is not a valid regular expression: {err}", field=path) from err


def json_equal(a: Any, b: Any) -> bool:
    """Equality with JSON semantics: 1 == 1.0, but true != 1; objects and arrays compared deeply."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return bool(a == b)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and bool(a == b)


def _type_matches(instance: Any, name: str) -> bool:
    if name == "object":
        return isinstance(instance, dict)
    if name == "array":
        return isinstance(instance, list)
    if name == "string":
        return isinstance(instance, str)
    if name == "boolean":
        return isinstance(instance, bool)
    if name == "null":
        return instance is None
    if name == "number":
        return _is_number(instance)
    # integer: 3 and 3.0 both count (draft 6+)
    return _is_number(instance) and (isinstance(instance, int) or float(instance).is_integer())


def _type_name(instance: Any) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _type_matches(instance, name):
            return name
    return type(instance).__name__


def validate(instance: Any, schema: Any, path: str = "$", limit: int = 5) -> list[str]:
    """Errors of `instance` against a schema that passed check_schema (at most `limit`; empty means valid)."""
    errors: list[str] = []
    _validate(instance, schema, path, errors, limit)
    return errors[:limit]


def _validate(instance: Any, schema: Any, path: str, errors: list[str], limit: int) -> None:
    if len(errors) >= limit:
        return
    if schema is True:
        return
    if schema is False:
        errors.append(f"{path}: no value is allowed here")
        return
    assert isinstance(schema, dict)

    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_type_matches(instance, n) for n in names):
            errors.append(f"{path}: expected {' or '.join(names)}, got {_type_name(instance)}")
            return
    if "enum" in schema and not any(json_equal(instance, option) for option in schema["enum"]):
        errors.append(f"{path}: value is not one of the allowed values")
    if "const" in schema and not json_equal(instance, schema["const"]):
        errors.append(f"{path}: value does not equal the required constant")

    if _is_number(instance):
        if "minimum" in schema and instance < schema["minimum"]:
            errors.append(f"{path}: {instance} is less than the minimum {schema['minimum']}")
        if "maximum" in schema and instance > schema["maximum"]:
            errors.append(f"{path}: {instance} is greater than the maximum {schema['maximum']}")
        if "exclusiveMinimum" in schema and instance <= schema["exclusiveMinimum"]:
            errors.append(f"{path}: {instance} is not greater than {schema['exclusiveMinimum']}")
        if "exclusiveMaximum" in schema and instance >= schema["exclusiveMaximum"]:
            errors.append(f"{path}: {instance} is not less than {schema['exclusiveMaximum']}")
        if "multipleOf" in schema:
            quotient = instance / schema["multipleOf"]
            if not math.isclose(quotient, round(quotient), rel_tol=1e-9, abs_tol=1e-9):
                errors.append(f"{path}: {instance} is not a multiple of {schema['multipleOf']}")

    if isinstance(instance, str):
        if "minLength" in schema and len(instance) < schema["minLength"]:
            errors.append(f"{path}: string is shorter than {schema['minLength']} characters")
        if "maxLength" in schema and len(instance) > schema["maxLength"]:
            errors.append(f"{path}: string is longer than {schema['maxLength']} characters")
        if "pattern" in schema and not compile_pattern(schema["pattern"]).search(instance):
            errors.append(f"{path}: string does not match the pattern {schema['pattern']!r}")

    if isinstance(instance, list):
        if "minItems" in schema and len(instance) < schema["minItems"]:
            errors.append(f"{path}: array has fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(instance) > schema["maxItems"]:
            errors.append(f"{path}: array has more than {schema['maxItems']} items")
        if schema.get("uniqueItems"):
            for i, item in enumerate(instance):
                if any(json_equal(item, other) for other in instance[:i]):
                    errors.append(f"{path}: array items are not unique")
                    break
        if "items" in schema:
            for i, item in enumerate(instance):
                _validate(item, schema["items"], f"{path}[{i}]", errors, limit)

    if isinstance(instance, dict):
        if "minProperties" in schema and len(instance) < schema["minProperties"]:
            errors.append(f"{path}: object has fewer than {schema['minProperties']} properties")
        if "maxProperties" in schema and len(instance) > schema["maxProperties"]:
            errors.append(f"{path}: object has more than {schema['maxProperties']} properties")
        for name in schema.get("required", []):
            if name not in instance:
                errors.append(f"{path}: missing required property '{name}'")
        properties: dict[str, Any] = schema.get("properties", {})
        for name, value in instance.items():
            if name in properties:
                _validate(value, properties[name], f"{path}.{name}", errors, limit)
            elif "additionalProperties" in schema:
                extra = schema["additionalProperties"]
                if extra is False:
                    errors.append(f"{path}: property '{name}' is not allowed")
                else:
                    _validate(value, extra, f"{path}.{name}", errors, limit)

    if "allOf" in schema:
        for sub in schema["allOf"]:
            _validate(instance, sub, path, errors, limit)
    if "anyOf" in schema and not any(not validate(instance, sub, path, 1) for sub in schema["anyOf"]):
        errors.append(f"{path}: value matches none of the 'anyOf' schemas")
    if "oneOf" in schema:
        matches = sum(1 for sub in schema["oneOf"] if not validate(instance, sub, path, 1))
        if matches != 1:
            errors.append(f"{path}: value matches {matches} of the 'oneOf' schemas, not exactly one")
    if "not" in schema and not validate(instance, schema["not"], path, 1):
        errors.append(f"{path}: value matches the 'not' schema")
