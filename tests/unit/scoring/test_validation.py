"""validate_assertions: names and aliases, the normalized shape, and the exact field of every rejected config."""

from __future__ import annotations

from typing import Any

import pytest

from evalgate.errors import InvalidInput
from evalgate.scoring import ALIASES, ASSERTION_TYPES, TYPES, validate_assertions


def test_assertion_types_lists_every_canonical_name_and_alias_without_not_prefix() -> None:
    expected_canonical = {
        "equals", "contains", "icontains", "contains-any", "contains-all", "icontains-any", "icontains-all",
        "starts-with", "ends-with", "regex", "is-json", "contains-json", "word-count", "length", "token-count",
        "levenshtein", "rouge-n", "bleu", "similar", "latency", "cost", "llm-rubric", "g-eval", "factuality",
        "answer-relevance", "context-faithfulness", "llm-judge", "sentiment", "gleu", "meteor", "is-xml",
        "contains-xml", "is-html", "contains-html", "is-refusal", "finish-reason", "perplexity", "perplexity-score",
        "is-valid-openai-tools-call", "is-valid-openai-function-call", "model-graded-closedqa", "context-recall",
        "context-relevance", "is-sql", "contains-sql", "select-best", "max-score",
    }  # fmt: skip
    expected_aliases = {
        "not_contains", "matches", "starts_with", "ends_with", "json_valid", "word_count", "llm_judge",
        "similar_to", "token_count", "model-graded-factuality", "is-valid-function-call", "similar:cosine",
    }  # fmt: skip
    assert set(TYPES) == expected_canonical
    assert set(ALIASES) == expected_aliases
    assert expected_canonical | expected_aliases == ASSERTION_TYPES
    assert not any(name.startswith("not-") for name in ASSERTION_TYPES)
    assert validate_assertions([{"type": "not-model-graded-factuality", "value": "x"}])[0]["type"] == "factuality"


@pytest.mark.parametrize(
    ("written", "canonical", "negate"),
    [
        ("contains", "contains", False),
        ("not-contains", "contains", True),
        ("not_contains", "contains", True),
        ("matches", "regex", False),
        ("not-matches", "regex", True),
        ("starts_with", "starts-with", False),
        ("ends_with", "ends-with", False),
        ("json_valid", "is-json", False),
        ("word_count", "word-count", False),
        ("llm_judge", "llm-judge", False),
        ("similar_to", "similar", False),
        ("token_count", "token-count", False),
        ("not-similar_to", "similar", True),
    ],
)
def test_names_resolve_to_canonical_type_and_keep_the_written_operator(
    written: str, canonical: str, negate: bool
) -> None:
    value: Any = {"max": 5} if canonical in ("word-count", "token-count") else "x"
    if canonical == "is-json":
        value = None
    [spec] = validate_assertions([{"type": written, "value": value}])
    assert (spec["type"], spec["negate"], spec["operator"]) == (canonical, negate, written)


def test_normalized_shape_fills_defaults() -> None:
    # Given a minimal promptfoo-style config / When validated / Then every key of the normalized shape is present
    [spec] = validate_assertions([{"type": "similar", "value": "The sky is blue"}])
    assert spec == {
        "type": "similar",
        "operator": "similar",
        "negate": False,
        "value": "The sky is blue",
        "threshold": 0.75,
        "weight": 1.0,
    }


@pytest.mark.parametrize(
    ("type_", "threshold"),
    [
        ("levenshtein", 5),
        ("rouge-n", 0.75),
        ("bleu", 0.5),
        ("similar", 0.75),
        ("g-eval", 0.7),
        ("answer-relevance", 0.7),
        ("context-faithfulness", 0.7),
        ("llm-rubric", None),
        ("factuality", None),
    ],
)
def test_default_thresholds(type_: str, threshold: float | None) -> None:
    raw: dict[str, Any] = {"type": type_}
    if type_ not in ("answer-relevance", "context-faithfulness"):
        raw["value"] = "reference"
    [spec] = validate_assertions([raw])
    assert spec["threshold"] == threshold


def test_rouge_n_keeps_n_with_default_one() -> None:
    [default, bigram] = validate_assertions(
        [{"type": "rouge-n", "value": "a b"}, {"type": "rouge-n", "value": "a b", "n": 2}]
    )
    assert default["n"] == 1
    assert bigram["n"] == 2


