"""Assertions: promptfoo's types and semantics where they overlap, plus Echostash's names.

    normalized = validate_assertions(test["assertions"])          # when a suite/test is saved
    verdict = evaluate(normalized, CaseOutput(output=text, expected=case.expected, variables=case.vars),
                       judge=judge, embedder=embedder, threshold=test.get("threshold"))

Pure Python, stdlib only: safe to import in any Lambda.
"""

from evalgate.scoring.assertions import ALIASES, ASSERTION_TYPES, TYPES, resolve_type, validate_assertions
from evalgate.scoring.engine import evaluate, run_assertion
from evalgate.scoring.text import estimate_tokens
from evalgate.scoring.types import AssertionResult, CaseOutput, Embedder, Judge, Verdict

__all__ = [
    "ALIASES",
    "ASSERTION_TYPES",
    "TYPES",
    "AssertionResult",
    "CaseOutput",
    "Embedder",
    "Judge",
    "Verdict",
    "estimate_tokens",
    "evaluate",
    "resolve_type",
    "run_assertion",
    "validate_assertions",
]
