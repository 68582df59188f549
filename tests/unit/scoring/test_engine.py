"""evaluate(): weights, test thresholds, errored verdicts, variables in values, expected-output fallback,
result shapes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from evalgate.errors import InvalidInput
from evalgate.scoring import CaseOutput, evaluate, validate_assertions
from tests.unit.scoring.fakes import FakeJudge

HELLO = CaseOutput(output="Hello Dr. Smith, your appointment is confirmed.")
PASS = {"type": "contains", "value": "Hello"}
FAIL = {"type": "contains", "value": "Goodbye"}


def statuses(verdict: Any) -> list[str]:
    return [a.status for a in verdict.assertions]


# --- combining -------------------------------------------------------------------------------------------------


def test_no_assertions_pass_with_score_one() -> None:
    verdict = evaluate([], HELLO)
    assert (verdict.status, verdict.score, verdict.assertions) == ("passed", 1.0, [])


def test_all_must_pass_without_a_threshold() -> None:
    assert evaluate([PASS, PASS], HELLO).status == "passed"
    verdict = evaluate([PASS, FAIL], HELLO)
    assert (verdict.status, verdict.score) == ("failed", 0.5)


def test_weights_scale_the_score() -> None:
    verdict = evaluate([{**PASS, "weight": 3}, FAIL], HELLO)
    assert verdict.score == pytest.approx(0.75)
    assert [a.weight for a in verdict.assertions] == [3.0, 1.0]


@pytest.mark.parametrize(
    ("threshold", "status"), [(0.75, "passed"), (0.7, "passed"), (0.76, "failed"), (0.0, "passed")]
)
def test_test_threshold_decides_on_the_weighted_score(threshold: float, status: str) -> None:
    # Given a failing assertion outweighed 3:1 / When the test threshold is set / Then score >= threshold passes
    verdict = evaluate([{**PASS, "weight": 3}, FAIL], HELLO, threshold=threshold)
    assert verdict.status == status


def test_threshold_one_needs_everything() -> None:
    assert evaluate([PASS, FAIL], HELLO, threshold=1).status == "failed"
    assert evaluate([PASS, PASS], HELLO, threshold=1).status == "passed"


def test_graded_scores_enter_the_mean() -> None:
    # rouge-1 F1 0.5 (fails its 0.75 threshold; js-rouge is case-sensitive) + a pass -> mean 0.75
    verdict = evaluate([{"type": "rouge-n", "value": "Hello world"}, PASS], CaseOutput(output="Hello there"))
    assert statuses(verdict) == ["failed", "passed"]
    assert verdict.score == pytest.approx(0.75)
    assert (
        evaluate([{"type": "rouge-n", "value": "Hello world"}, PASS], CaseOutput(output="Hello"), threshold=0.7).status
        == "passed"
    )


def test_weight_zero_is_reported_but_not_counted() -> None:
    verdict = evaluate([PASS, {**FAIL, "weight": 0}], HELLO)
    assert statuses(verdict) == ["passed", "failed"]
    assert (verdict.status, verdict.score) == ("passed", 1.0)


def test_only_zero_weights_score_one() -> None:
    verdict = evaluate([{**FAIL, "weight": 0}], HELLO)
    assert (verdict.status, verdict.score) == ("passed", 1.0)


def test_informational_cost_and_latency_record_without_limits() -> None:
    verdict = evaluate(
        [{"type": "cost", "weight": 0}, {"type": "latency", "weight": 0}, PASS],
        CaseOutput(output="Hello", cost_usd=0.00042, latency_ms=812.25),
    )
    assert verdict.status == "passed"
    assert [(a.actual, a.expected) for a in verdict.assertions[:2]] == [(0.00042, "recorded"), (812.25, "recorded")]


def test_an_errored_assertion_makes_the_verdict_errored_even_above_the_threshold() -> None:
    verdict = evaluate([{**PASS, "weight": 9}, {"type": "latency", "threshold": 100}], HELLO, threshold=0.5)
    assert statuses(verdict) == ["passed", "errored"]
    assert verdict.status == "errored"
    assert verdict.score == pytest.approx(0.9)  # errored scores 0
    assert "not measured" in verdict.assertions[1].reason


def test_an_errored_weight_zero_assertion_does_not_error_the_verdict() -> None:
    verdict = evaluate([PASS, {"type": "cost", "weight": 0}], HELLO)
    assert statuses(verdict) == ["passed", "errored"]
    assert verdict.status == "passed"


@pytest.mark.parametrize("threshold", [-0.1, 1.5, True, "0.5"])
def test_bad_test_threshold_is_rejected(threshold: Any) -> None:
    with pytest.raises(InvalidInput) as caught:
        evaluate([PASS], HELLO, threshold=threshold)
    assert caught.value.field == "threshold"


def test_invalid_raw_assertion_errors_instead_of_raising() -> None:
    verdict = evaluate([PASS, {"type": "javascript", "value": "1"}, {"type": "contains", "weight": -1}], HELLO)
    assert statuses(verdict) == ["passed", "errored", "errored"]
    assert verdict.assertions[1].operator == "javascript"
    assert "assertions[1].type" in verdict.assertions[1].reason
    assert verdict.assertions[2].weight == 1.0
    assert verdict.status == "errored"


def test_validated_and_raw_assertions_give_the_same_results() -> None:
    raw = [
        {"not_contains": "bye"},
        {"operator": "matches", "expected": "Dr\\.", "weight": 2},
        {"type": "word-count", "value": {"max": 3}},
    ]
    assert evaluate(validate_assertions(raw), HELLO) == evaluate(raw, HELLO)


# --- values: variables and the expected output --------------------------------------------------------------------


def test_values_are_rendered_with_the_case_variables() -> None:
    out = CaseOutput(output="Hello Alice from Paris", variables={"name": "Alice", "user": {"city": "Paris"}})
    verdict = evaluate(
        [
            {"type": "contains", "value": "Hello {{name}}"},
            {"type": "contains-all", "value": ["{{ name }}", "{{user.city}}"]},
            {"type": "regex", "value": "^Hello {{name}}\\b"},
            {"type": "not-contains", "value": "Bob {{name}}"},
        ],
        out,
    )
    assert statuses(verdict) == ["passed", "passed", "passed", "passed"]
    assert verdict.assertions[0].expected == "Hello Alice"


def test_a_missing_variable_errors_with_a_clear_reason() -> None:
    [result] = evaluate([{"type": "contains", "value": "Hello {{name}}"}], CaseOutput(output="Hello")).assertions
    assert result.status == "errored"
    assert result.reason == "The value uses the variable 'name', which this case does not define."
    assert result.expected == "Hello {{name}}"


def test_variables_are_rendered_into_judge_rubrics() -> None:
    judge = FakeJudge('{"pass": true, "score": 1}')
    evaluate(
        [{"type": "llm-rubric", "value": "Answers the question about {{topic}}"}],
        CaseOutput(output="x", variables={"topic": "tides"}),
        judge=judge,
    )
    assert "Answers the question about tides" in judge.prompts[0]


@pytest.mark.parametrize(
    ("assertion", "output", "status"),
    [
        ({"type": "equals"}, "Paris", "passed"),
        ({"type": "equals"}, "paris", "failed"),
        ({"type": "contains"}, "It is Paris.", "passed"),
        ({"type": "icontains"}, "PARIS", "passed"),
        ({"type": "starts-with"}, "Paris!", "passed"),
        ({"type": "ends-with"}, "in Paris", "passed"),
        ({"type": "levenshtein", "threshold": 1}, "Pariss", "passed"),
        ({"type": "levenshtein", "threshold": 1}, "Parisss", "failed"),
        ({"type": "rouge-n"}, "Paris", "passed"),
        ({"type": "bleu"}, "Paris", "passed"),  # one word: only unigrams are usable, and they match (promptfoo)
    ],
)
def test_missing_value_falls_back_to_the_expected_output(assertion: dict[str, Any], output: str, status: str) -> None:
    [result] = evaluate([assertion], CaseOutput(output=output, expected="Paris")).assertions
    assert result.status == status, result.reason


@pytest.mark.parametrize("type_", ["equals", "contains", "levenshtein", "rouge-n", "bleu", "similar", "factuality"])
def test_missing_value_and_expected_errors(type_: str) -> None:
    [result] = evaluate([{"type": type_}], CaseOutput(output="Paris")).assertions
    assert result.status == "errored"
    assert "no expected output" in result.reason


def test_the_value_wins_over_the_expected_output() -> None:
    [result] = evaluate([{"type": "equals", "value": "Rome"}], CaseOutput(output="Paris", expected="Paris")).assertions
    assert result.status == "failed"


# --- result shape --------------------------------------------------------------------------------------------------


def test_results_match_the_echostash_assertion_shape_and_serialize() -> None:
    verdict = evaluate(
        [PASS, {"type": "latency", "threshold": 500}], CaseOutput(output="Hello Dr. Smith", latency_ms=312.0)
    )
    first = verdict.assertions[0]
    assert (first.operator, first.status, first.expected, first.actual) == (
        "contains",
        "passed",
        "Hello",
        "Hello Dr. Smith",
    )
    assert (verdict.assertions[1].expected, verdict.assertions[1].actual) == ("<= 500 ms", 312.0)
    payload = json.loads(json.dumps(verdict.to_dict()))
    assert set(payload["assertions"][0]) == {"operator", "status", "expected", "actual", "score", "weight", "reason"}


def test_long_text_is_cut_to_200_characters_with_an_ellipsis() -> None:
    long_output = "word " * 400
    [result] = evaluate([{"type": "contains", "value": "x" * 300}], CaseOutput(output=long_output)).assertions
    assert len(result.actual) == 200 and result.actual.endswith("…")
    assert len(result.expected) == 200 and result.expected.endswith("…")
    assert len(result.reason) < 300


def test_negation_reports_the_written_operator_and_flips_graded_scores() -> None:
    [result] = evaluate(
        [{"type": "rouge-n", "value": "hello world", "negate": True}], CaseOutput(output="hello there")
    ).assertions
    assert (result.operator, result.status, result.score) == ("not-rouge-n", "passed", 0.5)
