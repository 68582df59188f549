"""select-best and max-score (scoring/compare.py): promptfoo 0.123.1's rules, its figures and its reasons.

The max-score cases are the ones tests/e2e/data/promptfoo_compare/promptfooconfig.yaml ran through promptfoo
itself (two prompts on echo); the expected reasons and named scores are what promptfoo wrote in its results file.
"""

from __future__ import annotations

from typing import Any

import pytest

from evalgate.errors import InvalidInput
from evalgate.scoring import CaseOutput, evaluate, run_assertion, validate_assertions
from evalgate.scoring.compare import max_score, merge, parse_select_best, select_best, select_best_prompt
from tests.unit.scoring.fakes import FakeJudge


def scored(*pairs: tuple[str, float]) -> list[dict[str, Any]]:
    return [{"operator": op, "status": "passed" if s == 1 else "failed", "score": s} for op, s in pairs]


def test_max_score_ties_go_to_the_first_output() -> None:
    # Given two outputs that both pass their one assertion (promptfoo: "tie goes to the first")
    got = max_score([scored(("contains", 1.0)), scored(("contains", 1.0))], None)
    # Then the first wins, the second is "not selected" with promptfoo's words and figures
    assert [(c.passed, c.score) for c in got] == [(True, 1.0), (False, 0.0)]
    assert got[0].reason == "Selected as highest scoring output (score: 1.000)"
    assert got[1].reason == "Not selected (score: 1.000, max: 1.000)"
    assert got[1].named_scores == {"maxScore": 1.0, "assertionCount": 1, "totalWeight": 1.0}


def test_max_score_weights_by_assertion_type_and_ignores_comparisons() -> None:
    # Given weights per type (contains 3, icontains 1) and the comparison assertions among the results
    first = scored(("contains", 0.0), ("icontains", 1.0), ("select-best", 1.0))
    second = scored(("contains", 1.0), ("icontains", 0.0), ("max-score", 1.0))
    got = max_score([first, second], {"weights": {"contains": 3, "icontains": 1}})
    # Then the second's (3*1 + 1*0)/4 = 0.75 beats the first's 0.25
    assert [c.passed for c in got] == [False, True]
    assert got[0].reason == "Not selected (score: 0.250, max: 0.750)"
    assert got[1].named_scores == {"maxScore": 0.75, "assertionCount": 2, "totalWeight": 4.0}


def test_max_score_below_its_threshold_selects_nobody() -> None:
    got = max_score([scored(("contains", 0.0)), scored(("contains", 0.0))], {"threshold": 0.5})
    assert [c.passed for c in got] == [False, False]
    assert {c.reason for c in got} == {"Not selected - score 0.000 below threshold 0.5"}


def test_max_score_sum_method_and_negated_type_names() -> None:
    # Given method sum; a weight keyed by the type as written ("not-contains")
    first = scored(("rouge-n", 0.6), ("not-contains", 1.0))
    second = scored(("rouge-n", 0.25), ("not-contains", 1.0))
    got = max_score([first, second], {"method": "sum", "weights": {"not-contains": 0}})
    assert [c.passed for c in got] == [True, False]
    assert got[0].reason == "Selected as highest scoring output (score: 0.600)"
    assert got[1].named_scores["maxScore"] == 0.25


def test_max_score_of_an_output_without_other_results_is_zero() -> None:
    # An errored output has no assertion results: it aggregates to 0 (promptfoo aborts its whole eval there)
    got = max_score([[], scored(("contains", 0.0))], None)
    assert [c.passed for c in got] == [True, False]  # 0 vs 0: the first still wins the tie


def test_reasons_round_halves_up_like_javascripts_to_fixed() -> None:
    got = max_score([scored(("a", 0.0625)), scored(("a", 0.0))], None)
    assert got[0].reason == "Selected as highest scoring output (score: 0.063)"  # Python's :.3f gives 0.062


@pytest.mark.parametrize(
    ("reply", "winner", "reason"),
    [
        ("1", 1, None),
        ("  2\n", 2, None),
        ("The best is output 0, then 2.", 0, None),
        ("index: 12", None, "Invalid select-best verdict: 12"),
        ("none of them", None, "Invalid select-best verdict: NaN"),
        ("-1", 1, None),  # promptfoo's /\d+/ reads the digits only
    ],
)
def test_select_best_reads_the_first_integer(reply: str, winner: int | None, reason: str | None) -> None:
    got = parse_select_best(reply, 3, "the friendliest")
    assert [c.passed for c in got] == [i == winner for i in range(3)]
    if winner is not None:
        assert got[winner].reason == "Output selected as the best: the friendliest"
        assert got[(winner + 1) % 3].reason == "Output not selected: the friendliest"
    else:
        assert {c.reason for c in got} == {reason}