def test_normalizing_twice_changes_nothing() -> None:
    raw = [
        {"type": "not_contains", "value": "x", "weight": 2},
        {"type": "contains", "negate": True, "value": "y"},
        {"type": "matches", "negate": True, "value": "z"},
        {"type": "word-count", "value": 3},
        {"type": "contains-any", "value": "a, b ,c"},
        {"type": "latency", "value": 200},
        {"type": "cost", "weight": 0},
        {"type": "rouge-n", "value": "a b", "n": 2, "metric": "overlap"},
        {"type": "factuality", "factuality": {"superset": 0.5}, "description": "facts"},
        {"type": "is-json", "value": '{"type": "object"}'},
        {"type": "sentiment", "value": " Positive "},
        {"type": "equals", "value": 3.0},
    ]
    once = validate_assertions(raw)
    assert validate_assertions(once) == once
    assert [s["operator"] for s in once[:3]] == ["not_contains", "not-contains", "not-matches"]
    assert once[3]["value"] == {"min": 3, "max": 3}
    assert once[4]["value"] == ["a", "b", "c"]
    assert (once[5]["threshold"], once[5]["value"]) == (200.0, None)
    assert once[6]["threshold"] is None
    assert once[9]["value"] == {"type": "object"}
    assert once[10]["value"] == "positive"
    assert once[7]["metric"] == "overlap"


def test_echostash_api_and_shorthand_shapes_are_accepted() -> None:
    # Given the Echostash run-response shape and the PDK shorthand / When validated / Then they normalize alike
    specs = validate_assertions(
        [
            {"operator": "contains", "expected": "Hello"},
            {"contains": "Hello"},
            {"length": {"min": 50, "max": 500}},
            {"llm_judge": "Is the response welcoming?", "weight": 2},
            {"latency": 800},
            {"type": "equals", "expected": "Hi"},
        ]
    )
    assert specs[0] == specs[1] == {**specs[0], "type": "contains", "value": "Hello"}
    assert specs[2]["value"] == {"min": 50, "max": 500}
    assert (specs[3]["type"], specs[3]["operator"], specs[3]["weight"]) == ("llm-judge", "llm_judge", 2.0)
    assert specs[4]["threshold"] == 800.0
    assert specs[5]["value"] == "Hi"


