"""The JSON Schema subset: each keyword accepts what it should and rejects what it should."""

from __future__ import annotations

from typing import Any

import pytest

from evalgate.errors import InvalidInput
from evalgate.scoring.jsonschema_lite import check_schema, json_equal, validate
from evalgate.scoring.text import extract_json_values

CASES: list[tuple[dict[str, Any] | bool, Any, bool]] = [
    (True, {"anything": 1}, True),
    (False, 1, False),
    ({"type": "integer"}, 3, True),
    ({"type": "integer"}, 3.0, True),
    ({"type": "integer"}, 3.5, False),
    ({"type": "integer"}, True, False),
    ({"type": "number"}, False, False),
    ({"type": ["string", "null"]}, None, True),
    ({"type": ["string", "null"]}, 1, False),
    ({"enum": [1, "a"]}, 1.0, True),
    ({"enum": [1, "a"]}, True, False),
    ({"const": {"a": [1, 2]}}, {"a": [1, 2]}, True),
    ({"const": {"a": [1, 2]}}, {"a": [2, 1]}, False),
    ({"minimum": 0, "maximum": 10}, 10, True),
    ({"minimum": 0, "maximum": 10}, -1, False),
    ({"exclusiveMinimum": 0}, 0, False),
    ({"exclusiveMaximum": 1}, 0.99, True),
    ({"multipleOf": 0.1}, 0.3, True),
    ({"multipleOf": 2}, 3, False),
    ({"minLength": 2, "maxLength": 3}, "héy", True),
    ({"maxLength": 2}, "abc", False),
    ({"pattern": "^[a-z]+$"}, "abc", True),
    ({"pattern": "\\d"}, "a1b", True),  # unanchored search
    ({"pattern": "^[a-z]+$"}, "ab1", False),
    ({"minimum": 5}, "not a number", True),  # numeric keywords ignore other types
    ({"items": {"type": "string"}, "minItems": 1, "maxItems": 2}, ["a", "b"], True),
    ({"items": {"type": "string"}}, ["a", 1], False),
    ({"maxItems": 1}, [1, 2], False),
    ({"uniqueItems": True}, [1, 1.0], False),
    ({"uniqueItems": True}, [1, True], True),
    ({"required": ["a"], "properties": {"a": {"type": "string"}}}, {"a": "x", "b": 1}, True),
    ({"required": ["a"]}, {"b": 1}, False),
    ({"properties": {"a": {"type": "string"}}, "additionalProperties": False}, {"a": "x", "b": 1}, False),
    ({"additionalProperties": {"type": "integer"}}, {"b": 1}, True),
    ({"additionalProperties": {"type": "integer"}}, {"b": "1"}, False),
    ({"minProperties": 1, "maxProperties": 1}, {}, False),
    ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, 2, True),
    ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, 2.5, False),
    ({"oneOf": [{"type": "number"}, {"type": "integer"}]}, 2, False),  # matches both
    ({"oneOf": [{"type": "number"}, {"type": "integer"}]}, 2.5, True),
    ({"allOf": [{"minimum": 1}, {"maximum": 3}]}, 4, False),
    ({"not": {"type": "null"}}, None, False),
    ({"title": "annotations are ignored", "format": "email", "$schema": "x"}, "not an email", True),
    (
        {"type": "object", "properties": {"items": {"type": "array", "items": {"required": ["id"]}}}},
        {"items": [{"id": 1}, {"name": "x"}]},
        False,
    ),
]


@pytest.mark.parametrize(("schema", "instance", "valid"), CASES)
def test_validate(schema: Any, instance: Any, valid: bool) -> None:
    check_schema(schema, "value")
    assert (validate(instance, schema) == []) is valid


def test_errors_name_the_path() -> None:
    schema = {"properties": {"user": {"properties": {"age": {"type": "integer"}}}}}
    assert validate({"user": {"age": "x"}}, schema) == ["$.user.age: expected integer, got string"]


def test_error_list_is_bounded() -> None:
    assert len(validate(list(range(50)), {"items": {"type": "string"}}, limit=5)) == 5


def test_check_schema_rejects_unknown_keywords_with_path() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_schema({"properties": {"a": {"patternProperties": {}}}}, "v")
    assert caught.value.field == "v.properties.a.patternProperties"


def test_json_equal_treats_booleans_apart_from_numbers() -> None:
    assert json_equal(1, 1.0)
    assert not json_equal(1, True)
    assert json_equal({"a": [1, {"b": None}]}, {"a": [1.0, {"b": None}]})
    assert not json_equal({"a": 1}, {"a": 1, "b": 2})


def test_extract_json_values_finds_outermost_objects_and_arrays() -> None:
    text = 'Sure! {"a": {"b": 1}} and [1, 2] but not {broken} nor {"c": NaN}. Done'
    assert extract_json_values(text) == [{"a": {"b": 1}}, [1, 2]]
