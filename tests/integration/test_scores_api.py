"""POST /api/v1/scores: outputs made elsewhere scored with evalgate's assertion types, a model-graded judge included
(a scripted stub judge), per-item errors recorded, bad input a 4xx; nothing is stored."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import Stack, key_for

JUDGE = {
    "provider": "scripted",
    "model": "judge-1",
    "params": {
        "responses": [
            {"match": "(?s)<output>\\n[^<]*garbled", "output": "not json at all"},
            {"match": "(?s)<output>\\n[^<]*Paris", "output": '{"reason": "right", "score": 0.9, "pass": true}'},
        ],
        "default": '{"reason": "wrong", "score": 0.2, "pass": false}',
    },
}


def _score(stack: Stack, key: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    reply = stack.call("POST", "/api/v1/scores", key=key, body=body)
    assert reply.status == status, reply.text
    return dict(reply.json())


def test_model_graded_and_deterministic_assertions_score_outputs_made_elsewhere(stack: Stack, admin: str) -> None:
    body = {
        "assertions": [
            {"type": "llm-rubric", "value": "names the capital of {{country}}", "metric": "rubric"},
            {"type": "icontains"},  # no value: the item's expected output
        ],
        "judge": JUDGE,
        "items": [
            {
                "id": "a",
                "prompt": "capital?",
                "output": "Paris.",
                "expectedOutput": "paris",
                "variables": {"country": "France"},
            },
            {"id": "b", "output": "Lyon.", "expectedOutput": "paris", "variables": {"country": "France"}},
            {"id": "c", "output": "garbled Paris", "expectedOutput": "paris", "variables": {"country": "France"}},
        ],
    }
    out = _score(stack, admin, body)
    by_id = {r["id"]: r for r in out["results"]}
    assert [r["id"] for r in out["results"]] == ["a", "b", "c"]  # the items' order
    a, b = by_id["a"], by_id["b"]
    assert a["status"] == "passed" and a["score"] == 0.95
    rubric = a["assertions"][0]
    assert rubric["operator"] == "llm-rubric" and rubric["metric"] == "rubric" and rubric["score"] == 0.9
    assert rubric["expected"] == "names the capital of France"  # variables rendered into the rubric
    assert b["status"] == "failed" and [x["status"] for x in b["assertions"]] == ["failed", "failed"]
    # the judge's unreadable reply errors that assertion of that item only
    c = by_id["c"]
    assert c["status"] == "errored" and c["assertions"][0]["status"] == "errored"
    assert "not JSON" in c["assertions"][0]["reason"] and c["assertions"][1]["status"] == "passed"

    # a judge that cannot be reached errors the model-graded assertion, with the reason
    down = {
        **body,
        "judge": {**JUDGE, "params": {"fail_on": {"match": ".", "retryable": False}}},
        "items": body["items"][:1],
    }
    failed = _score(stack, admin, down)["results"][0]
    assert failed["status"] == "errored" and "judge call failed" in failed["assertions"][0]["reason"]

    # deterministic assertions need no judge; model-graded ones do
    plain = _score(stack, admin, {"assertions": [{"type": "is-json"}], "items": [{"id": "x", "output": "{}"}]})
    assert plain["results"][0]["status"] == "passed"
    no_judge = _score(stack, admin, {**body, "judge": None}, 400)
    assert no_judge["error"]["field"] == "judge"


def test_bad_input_is_a_4xx_and_viewers_may_not_spend(stack: Stack, admin: str) -> None:
    item = {"id": "x", "output": "y"}
    cases = [
        ({"assertions": [{"type": "nope"}], "items": [item]}, 400, "assertions[0].type"),
        ({"assertions": [], "items": [item]}, 422, None),
        ({"assertions": [{"type": "is-json"}], "items": []}, 422, None),
        ({"assertions": [{"type": "is-json"}], "items": [item] * 2}, 400, "items[1].id"),
        ({"assertions": [{"type": "is-json"}], "items": [{"id": f"{i}", "output": ""} for i in range(51)]}, 422, None),
        ({"assertions": [{"type": "is-json"}], "items": [item], "colour": "red"}, 422, None),
    ]
    for body, status, field in cases:
        reply = _score(stack, admin, body, status)
        if field is not None:
            assert reply["error"]["field"] == field, reply
    viewer = key_for(admin, stack, "viewer")
    assert (
        stack.call(
            "POST", "/api/v1/scores", key=viewer, body={"assertions": [{"type": "is-json"}], "items": [item]}
        ).status
        == 403
    )
    assert (
        stack.call("POST", "/api/v1/scores", body={"assertions": [{"type": "is-json"}], "items": [item]}).status == 401
    )