def test_select_best_asks_one_judge_call_with_every_output() -> None:
    judge = FakeJudge("1")
    got = select_best("the friendliest greeting", ["Hello Flo", "Bonjour Flo"], judge)
    assert [c.passed for c in got] == [False, True]
    [prompt] = judge.prompts
    assert "<criteria>\nthe friendliest greeting\n</criteria>" in prompt
    assert '<output index="0">\nHello Flo\n</output>' in prompt and '<output index="1">\nBonjour Flo' in prompt
    assert "from 0 to 1" in prompt
    assert prompt == select_best_prompt("the friendliest greeting", ["Hello Flo", "Bonjour Flo"])


def test_a_failing_or_silent_judge_fails_every_output() -> None:
    failed = select_best("x", ["a", "b"], FakeJudge(RuntimeError("judge unavailable")))
    assert [(c.passed, c.reason) for c in failed] == [(False, "judge unavailable")] * 2
    silent = select_best("x", ["a", "b"], FakeJudge(""))
    assert [(c.passed, c.reason) for c in silent] == [(False, "No output")] * 2


def test_merge_follows_promptfoos_evaluator() -> None:
    [won, lost] = max_score([scored(("a", 1.0)), scored(("a", 0.5))], None)
    # a passed test stays as it was when it wins; loses its pass and takes the comparison's score otherwise
    assert merge("passed", 0.8, won) == ("passed", 0.8, None)
    assert merge("passed", 0.8, lost) == ("failed", 0.0, "Not selected (score: 0.500, max: 1.000)")
    # a failed test stays failed (its score too when it wins); an errored one stays errored
    assert merge("failed", 0.5, won) == ("failed", 0.5, None)
    assert merge("failed", 0.5, lost) == ("failed", 0.0, None)
    assert merge("errored", 0.0, lost) == ("errored", 0.0, None)


def test_a_run_skips_comparison_assertions() -> None:
    # Given a suite test with a comparison assertion (saved where comparisons are allowed)
    specs = validate_assertions(
        [{"type": "contains", "value": "Ada"}, {"type": "select-best", "value": "best"}, {"type": "max-score"}],
        comparisons=True,
    )
    judge = FakeJudge("0")
    verdict = evaluate(specs, CaseOutput(output="Hello Ada"), judge=judge)
    # Then the run's verdict comes from the other assertions only, and no judge call is made
    assert verdict.status == "passed" and verdict.score == 1.0
    assert [a.operator for a in verdict.assertions] == ["contains"]
    assert judge.prompts == []
    # and one run alone on a comparison assertion errors instead of guessing
    alone = run_assertion({"type": "max-score"}, CaseOutput(output="x"))
    assert alone.status == "errored" and "several outputs" in alone.reason


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ([{"type": "max-score"}], "assertions[0].type", "at least one other assertion"),
        ([{"type": "select-best", "value": "x"}, {"type": "max-score"}], "assertions[1].type", "one other"),
        ([{"type": "contains", "value": "a"}, {"type": "not-max-score"}], "assertions[1].type", "cannot be negated"),
        (
            [{"type": "select-best", "value": "x"}, {"type": "select-best", "value": "y"}],
            "assertions[1].type",
            "at most one",
        ),
        ([{"type": "select-best"}], "assertions[0].value", "needs a value"),
        ([{"type": "contains", "value": "a"}, {"type": "max-score", "value": "x"}], "assertions[1].value", "object"),
        (
            [{"type": "contains", "value": "a"}, {"type": "max-score", "value": {"method": "max"}}],
            "assertions[1].value.method",
            "'average' or 'sum'",
        ),
        (
            [{"type": "contains", "value": "a"}, {"type": "max-score", "value": {"weights": {"contains": "2"}}}],
            "assertions[1].value.weights.contains",
            "a number",
        ),
        (
            [{"type": "contains", "value": "a"}, {"type": "max-score", "value": {"top": 1}}],
            "assertions[1].value.top",
            "unknown key",
        ),
        (
            [{"type": "contains", "value": "a"}, {"type": "max-score", "threshold": 0.5}],
            "assertions[1].threshold",
            "does not use a threshold",
        ),
    ],
)
def test_comparison_assertions_are_checked_when_saved(raw: list[dict[str, Any]], field: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_assertions(raw, comparisons=True)
    assert caught.value.field == field and words in caught.value.message


def test_comparison_values_are_normalized_once() -> None:
    raw = [{"type": "contains", "value": "a"}, {"type": "max-score", "value": {"weights": {"contains": 3}}}]
    [_, spec] = validate_assertions(raw, comparisons=True)
    assert spec["value"] == {"method": "average", "weights": {"contains": 3.0}, "threshold": None}
    assert validate_assertions(validate_assertions(raw, comparisons=True), comparisons=True)[1] == spec