BAD: list[tuple[str, Any, str, str]] = [
    # id, assertions, field, message fragment
    ("not-a-list", {"type": "contains"}, "assertions", "must be a list"),
    ("item-not-object", ["contains"], "assertions[0]", "must be an object"),
    ("unknown-type", [{"type": "contains-some", "value": "x"}], "assertions[0].type", "unknown assertion type"),
    ("empty-type", [{"type": " ", "value": "x"}], "assertions[0].type", "non-empty"),
    ("javascript", [{"type": "javascript", "value": "output.length > 1"}], "assertions[0].type", "not supported"),
    ("python", [{"type": "python", "value": "len(output)"}], "assertions[0].type", "not supported"),
    ("not-python", [{"type": "not-python", "value": "x"}], "assertions[0].type", "not supported"),
    ("double-negation", [{"type": "not-not_contains", "value": "x"}], "assertions[0].type", "already negated"),
    ("no-type", [{"value": "x"}], "assertions[0].type", "needs a 'type'"),
    (
        "unknown-key",
        [{"type": "contains", "value": "x", "treshold": 1}],
        "assertions[0].treshold",
        "unknown assertion key",
    ),
    (
        "provider-key",
        [{"type": "llm-rubric", "value": "x", "provider": "openai:gpt-4"}],
        "assertions[0].provider",
        "unknown",
    ),
    ("value-and-expected", [{"type": "contains", "value": "x", "expected": "y"}], "assertions[0].expected", "not both"),
    ("negate-not-bool", [{"type": "contains", "value": "x", "negate": "yes"}], "assertions[0].negate", "true or false"),
    (
        "negate-contradiction",
        [{"type": "not-contains", "value": "x", "negate": False}],
        "assertions[0].negate",
        "contradicts",
    ),
    (
        "operator-mismatch",
        [{"type": "contains", "operator": "equals", "value": "x"}],
        "assertions[0].operator",
        "disagrees",
    ),
    ("weight-negative", [{"type": "contains", "value": "x", "weight": -1}], "assertions[0].weight", "0 or more"),
    ("weight-string", [{"type": "contains", "value": "x", "weight": "2"}], "assertions[0].weight", "number"),
    ("weight-bool", [{"type": "contains", "value": "x", "weight": True}], "assertions[0].weight", "number"),
    ("weight-inf", [{"type": "contains", "value": "x", "weight": float("inf")}], "assertions[0].weight", "number"),
    ("metric-not-string", [{"type": "contains", "value": "x", "metric": 5}], "assertions[0].metric", "string"),
    (
        "threshold-unused",
        [{"type": "contains", "value": "x", "threshold": 0.5}],
        "assertions[0].threshold",
        "does not use",
    ),
    (
        "index-of-third",
        [{"contains": "a"}, {"contains": "b"}, {"type": "contains", "value": ""}],
        "assertions[2].value",
        "empty",
    ),
    # equals / contains family
    ("equals-nan", [{"type": "equals", "value": float("nan")}], "assertions[0].value", "must be a string"),
    ("contains-list", [{"type": "contains", "value": ["x"]}], "assertions[0].value", "must be a string"),
    ("contains-empty", [{"type": "contains", "value": "  "}], "assertions[0].value", "must not be empty"),
    ("icontains-object", [{"type": "icontains", "value": {"a": 1}}], "assertions[0].value", "must be a string"),
    ("starts-with-bool", [{"type": "starts-with", "value": True}], "assertions[0].value", "must be a string"),
    ("ends-with-empty", [{"ends_with": ""}], "assertions[0].ends_with", "must not be empty"),
    ("contains-any-missing", [{"type": "contains-any"}], "assertions[0].value", "needs a value"),
    ("contains-all-empty-list", [{"type": "contains-all", "value": []}], "assertions[0].value", "non-empty list"),
    ("icontains-any-bad-item", [{"type": "icontains-any", "value": ["a", 3, ""]}], "assertions[0].value[2]", "empty"),
    ("icontains-all-dict-item", [{"type": "icontains-all", "value": ["a", {}]}], "assertions[0].value[1]", "string"),
    ("contains-any-commas-only", [{"type": "contains-any", "value": " , ,"}], "assertions[0].value", "at least one"),
    # regex
    ("regex-missing", [{"type": "regex"}], "assertions[0].value", "needs a value"),
    (
        "regex-invalid",
        [{"type": "regex", "value": "(unclosed"}],
        "assertions[0].value",
        "not a valid regular expression",
    ),
    (
        "regex-invalid-around-var",
        [{"type": "matches", "value": "{{name}}("}],
        "assertions[0].value",
        "regular expression",
    ),
    # JSON schemas
    (
        "schema-bad-type",
        [{"type": "is-json", "value": {"type": "objekt"}}],
        "assertions[0].value.type",
        "not valid",
    ),
    (
        "schema-nested",
        [{"type": "is-json", "value": {"properties": {"age": {"minimum": "18"}}}}],
        "assertions[0].value.properties.age.minimum",
        "not of type 'number'",
    ),
    (
        "schema-unknown-keyword",
        [{"type": "is-json", "value": {"properties": {"a": {"minimumm": 1}}}}],
        "assertions[0].value.properties.a.minimumm",
        "unknown JSON Schema keyword",
    ),
    (
        "schema-unknown-format",
        [{"type": "is-json", "value": {"format": "emial"}}],
        "assertions[0].value.format",
        "unknown format",
    ),
    ("schema-yaml-not-schema", [{"type": "is-json", "value": "just: [text"}], "assertions[0].value", "neither JSON"),
    ("schema-yaml-scalar", [{"type": "is-json", "value": "hello"}], "assertions[0].value", "object or a boolean"),
    ("schema-not-json", [{"type": "json_valid", "value": "{not json"}], "assertions[0].value", "JSON Schema"),
    ("schema-file", [{"type": "is-json", "value": "file://schema.json"}], "assertions[0].value", "file://"),
    ("schema-number", [{"type": "is-json", "value": 5}], "assertions[0].value", "object or a boolean"),
    (
        "schema-empty-anyof",
        [{"type": "contains-json", "value": {"anyOf": []}}],
        "assertions[0].value.anyOf",
        "non-empty",
    ),
    (
        "schema-bad-pattern",
        [{"type": "contains-json", "value": {"items": {"pattern": "(["}}}],
        "assertions[0].value.items.pattern",
        "'regex'",
    ),
    ("schema-required", [{"type": "is-json", "value": {"required": "a"}}], "assertions[0].value.required", "'array'"),
    (
        "schema-minlength",
        [{"type": "is-json", "value": {"minLength": -1}}],
        "assertions[0].value.minLength",
        "minimum of 0",
    ),
    (
        "schema-multipleof",
        [{"type": "is-json", "value": {"multipleOf": 0}}],
        "assertions[0].value.multipleOf",
        "minimum of 0",
    ),
    # counts
    ("word-count-missing", [{"type": "word-count"}], "assertions[0].value", "required"),
    ("word-count-negative", [{"type": "word-count", "value": -1}], "assertions[0].value", "0 or more"),
    ("word-count-fraction", [{"type": "word-count", "value": 2.5}], "assertions[0].value", "whole number"),
    (
        "word-count-min-over-max",
        [{"type": "word-count", "value": {"min": 5, "max": 2}}],
        "assertions[0].value.min",
        "greater",
    ),
    ("word-count-empty-range", [{"type": "word-count", "value": {}}], "assertions[0].value", "min, max"),
    ("word-count-typo", [{"type": "word-count", "value": {"mn": 1}}], "assertions[0].value.mn", "unknown key"),
    ("length-string-max", [{"type": "length", "value": {"max": "10"}}], "assertions[0].value.max", "whole number"),
    ("token-count-bool", [{"token_count": {"max": True}}], "assertions[0].token_count.max", "whole number"),
    # metrics
    (
        "levenshtein-negative",
        [{"type": "levenshtein", "value": "x", "threshold": -1}],
        "assertions[0].threshold",
        "0 or more",
    ),
    (
        "rouge-over-one",
        [{"type": "rouge-n", "value": "x", "threshold": 1.5}],
        "assertions[0].threshold",
        "between 0 and 1",
    ),
    ("rouge-n-five", [{"type": "rouge-n", "value": "x", "n": 5}], "assertions[0].n", "1 to 4"),
    ("n-on-contains", [{"type": "contains", "value": "x", "n": 2}], "assertions[0].n", "only used by rouge-n"),
    (
        "bleu-threshold-string",
        [{"type": "bleu", "value": "x", "threshold": "high"}],
        "assertions[0].threshold",
        "number",
    ),
    ("bleu-empty-list", [{"type": "bleu", "value": []}], "assertions[0].value", "non-empty list"),
    (
        "similar-over-one",
        [{"type": "similar", "value": "x", "threshold": 2}],
        "assertions[0].threshold",
        "between 0 and 1",
    ),
    ("similar-bad-ref", [{"type": "similar_to", "value": ["ok", ""]}], "assertions[0].value[1]", "empty"),
    # performance
    ("latency-no-threshold", [{"type": "latency"}], "assertions[0].threshold", "needs a threshold"),
    ("latency-negative-value", [{"type": "latency", "value": -5}], "assertions[0].value", "0 or more"),
    ("latency-both", [{"type": "latency", "value": 100, "threshold": 200}], "assertions[0].threshold", "once"),
    ("latency-shorthand-text", [{"latency": "fast"}], "assertions[0].latency", "must be a number"),
    ("cost-negative", [{"type": "cost", "threshold": -0.1}], "assertions[0].threshold", "0 or more"),
    ("cost-no-threshold", [{"type": "cost"}], "assertions[0].threshold", "weight 0"),
    ("not-cost-no-threshold", [{"type": "not-cost", "weight": 0}], "assertions[0].threshold", "needs a threshold"),
    # model-graded
    ("rubric-missing", [{"type": "llm-rubric"}], "assertions[0].value", "needs a value"),
    (
        "rubric-threshold",
        [{"type": "llm-rubric", "value": "x", "threshold": 1.2}],
        "assertions[0].threshold",
        "between 0 and 1",
    ),
    ("g-eval-empty-list", [{"type": "g-eval", "value": []}], "assertions[0].value", "non-empty list"),
    ("g-eval-empty-criterion", [{"type": "g-eval", "value": ["ok", " "]}], "assertions[0].value[1]", "empty"),
    (
        "factuality-score",
        [{"type": "factuality", "factuality": {"agree": 2}}],
        "assertions[0].factuality.agree",
        "between 0 and 1",
    ),
    (
        "factuality-category",
        [{"type": "factuality", "factuality": {"bogus": 1}}],
        "assertions[0].factuality.bogus",
        "unknown",
    ),
    (
        "factuality-on-contains",
        [{"type": "contains", "value": "x", "factuality": {}}],
        "assertions[0].factuality",
        "only used",
    ),
    ("relevance-value", [{"type": "answer-relevance", "value": "q"}], "assertions[0].value", "takes no value"),
    (
        "relevance-threshold",
        [{"type": "answer-relevance", "threshold": -0.1}],
        "assertions[0].threshold",
        "between 0 and 1",
    ),
    (
        "faithfulness-threshold",
        [{"type": "context-faithfulness", "threshold": 3}],
        "assertions[0].threshold",
        "between",
    ),
    ("llm-judge-missing", [{"type": "llm_judge"}], "assertions[0].value", "needs a value"),
    (
        "llm-judge-threshold",
        [{"type": "llm-judge", "value": "q?", "threshold": 0.5}],
        "assertions[0].threshold",
        "does not use",
    ),
    ("sentiment-unknown", [{"type": "sentiment", "value": "happy"}], "assertions[0].value", "positive, negative"),
    ("sentiment-shorthand", [{"sentiment": 1}], "assertions[0].sentiment", "positive, negative"),
]


