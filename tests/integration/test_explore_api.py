"""Explore: the same case execution, synchronously, with a size cap; nothing is persisted."""

from __future__ import annotations

import boto3

from tests.integration.conftest import Stack


def prompt(stack: Stack, key: str) -> int:
    body = {
        "name": "p",
        "template": "Say {{word}}",
        "modelConfig": {
            "provider": "scripted",
            "model": "s",
            "responses": [{"match": "Say hi", "output": "hi!"}],
            "default": "nope",
        },
    }
    return int(stack.call("POST", "/api/prompts", key=key, body=body).json()["id"])


def stored(table: str) -> set[tuple[str, str]]:
    """Every item's key, less the per-key request windows the rate limit writes for any authenticated request
    (a new one each minute: a request that crosses a minute adds one)."""
    items = boto3.client("dynamodb", region_name="us-east-1").scan(TableName=table)["Items"]
    keys = {(i["PK"]["S"], i["SK"]["S"]) for i in items}
    return {k for k in keys if "#RATE#" not in k[0]}


def test_explore_runs_cases_and_stores_nothing(stack: Stack, admin: str) -> None:
    pid = prompt(stack, admin)
    table = stack.names.refs["Table"]
    before = stored(table)
    reply = stack.call(
        "POST",
        f"/api/prompts/{pid}/eval/explore",
        key=admin,
        body={
            "versionNo": 1,
            "tests": [
                {"name": "hi", "variables": {"word": "hi"}, "assertions": [{"type": "equals", "value": "hi!"}]},
                {
                    "name": "bye",
                    "variables": {"word": "bye"},
                    "repeat": 2,
                    "assertions": [{"type": "contains", "value": "bye"}],
                },
                {"name": "missing var", "assertions": [{"type": "contains", "value": "x"}]},
            ],
            "useCache": False,
        },
    )
    assert reply.status == 200, reply.text
    body = reply.json()
    assert body["summary"] == {"total": 4, "passed": 1, "failed": 2, "errored": 1}
    by_name = {r["name"]: r for r in body["results"]}
    assert by_name["hi"]["output"] == "hi!" and by_name["hi"]["assertions"][0]["operator"] == "equals"
    assert "word" in by_name["missing var"]["error"]
    assert body["score"] == 25.0
    assert stored(table) == before  # no run, no results, no cache entry (useCache false)


def test_explore_with_an_unsaved_template_and_a_model_override(stack: Stack, admin: str) -> None:
    pid = prompt(stack, admin)
    reply = stack.call(
        "POST",
        f"/api/prompts/{pid}/eval/explore",
        key=admin,
        body={
            "template": "Echo: {{x}}",
            "modelConfig": {"provider": "echo", "model": "e"},
            "tests": [
                {"name": "t", "variables": {"x": "ok"}, "assertions": [{"type": "starts-with", "value": "Echo"}]}
            ],
        },
    )
    assert reply.status == 200, reply.text
    assert reply.json()["results"][0]["status"] == "passed"


def test_explore_is_capped_and_validated(stack: Stack, admin: str) -> None:
    pid = prompt(stack, admin)
    too_many = stack.call(
        "POST",
        f"/api/prompts/{pid}/eval/explore",
        key=admin,
        body={"versionNo": 1, "tests": [{"name": "t", "variables": {"word": "a"}, "repeat": 51}]},
    )
    assert too_many.status == 413 and "at most 50" in too_many.json()["error"]["message"]
    both = stack.call(
        "POST",
        f"/api/prompts/{pid}/eval/explore",
        key=admin,
        body={"versionNo": 1, "template": "x", "tests": [{"name": "t"}]},
    )
    assert both.status == 400
    nothing = stack.call("POST", f"/api/prompts/{pid}/eval/explore", key=admin, body={"versionNo": 1})
    assert nothing.status == 400 and nothing.json()["error"]["field"] == "tests"
    bad_assertion = stack.call(
        "POST",
        f"/api/prompts/{pid}/eval/explore",
        key=admin,
        body={"versionNo": 1, "tests": [{"name": "t", "assertions": [{"type": "nope"}]}]},
    )
    assert bad_assertion.status == 400 and bad_assertion.json()["error"]["field"].startswith("tests[0].assertions[0]")
