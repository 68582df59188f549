"""Every assertion type (and every alias) passes and fails on a matching and a non-matching output, and its
not- form does the opposite with score 1 - base score."""

from __future__ import annotations

import json
from typing import Any

import pytest

from evalgate.scoring import ASSERTION_TYPES, TYPES, CaseOutput, evaluate
from evalgate.scoring.compare import COMPARISON_TYPES
from tests.unit.scoring.fakes import FakeEmbedder, FakeJudge

TOOLS: Any = json.loads(
    '[{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", '
    '"required": ["city"], "properties": {"city": {"type": "string"}}}}}]'
)

EMBEDDINGS = {
    "The sky is blue.": [1.0, 0.0],
    "Blue is the colour of the sky.": [0.96, 0.28],  # cosine 0.96 with the first
    "I like trains.": [0.0, 1.0],  # cosine 0 with the first
}


def judged(reply: dict[str, Any]) -> str:
    return json.dumps(reply)


# id, assertion, output kwargs, judge reply (None: no judge needed), does the base check pass?
CASES: list[tuple[str, dict[str, Any], dict[str, Any], str | None, bool]] = [
    ("equals", {"type": "equals", "value": "Paris"}, {"output": "Paris"}, None, True),
    ("equals-differs", {"type": "equals", "value": "Paris"}, {"output": "Paris."}, None, False),
    (
        "equals-json",
        {"type": "equals", "value": {"a": 1, "b": [1, 2]}},
        {"output": '{"b": [1, 2.0], "a": 1}'},
        None,
        True,
    ),
    ("equals-json-differs", {"type": "equals", "value": {"a": 1}}, {"output": '{"a": true}'}, None, False),
    ("equals-number", {"type": "equals", "value": 42}, {"output": "42"}, None, True),
    ("contains", {"type": "contains", "value": "Hello"}, {"output": "Hello Dr. Smith"}, None, True),
    ("contains-case", {"type": "contains", "value": "hello"}, {"output": "Hello Dr. Smith"}, None, False),
    ("icontains", {"type": "icontains", "value": "HELLO"}, {"output": "Hello Dr. Smith"}, None, True),
    ("icontains-miss", {"type": "icontains", "value": "bye"}, {"output": "Hello"}, None, False),
    ("contains-any", {"type": "contains-any", "value": ["cat", "dog"]}, {"output": "a dog"}, None, True),
    ("contains-any-miss", {"type": "contains-any", "value": ["cat", "dog"]}, {"output": "a DOG"}, None, False),
    ("contains-all", {"type": "contains-all", "value": ["cat", "dog"]}, {"output": "cat and dog"}, None, True),
    ("contains-all-miss", {"type": "contains-all", "value": ["cat", "dog"]}, {"output": "cat only"}, None, False),
    ("icontains-any", {"type": "icontains-any", "value": ["CAT", "x"]}, {"output": "a cat"}, None, True),
    ("icontains-any-miss", {"type": "icontains-any", "value": ["CAT", "x"]}, {"output": "a dog"}, None, False),
    ("icontains-all", {"type": "icontains-all", "value": ["CAT", "Dog"]}, {"output": "cat DOG"}, None, True),
    ("icontains-all-miss", {"type": "icontains-all", "value": ["CAT", "Dog"]}, {"output": "cat"}, None, False),
    ("starts-with", {"type": "starts-with", "value": "Yes"}, {"output": "Yes, indeed"}, None, True),
    ("starts-with-miss", {"type": "starts-with", "value": "Yes"}, {"output": "No. Yes"}, None, False),
    ("ends-with", {"type": "ends-with", "value": "Bye."}, {"output": "Thanks. Bye."}, None, True),
    ("ends-with-miss", {"type": "ends-with", "value": "Bye."}, {"output": "Bye. Thanks."}, None, False),
    ("regex", {"type": "regex", "value": r"\d{4}"}, {"output": "in 2024"}, None, True),
    ("regex-miss", {"type": "regex", "value": r"\d{4}"}, {"output": "in 24"}, None, False),
    ("regex-js-named-group", {"type": "regex", "value": r"(?<year>\d{4})"}, {"output": "1999"}, None, True),
    ("is-json", {"type": "is-json"}, {"output": ' {"a": [1, null]} '}, None, True),
    ("is-json-miss", {"type": "is-json"}, {"output": '```json\n{"a": 1}\n```'}, None, False),
    ("is-json-nan", {"type": "is-json"}, {"output": '{"a": NaN}'}, None, False),
    (
        "is-json-schema",
        {"type": "is-json", "value": {"type": "object", "required": ["lat"], "properties": {"lat": {"maximum": 90}}}},
        {"output": '{"lat": 45}'},
        None,
        True,
    ),
    (
        "is-json-schema-miss",
        {"type": "is-json", "value": {"type": "object", "required": ["lat"], "properties": {"lat": {"maximum": 90}}}},
        {"output": '{"lat": 95}'},
        None,
        False,
    ),
    ("contains-json", {"type": "contains-json"}, {"output": 'Here: {"a": 1} done'}, None, True),
    ("contains-json-miss", {"type": "contains-json"}, {"output": "Here: no object [1, 2] done"}, None, False),
    ("contains-json-yaml-flow", {"type": "contains-json"}, {"output": "Here: {a: 1} done"}, None, True),
    (
        "contains-json-schema-second",
        {"type": "contains-json", "value": {"type": "object", "required": ["b"]}},
        {"output": 'first {"a": 1} then {"b": 2} end'},
        None,
        True,
    ),
    (
        "contains-json-schema-miss",
        {"type": "contains-json", "value": {"required": ["b"]}},
        {"output": 'first {"a": 1} end'},
        None,
        False,
    ),
    ("word-count", {"type": "word-count", "value": 3}, {"output": " one  two\nthree "}, None, True),
    ("word-count-miss", {"type": "word-count", "value": {"min": 4}}, {"output": "one two three"}, None, False),
    ("length", {"type": "length", "value": {"min": 3, "max": 5}}, {"output": "héllo"}, None, True),
    ("length-miss", {"type": "length", "value": {"max": 4}}, {"output": "hello"}, None, False),
    ("token-count", {"type": "token-count", "value": {"max": 10}}, {"output": "x", "output_tokens": 10}, None, True),
    (
        "token-count-miss",
        {"type": "token-count", "value": {"max": 10}},
        {"output": "x", "output_tokens": 11},
        None,
        False,
    ),
    ("levenshtein", {"type": "levenshtein", "value": "kitten", "threshold": 3}, {"output": "sitting"}, None, True),
    (
        "levenshtein-miss",
        {"type": "levenshtein", "value": "kitten", "threshold": 2},
        {"output": "sitting"},
        None,
        False,
    ),
    ("rouge-n", {"type": "rouge-n", "value": "The cat sat down"}, {"output": "The cat sat down."}, None, True),
    ("rouge-n-miss", {"type": "rouge-n", "value": "the cat sat"}, {"output": "a dog ran"}, None, False),
    ("bleu", {"type": "bleu", "value": "the cat sat on the mat"}, {"output": "The cat sat on the mat!"}, None, True),
    ("bleu-miss", {"type": "bleu", "value": "the cat sat on the mat"}, {"output": "a dog ran off"}, None, False),
    (
        "similar",
        {"type": "similar", "value": "Blue is the colour of the sky."},
        {"output": "The sky is blue."},
        None,
        True,
    ),
    ("similar-miss", {"type": "similar", "value": "I like trains."}, {"output": "The sky is blue."}, None, False),
    ("latency", {"type": "latency", "threshold": 500}, {"output": "x", "latency_ms": 500}, None, True),
    ("latency-miss", {"type": "latency", "threshold": 500}, {"output": "x", "latency_ms": 500.5}, None, False),
    ("cost", {"type": "cost", "threshold": 0.01}, {"output": "x", "cost_usd": 0.002}, None, True),
    ("cost-miss", {"type": "cost", "threshold": 0.01}, {"output": "x", "cost_usd": 0.02}, None, False),
    (
        "llm-rubric",
        {"type": "llm-rubric", "value": "is polite"},
        {"output": "Thank you!"},
        judged({"pass": True, "score": 0.9}),
        True,
    ),
    (
        "llm-rubric-miss",
        {"type": "llm-rubric", "value": "is polite"},
        {"output": "Go away"},
        judged({"pass": False, "score": 0.1}),
        False,
    ),
    ("g-eval", {"type": "g-eval", "value": "coherent"}, {"output": "x"}, judged({"scores": [8]}), True),
    ("g-eval-miss", {"type": "g-eval", "value": "coherent"}, {"output": "x"}, judged({"scores": [6]}), False),
    (
        "factuality",
        {"type": "factuality", "value": "Paris is the capital"},
        {"output": "Paris"},
        judged({"category": "A"}),
        True,
    ),
    (
        "factuality-miss",
        {"type": "factuality", "value": "Paris is the capital"},
        {"output": "Rome"},
        judged({"category": "D"}),
        False,
    ),
    (
        "answer-relevance",
        {"type": "answer-relevance"},
        {"output": "Paris", "prompt": "Capital of France?"},
        judged({"score": 0.95}),
        True,
    ),
    (
        "answer-relevance-miss",
        {"type": "answer-relevance"},
        {"output": "Bananas", "prompt": "Capital of France?"},
        judged({"score": 0.1}),
        False,
    ),
    (
        "context-faithfulness",
        {"type": "context-faithfulness"},
        {"output": "Paris", "context": "Paris is the capital of France."},
        judged({"claims": [{"claim": "Paris", "supported": True}]}),
        True,
    ),
    (
        "context-faithfulness-miss",
        {"type": "context-faithfulness"},
        {"output": "Lyon", "context": "Paris is the capital of France."},
        judged({"claims": [{"claim": "Lyon", "supported": False}]}),
        False,
    ),
    (
        "llm-judge",
        {"type": "llm-judge", "value": "Is it polite?"},
        {"output": "Please"},
        judged({"answer": "yes"}),
        True,
    ),
    (
        "llm-judge-miss",
        {"type": "llm-judge", "value": "Is it polite?"},
        {"output": "No"},
        judged({"answer": "no"}),
        False,
    ),
    (
        "sentiment",
        {"type": "sentiment", "value": "positive"},
        {"output": "Great!"},
        judged({"sentiment": "positive"}),
        True,
    ),
    (
        "sentiment-miss",
        {"type": "sentiment", "value": "positive"},
        {"output": "Awful"},
        judged({"sentiment": "negative"}),
        False,
    ),
    ("gleu", {"type": "gleu", "value": "the cat sat on the mat"}, {"output": "The cat sat on the mat."}, None, True),
    ("gleu-miss", {"type": "gleu", "value": "the cat sat on the mat"}, {"output": "a dog ran off"}, None, False),
    (
        "meteor",
        {"type": "meteor", "value": "the cats sat on the mat"},
        {"output": "the cat sat on the mat"},
        None,
        True,
    ),
    ("meteor-miss", {"type": "meteor", "value": "the cat sat on the mat"}, {"output": "dogs run"}, None, False),
    ("is-xml", {"type": "is-xml", "value": "note.to"}, {"output": "<note><to>Ada</to></note>"}, None, True),
    ("is-xml-miss", {"type": "is-xml"}, {"output": "<note><to>Ada</note>"}, None, False),
    ("contains-xml", {"type": "contains-xml"}, {"output": "Sure: <a><b>1</b></a> done"}, None, True),
    ("contains-xml-miss", {"type": "contains-xml", "value": ["a.c"]}, {"output": "Sure: <a><b>1</b></a>"}, None, False),
    ("is-sql", {"type": "is-sql"}, {"output": "SELECT id, name FROM users WHERE id = 1"}, None, True),
    ("is-sql-miss", {"type": "is-sql"}, {"output": "SELEC id FROM users"}, None, False),
    (
        "contains-sql",
        {"type": "contains-sql", "value": {"allowedTables": ["select::null::users"]}},
        {"output": "Try:\n```sql\nSELECT id FROM users\n```"},
        None,
        True,
    ),
    (
        "contains-sql-other-table",
        {"type": "contains-sql", "value": {"allowedTables": ["select::null::users"]}},
        {"output": "Try:\n```sql\nSELECT id FROM salaries\n```"},
        None,
        False,
    ),
    ("is-html", {"type": "is-html"}, {"output": "<div><p>Hello</p></div>"}, None, True),
    ("is-html-miss", {"type": "is-html"}, {"output": "Hello <b>there</b>"}, None, False),
    ("contains-html", {"type": "contains-html"}, {"output": "See <p>this</p>"}, None, True),
    ("contains-html-miss", {"type": "contains-html"}, {"output": "a < b and c > d"}, None, False),
    ("is-refusal", {"type": "is-refusal"}, {"output": "I'm sorry, I can't help with that."}, None, True),
    ("is-refusal-miss", {"type": "is-refusal"}, {"output": "Paris is the capital."}, None, False),
    ("finish-reason", {"type": "finish-reason", "value": "stop"}, {"output": "x", "finish_reason": "STOP"}, None, True),
    (
        "finish-reason-miss",
        {"type": "finish-reason", "value": "stop"},
        {"output": "x", "finish_reason": "length"},
        None,
        False,
    ),
    ("perplexity", {"type": "perplexity", "threshold": 2}, {"output": "x", "logprobs": [-0.1, -0.3]}, None, True),
    (
        "perplexity-miss",
        {"type": "perplexity", "threshold": 1.1},
        {"output": "x", "logprobs": [-0.1, -0.3]},
        None,
        False,
    ),
    (
        "perplexity-score",
        {"type": "perplexity-score", "threshold": 0.4},
        {"output": "x", "logprobs": [-0.2]},
        None,
        True,
    ),
    (
        "perplexity-score-miss",
        {"type": "perplexity-score", "threshold": 0.5},
        {"output": "x", "logprobs": [-0.2]},
        None,
        False,
    ),
    (
        "closedqa",
        {"type": "model-graded-closedqa", "value": "mentions Paris"},
        {"output": "Paris."},
        "The output names Paris.\nY",
        True,
    ),
    (
        "closedqa-miss",
        {"type": "model-graded-closedqa", "value": "mentions Paris"},
        {"output": "Rome."},
        judged({"reason": "It does not name Paris.", "meets": False}),
        False,
    ),
    (
        "context-recall",
        {"type": "context-recall", "value": "Paris is the capital. It is in France."},
        {"output": "x", "variables": {"context": "Paris, capital of France."}},
        judged({"sentences": [{"sentence": "a", "attributed": True}, {"sentence": "b", "attributed": True}]}),
        True,
    ),
    (
        "context-recall-miss",
        {"type": "context-recall", "value": "Paris is the capital. It has 9 million people."},
        {"output": "x", "variables": {"context": "Paris, capital of France."}},
        judged({"sentences": [{"sentence": "a", "attributed": False}, {"sentence": "b", "attributed": False}]}),
        False,
    ),
    (
        "context-relevance",
        {"type": "context-relevance"},
        {"output": "x", "variables": {"query": "capital?", "context": ["Paris is the capital.", "Cats purr."]}},
        judged({"relevant": [1]}),
        True,
    ),
    (
        "context-relevance-miss",
        {"type": "context-relevance", "threshold": 0.9},
        {"output": "x", "variables": {"query": "capital?", "context": ["Paris is the capital.", "Cats purr."]}},
        judged({"relevant": [1]}),
        False,
    ),
    (
        "is-valid-openai-tools-call",
        {"type": "is-valid-openai-tools-call", "value": TOOLS},
        {
            "output": json.dumps(
                [{"type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]
            )
        },
        None,
        True,
    ),
    (
        "is-valid-openai-tools-call-miss",
        {"type": "is-valid-openai-tools-call", "value": TOOLS},
        {"output": '[{"type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]'},
        None,
        False,
    ),
    (
        "is-valid-openai-function-call",
        {"type": "is-valid-openai-function-call"},
        {"output": '{"name": "get_weather", "arguments": {"city": "Oslo"}}', "variables": {"functions": TOOLS}},
        None,
        True,
    ),
    (
        "is-valid-openai-function-call-miss",
        {"type": "is-valid-openai-function-call", "value": TOOLS},
        {"output": '{"name": "get_time", "arguments": {}}'},
        None,
        False,
    ),
]


def run(assertion: dict[str, Any], out: dict[str, Any], reply: str | None):
    judge = FakeJudge(reply) if reply is not None else None
    return evaluate([assertion], CaseOutput(**out), judge=judge, embedder=FakeEmbedder(EMBEDDINGS)).assertions[0]


def test_the_matrix_covers_every_type_passing_and_failing() -> None:
    # Given the case table / Then each canonical type has at least one passing and one failing row
    passing = {a["type"] for _, a, _, _, ok in CASES if ok}
    failing = {a["type"] for _, a, _, _, ok in CASES if not ok}
    one_output = set(TYPES) - COMPARISON_TYPES  # select-best / max-score: tests/unit/scoring/test_compare.py
    assert passing == one_output
    assert failing == one_output


@pytest.mark.parametrize(
    ("assertion", "out", "reply", "base_passes"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_type_and_its_negation(
    assertion: dict[str, Any], out: dict[str, Any], reply: str | None, base_passes: bool
) -> None:
    # When the assertion runs as written
    plain = run(assertion, out, reply)
    # Then it passes or fails as the table says, with a binary or graded score that agrees
    assert plain.status == ("passed" if base_passes else "failed"), plain.reason
    assert plain.operator == assertion["type"]
    assert 0.0 <= plain.score <= 1.0
    assert plain.reason and plain.reason.endswith(".")
    json.dumps([plain.expected, plain.actual])  # JSON-serializable

    # When the same assertion is negated with not-
    negated = run({**assertion, "type": f"not-{assertion['type']}"}, out, reply)
    # Then the outcome flips and the score is 1 - the base score
    assert negated.status == ("failed" if base_passes else "passed"), negated.reason
    assert negated.operator == f"not-{assertion['type']}"
    assert negated.score == pytest.approx(1.0 - plain.score)


ALIAS_CASES: list[tuple[dict[str, Any], dict[str, Any], str | None, str]] = [
    ({"type": "not_contains", "value": "bye"}, {"output": "Hello"}, None, "passed"),
    ({"type": "not_contains", "value": "Hell"}, {"output": "Hello"}, None, "failed"),
    ({"type": "matches", "value": "^H.l+o$"}, {"output": "Hello"}, None, "passed"),
    ({"type": "matches", "value": "^x"}, {"output": "Hello"}, None, "failed"),
    ({"type": "starts_with", "value": "He"}, {"output": "Hello"}, None, "passed"),
    ({"type": "starts_with", "value": "lo"}, {"output": "Hello"}, None, "failed"),
    ({"type": "ends_with", "value": "lo"}, {"output": "Hello"}, None, "passed"),
    ({"type": "ends_with", "value": "He"}, {"output": "Hello"}, None, "failed"),
    ({"type": "json_valid"}, {"output": "[1, 2]"}, None, "passed"),
    ({"type": "json_valid"}, {"output": "[1, 2"}, None, "failed"),
    ({"type": "word_count", "value": {"max": 2}}, {"output": "a b"}, None, "passed"),
    ({"type": "word_count", "value": {"max": 2}}, {"output": "a b c"}, None, "failed"),
    ({"type": "token_count", "value": {"min": 1, "max": 5}}, {"output": "Hello, world!"}, None, "passed"),
    ({"type": "token_count", "value": {"max": 3}}, {"output": "Hello, world!"}, None, "failed"),
    ({"type": "similar_to", "value": "Blue is the colour of the sky."}, {"output": "The sky is blue."}, None, "passed"),
    ({"type": "similar_to", "value": "I like trains."}, {"output": "The sky is blue."}, None, "failed"),
    ({"type": "llm_judge", "value": "Polite?"}, {"output": "Hi"}, judged({"answer": "yes", "reason": "r"}), "passed"),
    ({"type": "llm_judge", "value": "Polite?"}, {"output": "Hi"}, judged({"answer": "no", "reason": "r"}), "failed"),
    (
        {"type": "model-graded-factuality", "value": "Paris"},
        {"output": "Paris."},
        judged({"category": "C", "reason": "r"}),
        "passed",
    ),
    (
        {"type": "model-graded-factuality", "value": "Paris"},
        {"output": "Rome."},
        judged({"category": "D", "reason": "r"}),
        "failed",
    ),
    (
        {"type": "is-valid-function-call", "value": TOOLS},
        {"output": '{"name": "get_weather", "arguments": {"city": "Oslo"}}'},
        None,
        "passed",
    ),
    ({"type": "is-valid-function-call", "value": TOOLS}, {"output": '{"name": "x"}'}, None, "failed"),
    (
        {"type": "similar:cosine", "value": "Blue is the colour of the sky."},
        {"output": "The sky is blue."},
        None,
        "passed",
    ),
    ({"type": "similar:cosine", "value": "I like trains."}, {"output": "The sky is blue."}, None, "failed"),
]


@pytest.mark.parametrize(("assertion", "out", "reply", "status"), ALIAS_CASES)
def test_every_echostash_alias_runs_as_its_canonical_type(
    assertion: dict[str, Any], out: dict[str, Any], reply: str | None, status: str
) -> None:
    # When an Echostash-named assertion runs / Then it behaves like its canonical type and reports its own name
    result = run(assertion, out, reply)
    assert result.status == status, result.reason
    assert result.operator == assertion["type"]


def test_alias_cases_cover_every_alias() -> None:
    aliases = ASSERTION_TYPES - set(TYPES)
    covered = {a["type"] for a, _, _, _ in ALIAS_CASES}
    assert covered == aliases


@pytest.mark.parametrize("name", ["matches", "starts_with", "json_valid", "similar_to", "llm_judge"])
def test_aliases_can_be_negated_with_not_prefix(name: str) -> None:
    # Given a negated alias / When it runs on an output its base type fails on / Then it passes
    assertion: dict[str, Any] = {"type": f"not-{name}", "value": "zzz"}
    if name == "json_valid":
        assertion.pop("value")
    reply = judged({"answer": "no"}) if name == "llm_judge" else None
    embedder_out = {"output": "I like trains.", "latency_ms": 1}
    judge = FakeJudge(reply) if reply else None
    vectors = {**EMBEDDINGS, "zzz": [1.0, 0.0]}
    result = evaluate([assertion], CaseOutput(**embedder_out), judge=judge, embedder=FakeEmbedder(vectors)).assertions[
        0
    ]
    assert result.status == "passed", result.reason
    assert result.operator == f"not-{name}"