@pytest.mark.parametrize(("raw", "field", "fragment"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_configs_are_rejected_with_the_exact_field(raw: Any, field: str, fragment: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_assertions(raw)
    assert caught.value.field == field
    assert fragment in caught.value.message


def test_field_prefix_can_be_chosen_by_the_caller() -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_assertions([{"type": "regex", "value": "("}], field="tests[1].assertions")
    assert caught.value.field == "tests[1].assertions[0].value"


def test_too_many_assertions_are_rejected() -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_assertions([{"contains": "x"}] * 101)
    assert caught.value.field == "assertions"


def test_code_assertions_explain_the_alternatives() -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_assertions([{"type": "javascript", "value": "output.includes('a')"}])
    assert "does not run user code" in caught.value.message


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "regex", "value": "{{name}}+"},  # template variables are filled in at run time
        {"type": "cost", "weight": 0},  # informational: no threshold needed
        {"type": "latency", "weight": 0},
        {"type": "equals"},  # falls back to the case's expected output
        {"type": "similar"},
        {"type": "levenshtein", "threshold": 0},
        {"type": "is-json", "value": True},
        {"type": "is-json", "value": ""},
        {"type": "contains", "value": 0},
        {"type": "contains", "value": "x", "weight": 0},
        {
            "type": "is-json",
            "value": {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "title": "t",
                "type": ["object", "null"],
                "properties": {"a": {"type": "string", "format": "email", "enum": ["x@y.z"]}},
                "additionalProperties": {"type": "integer"},
                "oneOf": [{"required": ["a"]}, {"required": ["b"]}],
                "not": {"const": {}},
            },
        },
    ],
)
def test_good_configs_are_accepted(raw: dict[str, Any]) -> None:
    [spec] = validate_assertions([raw])
    assert spec["type"] == raw["type"]


