"""Same verdict as promptfoo: every case of promptfoo_parity/cases.json (built by tools/promptfoo/make_cases.py from
promptfoo's documented examples, its test suite's edge cases and ours) against the verdict promptfoo 0.123.1's own
`assertions.runAssertion` gave (recorded by tools/promptfoo/parity.py --live; no Node needed here)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tools.promptfoo.parity import agree, evalgate_verdict

DATA = Path(__file__).with_name("promptfoo_parity")
CASES: list[dict[str, Any]] = json.loads((DATA / "cases.json").read_text())
PROMPTFOO: dict[str, dict[str, Any]] = json.loads((DATA / "promptfoo-0.123.1.json").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_same_verdict_and_score_as_promptfoo(case: dict[str, Any]) -> None:
    # Given an assertion and an output promptfoo graded / When evalgate grades them
    ours = evalgate_verdict(case)
    # Then pass/fail agree and the score is the same figure (metric types: the raw metric, 1 - it when negated),
    # except where the case documents a known difference (which must still be one: a fix updates the case)
    if case.get("differs"):
        assert not agree(ours, PROMPTFOO[case["id"]]), f"no longer differs: {case['differs']}"
    else:
        assert agree(ours, PROMPTFOO[case["id"]]), (ours, PROMPTFOO[case["id"]])


def test_the_cases_cover_every_deterministic_type_both_ways() -> None:
    names = {c["assertion"]["type"] for c in CASES}
    for base in ("bleu", "gleu", "rouge-n", "is-json", "contains-json", "is-xml", "contains-xml", "is-html",
                 "contains-html", "is-refusal", "finish-reason", "perplexity", "perplexity-score", "levenshtein",
                 "equals", "contains-any", "word-count", "is-sql", "contains-sql"):  # fmt: skip
        assert {base, f"not-{base}"} <= names
    assert {True, False} <= {v.get("pass") for v in PROMPTFOO.values()}
