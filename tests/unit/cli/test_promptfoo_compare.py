"""`evalgate eval -c`'s comparison pass: runs compared in promptfoo's output order, every page folded in."""

from __future__ import annotations

from typing import Any

from evalgate.cli.promptfoo import apply_comparisons, promptfoo_order, promptfoo_results
from evalgate.promptfoo_config import build_plan

CONFIG = {
    "prompts": ["A {{n}}", "B {{n}}"],
    "providers": ["echo", "evalgate:scripted:x"],
    "tests": [{"vars": {"n": 1}, "assert": [{"type": "contains", "value": "1"}, {"type": "max-score"}]}],
}


class FakeClient:
    """Answers POST …/eval/compare with two pages; records the bodies."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def url(self, *parts: str) -> str:
        return "/" + "/".join(parts)

    def call(self, method: str, url: str, body: dict[str, Any]) -> dict[str, Any]:
        assert (method, url) == ("POST", "/api/prompts/5/eval/compare")
        self.bodies.append(body)
        if "cursor" not in body:
            return {"cases": [], "nextCursor": "50"}
        outputs = [
            {"runId": run_id, "status": "passed" if i == 0 else "failed", "score": 1.0 if i == 0 else 0.0,
             "comparisons": [{"operator": "max-score", "status": "passed" if i == 0 else "failed", "score": 0.0,
                              "reason": "r"}]}
            for i, run_id in enumerate(body["runIds"])
        ]  # fmt: skip
        return {"cases": [{"index": 0, "name": "t [001]", "caseName": "001", "outputs": outputs}], "nextCursor": None}


def test_runs_are_compared_in_promptfoos_order_and_every_page_is_folded_in() -> None:
    plan = build_plan(CONFIG, None)
    # Given evalgate's targets prompt-major (A/echo, A/x, B/echo, B/x): promptfoo's order is provider-major
    assert promptfoo_order(plan) == [0, 2, 1, 3]
    runs = [{"id": 10 + i} for i in range(4)]
    by_target: list[dict[str, dict[str, Any]]] = [
        {"001": {"status": "passed", "score": 1.0, "assertions": [{"operator": "contains"}]}} for _ in runs
    ]
    client = FakeClient()
    apply_comparisons(client, "5", plan, runs, by_target)  # type: ignore[arg-type]
    # Then the runs are sent in that order, page after page
    assert [b["runIds"] for b in client.bodies] == [[10, 12, 11, 13]] * 2
    assert client.bodies[1]["cursor"] == "50"
    # and the first in promptfoo's order (A on echo) keeps its pass; the others take the comparison's verdict
    assert [(t["001"]["status"], t["001"]["score"]) for t in by_target] == [
        ("passed", 1.0), ("failed", 0.0), ("failed", 0.0), ("failed", 0.0)
    ]  # fmt: skip
    assert [a["operator"] for a in by_target[0]["001"]["assertions"]] == ["contains", "max-score"]


def test_the_results_file_numbers_prompts_as_promptfoo_does() -> None:
    # Given two prompts on two providers (evalgate's versions are prompt-major)
    plan = build_plan(CONFIG, None)
    pairs = [(p, q) for p in plan.prompts for q in plan.providers]
    done = {"targets": [{"prompt": p, "provider": q, "label": f"[{q.label}] {p.label}"} for p, q in pairs]}
    result = {"status": "passed", "score": 1.0, "assertions": []}
    by_target = [{plan.tests[0].name: dict(result, output=f"out {i}")} for i in range(4)]
    rows = promptfoo_results(plan, done, [{"id": i} for i in range(4)], by_target)["results"]
    # Then promptIdx counts each provider's prompts in turn, and the prompts list follows it
    got = [(r["promptIdx"], r["prompt"]["raw"], r["provider"]["id"], r["response"]["output"]) for r in rows["results"]]
    assert got == [
        (0, "A {{n}}", "echo", "out 0"),
        (1, "B {{n}}", "echo", "out 2"),
        (2, "A {{n}}", "evalgate:scripted:x", "out 1"),
        (3, "B {{n}}", "evalgate:scripted:x", "out 3"),
    ]
    assert [(p["raw"], p["provider"]) for p in rows["prompts"]] == [
        ("A {{n}}", "echo"), ("B {{n}}", "echo"), ("A {{n}}", "evalgate:scripted:x"), ("B {{n}}", "evalgate:scripted:x")
    ]  # fmt: skip
