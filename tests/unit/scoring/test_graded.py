"""Model-graded assertions with a fake Judge / Embedder: prompts, reply parsing, scoring, and every failure
mode that must error instead of passing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from evalgate.scoring import CaseOutput, evaluate
from evalgate.scoring.graded import parse_json_object
from tests.unit.scoring.fakes import FakeEmbedder, FakeJudge


def grade(assertion: dict[str, Any], reply: Any, **out: Any):
    judge = FakeJudge(reply)
    out.setdefault("output", "The capital of France is Paris.")
    result = evaluate([assertion], CaseOutput(**out), judge=judge).assertions[0]
    return result, judge


# --- parsing ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        '{"pass": true, "score": 1}',
        '```json\n{"pass": true, "score": 1}\n```',
        '```\n{"pass": true, "score": 1}\n```',
        'Here is my grade:\n{"pass": true, "score": 1}\nHope that helps.',
        'Thinking... the output says "{braces}" here. {"pass": true, "score": 1}',
    ],
)
def test_parse_json_object_tolerates_fences_and_prose(reply: str) -> None:
    assert parse_json_object(reply) == {"pass": True, "score": 1}


@pytest.mark.parametrize("reply", ["", "I think it passes.", "[1, 2]", "```json\n{pass: true}\n```"])
def test_parse_json_object_without_an_object_is_none(reply: str) -> None:
    assert parse_json_object(reply) is None


# --- llm-rubric ------------------------------------------------------------------------------------------------


def test_llm_rubric_prompt_carries_rubric_prompt_and_output() -> None:
    result, judge = grade(
        {"type": "llm-rubric", "value": "Answers with the city name"},
        '{"reason": "Names Paris.", "score": 0.9, "pass": true}',
        prompt="What is the capital of France?",
    )
    assert (result.status, result.score, result.reason) == ("passed", 0.9, "Names Paris.")
    [prompt] = judge.prompts
    assert "<rubric>\nAnswers with the city name\n</rubric>" in prompt
    assert "<output>\nThe capital of France is Paris.\n</output>" in prompt
    assert "<input>\nWhat is the capital of France?\n</input>" in prompt
    assert '"pass"' in prompt and '"score"' in prompt


def test_llm_rubric_without_prompt_has_no_input_section() -> None:
    _, judge = grade({"type": "llm-rubric", "value": "x"}, '{"pass": true}')
    assert "</input>" not in judge.prompts[0]


def test_llm_rubric_fenced_reply_passes() -> None:
    result, _ = grade(
        {"type": "llm-rubric", "value": "x"}, '```json\n{"pass": false, "score": 0.2, "reason": "No."}\n```'
    )
    assert (result.status, result.score, result.reason) == ("failed", 0.2, "No.")


@pytest.mark.parametrize(
    ("threshold", "reply", "status"),
    [
        (None, {"pass": True, "score": 0.1}, "passed"),  # no threshold: the judge's pass decides
        (0.8, {"pass": True, "score": 0.6}, "failed"),  # with a threshold both must hold
        (0.5, {"pass": True, "score": 0.6}, "passed"),
        (0.5, {"pass": False, "score": 0.9}, "failed"),
        (None, {"score": 0.4}, "failed"),  # no pass: score >= 0.5
        (None, {"score": 0.5}, "passed"),
        (0.9, {"score": 0.8}, "failed"),
        (None, {"pass": "false"}, "failed"),
        (None, {"pass": True}, "passed"),
    ],
)
def test_llm_rubric_pass_and_score_rules(threshold: float | None, reply: dict[str, Any], status: str) -> None:
    assertion: dict[str, Any] = {"type": "llm-rubric", "value": "x"}
    if threshold is not None:
        assertion["threshold"] = threshold
    result, _ = grade(assertion, json.dumps(reply))
    assert result.status == status


@pytest.mark.parametrize(
    ("reply", "fragment"),
    [
        ("The output is great, pass.", "not JSON"),
        ("", "empty reply"),
        ('{"reason": "no verdict"}', "neither 'pass' nor 'score'"),
        ('{"pass": true, "score": 8}', "outside 0-1"),
        ('{"pass": true, "score": "high"}', "not a number"),
        (TimeoutError("judge timed out"), "judge call failed (TimeoutError: judge timed out)"),
    ],
)
def test_llm_rubric_unusable_replies_error(reply: Any, fragment: str) -> None:
    result, _ = grade({"type": "llm-rubric", "value": "x"}, reply)
    assert result.status == "errored"
    assert result.score == 0.0
    assert fragment in result.reason


def test_errored_judge_stays_errored_when_negated() -> None:
    result, _ = grade({"type": "not-llm-rubric", "value": "x"}, "garbage")
    assert result.status == "errored"
    assert result.operator == "not-llm-rubric"


@pytest.mark.parametrize("type_", ["llm-rubric", "g-eval", "factuality", "llm-judge", "sentiment", "answer-relevance"])
def test_judge_types_without_a_judge_error(type_: str) -> None:
    assertion: dict[str, Any] = {"type": type_}
    if type_ != "answer-relevance":
        assertion["value"] = "positive" if type_ == "sentiment" else "x"
    result = evaluate([assertion], CaseOutput(output="x", prompt="q")).assertions[0]
    assert result.status == "errored"
    assert "needs a judge model" in result.reason


def test_one_judge_call_per_assertion() -> None:
    judge = FakeJudge('{"pass": true, "score": 1, "scores": [10, 10], "answer": "yes"}')
    evaluate(
        [
            {"type": "llm-rubric", "value": "a"},
            {"type": "g-eval", "value": ["b", "c"]},
            {"type": "llm_judge", "value": "d?"},
            {"type": "contains", "value": "x"},
        ],
        CaseOutput(output="x"),
        judge=judge,
    )
    assert len(judge.prompts) == 3


# --- g-eval ----------------------------------------------------------------------------------------------------


def test_g_eval_averages_criterion_scores_out_of_ten() -> None:
    result, judge = grade(
        {"type": "g-eval", "value": ["Is concise", "Is accurate"]},
        '{"steps": ["read"], "scores": [8, 6], "reason": "Mostly good."}',
    )
    assert (result.status, result.score, result.actual) == ("passed", pytest.approx(0.7), 0.7)
    assert "1. Is concise\n2. Is accurate" in judge.prompts[0]
    assert "exactly 2 number(s)" in judge.prompts[0]


def test_g_eval_single_score_key_and_threshold() -> None:
    result, _ = grade({"type": "g-eval", "value": "Is concise", "threshold": 0.9}, '{"score": 8}')
    assert (result.status, result.score) == ("failed", pytest.approx(0.8))


@pytest.mark.parametrize("reply", ['{"scores": [8]}', '{"scores": [8, 11]}', '{"score": 8}', '{"scores": "8, 9"}'])
def test_g_eval_wrong_scores_error(reply: str) -> None:
    result, _ = grade({"type": "g-eval", "value": ["a", "b"]}, reply)
    assert result.status == "errored"


# --- factuality ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "status", "score"),
    [("A", "passed", 1.0), ("(B)", "passed", 1.0), ("c", "passed", 1.0), ("D", "failed", 0.0), ("E", "passed", 1.0)],
)
def test_factuality_categories(category: str, status: str, score: float) -> None:
    result, judge = grade(
        {"type": "factuality", "value": "Paris is the capital of France"}, json.dumps({"category": category})
    )
    assert (result.status, result.score) == (status, score)
    assert "<reference>\nParis is the capital of France\n</reference>" in judge.prompts[0]
    assert "<output>\nThe capital of France is Paris.\n</output>" in judge.prompts[0]


def test_factuality_custom_category_scores() -> None:
    assertion = {"type": "factuality", "value": "x", "factuality": {"subset": 0.8, "superset": 0}}
    subset, _ = grade(assertion, '{"category": "A"}')
    superset, _ = grade(assertion, '{"category": "B"}')
    assert (subset.status, subset.score, subset.actual) == ("passed", 0.8, "A (subset)")
    assert (superset.status, superset.score) == ("failed", 0.0)


def test_factuality_falls_back_to_expected_and_errors_without_it() -> None:
    result, judge = grade({"type": "factuality"}, '{"category": "C"}', expected="Paris.")
    assert result.status == "passed"
    assert "<reference>\nParis.\n</reference>" in judge.prompts[0]
    missing, _ = grade({"type": "factuality"}, '{"category": "C"}')
    assert missing.status == "errored"
    assert "no expected output" in missing.reason


def test_factuality_bad_category_errors() -> None:
    result, _ = grade({"type": "factuality", "value": "x"}, '{"category": "Z"}')
    assert result.status == "errored"


# --- answer relevance / context faithfulness -----------------------------------------------------------------------


def test_answer_relevance_uses_the_query_variable_before_the_prompt() -> None:
    result, judge = grade(
        {"type": "answer-relevance"},
        '{"score": 0.9, "reason": "On topic."}',
        variables={"query": "Capital of France?"},
        prompt="SYSTEM: be nice. USER: Capital of France?",
    )
    assert (result.status, result.expected) == ("passed", ">= 0.7")
    assert "<question>\nCapital of France?\n</question>" in judge.prompts[0]
    fallback, judge2 = grade({"type": "answer-relevance", "threshold": 0.95}, '{"score": 0.9}', prompt="Q?")
    assert fallback.status == "failed"
    assert "<question>\nQ?\n</question>" in judge2.prompts[0]


def test_answer_relevance_without_question_errors() -> None:
    result, judge = grade({"type": "answer-relevance"}, '{"score": 1}')
    assert result.status == "errored"
    assert judge.prompts == []


def test_context_faithfulness_scores_the_share_of_supported_claims() -> None:
    reply = {
        "claims": [
            {"claim": "Paris is the capital", "supported": True},
            {"claim": "It has 2M people", "supported": True},
            {"claim": "It was founded in 1900", "supported": False},
        ],
        "reason": "One claim is unsupported.",
    }
    result, judge = grade(
        {"type": "context-faithfulness"}, json.dumps(reply), context="Paris, capital of France, 2M people."
    )
    assert (result.status, result.score) == ("failed", pytest.approx(2 / 3))
    assert "<context>\nParis, capital of France, 2M people.\n</context>" in judge.prompts[0]
    lenient, _ = grade(
        {"type": "context-faithfulness", "threshold": 0.6}, json.dumps(reply), variables={"context": ["doc 1", "doc 2"]}
    )
    assert lenient.status == "passed"


def test_context_faithfulness_context_from_variables_and_missing_context() -> None:
    _, judge = grade(
        {"type": "context-faithfulness"}, '{"claims": []}', variables={"context": "Doc text", "query": "Q"}
    )
    assert "<context>\nDoc text\n</context>" in judge.prompts[0]
    assert "<question>\nQ\n</question>" in judge.prompts[0]
    missing, _ = grade({"type": "context-faithfulness"}, '{"claims": []}')
    assert missing.status == "errored"


def test_context_faithfulness_bad_claims_error() -> None:
    result, _ = grade({"type": "context-faithfulness"}, '{"claims": [{"claim": "x"}]}', context="c")
    assert result.status == "errored"


# --- llm_judge / sentiment ----------------------------------------------------------------------------------------


def test_llm_judge_asks_the_question() -> None:
    result, judge = grade({"llm_judge": "Is the response welcoming?"}, '{"answer": "Yes", "reason": "Warm tone."}')
    assert (result.status, result.actual, result.reason) == ("passed", "yes", "Warm tone.")
    assert "<question>\nIs the response welcoming?\n</question>" in judge.prompts[0]
    refused, _ = grade({"llm_judge": "Is it rude?"}, '{"answer": "no"}')
    assert (refused.status, refused.score) == ("failed", 0.0)
    unclear, _ = grade({"llm_judge": "Is it rude?"}, '{"answer": "maybe"}')
    assert unclear.status == "errored"


@pytest.mark.parametrize(
    ("wanted", "reply", "status", "actual"),
    [
        ("positive", {"sentiment": "positive", "helpful": True}, "passed", "positive"),
        ("negative", {"sentiment": "Positive", "helpful": True}, "failed", "positive"),
        ("neutral", {"sentiment": "neutral", "helpful": False}, "passed", "neutral"),
        ("helpful", {"sentiment": "negative", "helpful": True}, "passed", "helpful"),
        ("helpful", {"sentiment": "positive", "helpful": False}, "failed", "not helpful"),
    ],
)
def test_sentiment(wanted: str, reply: dict[str, Any], status: str, actual: str) -> None:
    result, _ = grade({"sentiment": wanted}, json.dumps(reply))
    assert (result.status, result.actual, result.expected) == (status, actual, wanted)


@pytest.mark.parametrize("reply", ['{"sentiment": "joyful"}', '{"helpful": "sure"}'])
def test_sentiment_unusable_replies_error(reply: str) -> None:
    wanted = "helpful" if "helpful" in reply else "positive"
    result, _ = grade({"sentiment": wanted}, reply)
    assert result.status == "errored"


# --- similar ---------------------------------------------------------------------------------------------------


VECTORS = {"out": [1.0, 0.0], "near": [0.8, 0.6], "far": [0.0, 1.0], "expected": [0.6, 0.8]}


def test_similar_cosine_and_best_of_many_references() -> None:
    embedder = FakeEmbedder(VECTORS)
    [one, many] = evaluate(
        [{"type": "similar", "value": "far"}, {"type": "similar", "value": ["far", "near"]}],
        CaseOutput(output="out"),
        embedder=embedder,
    ).assertions
    assert (one.status, one.actual, one.score) == ("failed", 0.0, 0.0)
    assert (many.status, many.actual, many.score) == ("passed", 0.8, pytest.approx(0.8))
    assert embedder.calls == [["out", "far"], ["out", "far", "near"]]  # one batch per assertion


def test_similar_threshold_and_expected_fallback() -> None:
    [result] = evaluate(
        [{"type": "similar", "threshold": 0.5}],
        CaseOutput(output="out", expected="expected"),
        embedder=FakeEmbedder(VECTORS),
    ).assertions
    assert (result.status, result.actual) == ("passed", 0.6)


@pytest.mark.parametrize(
    ("embedder", "fragment"),
    [
        (None, "needs an embedding model"),
        (FakeEmbedder(VECTORS, error=ConnectionError("down")), "embedding call failed"),
        (FakeEmbedder(VECTORS, drop=1), "returned 1 vectors for 2 texts"),
        (FakeEmbedder({"out": [1.0, 0.0], "near": [1.0, 0.0, 0.0]}), "cannot be compared"),
    ],
)
def test_similar_failures_error(embedder: FakeEmbedder | None, fragment: str) -> None:
    [result] = evaluate([{"type": "similar", "value": "near"}], CaseOutput(output="out"), embedder=embedder).assertions
    assert result.status == "errored"
    assert fragment in result.reason