@pytest.mark.parametrize("name", ["select-best", "max-score"])
def test_comparison_types_are_refused_where_a_case_has_one_output(name: str) -> None:
    # Given a comparison type where each case has one output (explore, eval scorers, monitors, the SDK)
    compared = {"type": name, "value": "x" if name == "select-best" else {}}
    with pytest.raises(InvalidInput) as caught:
        validate_assertions([{"type": "contains", "value": "a"}, compared])
    # Then saving says why and where to use it instead
    assert caught.value.field == "assertions[1].type"
    assert "several prompts or providers" in caught.value.message and "/eval/compare" in caught.value.message


@pytest.mark.parametrize(
    ("value", "field", "words"),
    [
        ("SELECT", "assertions[0].value", "must be an object"),
        ({"databaseType": "Oracle9"}, "assertions[0].value.databaseType", "must be one of"),
        ({"allowedTables": "users"}, "assertions[0].value.allowedTables", "list"),
        ({"allowedColumns": ["select::null::(name"]}, "assertions[0].value.allowedColumns[0]", "not a valid pattern"),
        ({"allowedTable": ["x"]}, "assertions[0].value.allowedTable", "unknown key"),
    ],
)
def test_sql_assertion_values_are_checked_when_saved(value: Any, field: str, words: str) -> None:
    # Given an is-sql value promptfoo would only trip over at run time / Then saving it names the field
    with pytest.raises(InvalidInput) as caught:
        validate_assertions([{"type": "is-sql", "value": value}])
    assert caught.value.field == field
    assert words in caught.value.message


def test_sql_assertion_value_is_normalised() -> None:
    [spec] = validate_assertions(
        [{"type": "not-contains-sql", "value": {"databaseType": "PostgresQL", "allowedTables": ["select::null::t"]}}]
    )
    assert spec["value"] == {"databaseType": "PostgresQL", "allowedTables": ["select::null::t"]}
    assert spec["negate"] is True
    assert validate_assertions([spec]) == [spec]
