"""evaluate(): run a test's assertions on one output and combine them into a verdict (promptfoo semantics).

- `not-` flips an assertion: it passes iff the base check fails, and scores 1 - the base score. An assertion
  that errored stays errored whatever its polarity.
- weight (default 1) scales an assertion's share of the test score; weight 0 only reports it (its failures
  and errors do not count).
- With a test threshold the test passes iff the weighted score >= threshold; without one it passes iff every
  counted assertion passed. Any counted errored assertion makes the verdict errored.
- `select-best` and `max-score` are skipped: they compare a test's outputs across runs (scoring/compare.py),
  as promptfoo's runAssertions skips them until every output of the test exists.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from evalgate.errors import InvalidInput
from evalgate.scoring import graded, metrics, sql, structured, text
from evalgate.scoring.assertions import normalize_assertion
from evalgate.scoring.base import Check, CheckError, Outcome
from evalgate.scoring.compare import is_comparison
from evalgate.scoring.types import ERRORED, FAILED, PASSED, AssertionResult, CaseOutput, Embedder, Judge, Verdict

CHECKS: dict[str, Callable[[Check], Outcome]] = {
    "equals": text.check_equals,
    "contains": text.check_contains,
    "icontains": text.check_icontains,
    "contains-any": text.check_contains_any,
    "contains-all": text.check_contains_all,
    "icontains-any": text.check_icontains_any,
    "icontains-all": text.check_icontains_all,
    "starts-with": text.check_starts_with,
    "ends-with": text.check_ends_with,
    "regex": text.check_regex,
    "is-json": text.check_is_json,
    "contains-json": text.check_contains_json,
    "word-count": text.check_word_count,
    "length": text.check_length,
    "token-count": text.check_token_count,
    "latency": text.check_latency,
    "cost": text.check_cost,
    "levenshtein": metrics.check_levenshtein,
    "rouge-n": metrics.check_rouge_n,
    "bleu": metrics.check_bleu,
    "gleu": metrics.check_gleu,
    "meteor": metrics.check_meteor,
    "is-xml": structured.check_is_xml,
    "contains-xml": structured.check_contains_xml,
    "is-sql": sql.check_is_sql,
    "contains-sql": sql.check_contains_sql,
    "is-html": structured.check_is_html,
    "contains-html": structured.check_contains_html,
    "is-refusal": structured.check_is_refusal,
    "finish-reason": structured.check_finish_reason,
    "perplexity": structured.check_perplexity,
    "perplexity-score": structured.check_perplexity_score,
    "is-valid-openai-tools-call": structured.check_openai_tools_call,
    "is-valid-openai-function-call": structured.check_openai_function_call,
    "similar": graded.check_similar,
    "llm-rubric": graded.check_llm_rubric,
    "g-eval": graded.check_g_eval,
    "factuality": graded.check_factuality,
    "answer-relevance": graded.check_answer_relevance,
    "context-faithfulness": graded.check_context_faithfulness,
    "model-graded-closedqa": graded.check_closedqa,
    "context-recall": graded.check_context_recall,
    "context-relevance": graded.check_context_relevance,
    "llm-judge": graded.check_llm_judge,
    "sentiment": graded.check_sentiment,
}


def _clamp(score: float) -> float:
    return 0.0 if not math.isfinite(score) else min(1.0, max(0.0, float(score)))


def _raw_weight(raw: Any) -> float:
    weight = raw.get("weight", 1.0) if isinstance(raw, dict) else 1.0
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight) or weight < 0:
        return 1.0
    return float(weight)


def _raw_operator(raw: Any) -> str:
    if isinstance(raw, dict):
        for key in ("operator", "type"):
            if isinstance(raw.get(key), str):
                return str(raw[key])
    return "unknown"


def run_assertion(
    raw: Any,
    out: CaseOutput,
    *,
    judge: Judge | None = None,
    embedder: Embedder | None = None,
    index: int = 0,
) -> AssertionResult:
    """One assertion (raw or normalized) on one output. Never raises for a bad config or a failed grader:
    those come back as an errored result."""
    try:
        spec = normalize_assertion(raw, f"assertions[{index}]")
    except InvalidInput as err:
        where = f" ({err.field})" if err.field else ""
        return AssertionResult(
            _raw_operator(raw), ERRORED, None, None, 0.0, _raw_weight(raw), f"Invalid assertion{where}: {err.message}"
        )
    if spec["type"] not in CHECKS:  # select-best / max-score: only across a test's outputs (scoring/compare.py)
        return AssertionResult(
            spec["operator"], ERRORED, None, None, 0.0, spec["weight"],
            f"'{spec['type']}' compares several outputs of one test; it does not run on one output",
        )  # fmt: skip
    check = Check(spec=spec, out=out, judge=judge, embedder=embedder)
    try:
        outcome = CHECKS[spec["type"]](check)
    except CheckError as err:
        return AssertionResult(
            spec["operator"], ERRORED, err.expected, err.actual, 0.0, spec["weight"], err.reason, spec.get("metric")
        )
    passed, score = outcome.passed, _clamp(outcome.score)
    if spec["negate"]:
        passed, score = not passed, (score if outcome.fixed_score else 1.0 - score)
    return AssertionResult(
        spec["operator"],
        PASSED if passed else FAILED,
        outcome.expected,
        outcome.actual,
        score,
        spec["weight"],
        outcome.reason,
        spec.get("metric"),
    )


def evaluate(
    assertions: list[dict[str, Any]],
    out: CaseOutput,
    *,
    judge: Judge | None = None,
    embedder: Embedder | None = None,
    threshold: float | None = None,
) -> Verdict:
    """Run every assertion on `out` and combine them into a Verdict. Assertions are best passed through
    validate_assertions first; raw ones are normalized here and a bad one errors instead of raising."""
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 <= threshold <= 1
    ):
        raise InvalidInput("the test threshold must be a number between 0 and 1", field="threshold")
    results = [
        run_assertion(raw, out, judge=judge, embedder=embedder, index=i)
        for i, raw in enumerate(assertions or [])
        if not is_comparison(raw)
    ]
    counted = [r for r in results if r.weight > 0]
    total_weight = sum(r.weight for r in counted)
    score = sum(r.score * r.weight for r in counted) / total_weight if total_weight > 0 else 1.0
    if any(r.status == ERRORED for r in counted):
        status = ERRORED
    elif threshold is not None:
        status = PASSED if score >= threshold else FAILED
    else:
        status = PASSED if all(r.status == PASSED for r in counted) else FAILED
    return Verdict(status=status, score=score, assertions=results)
