"""Echostash suites and tests through the handlers (in-process, mock_aws)."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import Stack, key_for


def setup_prompt(stack: Stack, key: str) -> tuple[int, int]:
    pid = stack.call("POST", "/api/prompts", key=key, body={"name": "p", "template": "Hi {{name}}"}).json()["id"]
    ds = stack.call(
        "POST",
        f"/api/prompts/{pid}/eval/datasets",
        key=key,
        body={"name": "d", "cases": [{"name": "a", "variables": {"name": "A"}}]},
    ).json()["id"]
    return pid, ds


def make_suite(stack: Stack, key: str, pid: int, **extra: Any) -> Any:
    return stack.call("POST", f"/api/prompts/{pid}/eval/suites", key=key, body={"name": "s", **extra})


def test_create_get_update_delete_suite(stack: Stack, admin: str) -> None:
    pid, ds = setup_prompt(stack, admin)
    # Given a suite with two tests (one over a dataset, one inline)
    reply = make_suite(
        stack,
        admin,
        pid,
        config={"maxConcurrency": 3, "passThreshold": 80},
        tests=[
            {
                "name": "over data",
                "datasetId": ds,
                "caseNames": ["a"],
                "assertions": [{"type": "contains", "value": "Hi"}],
            },
            {
                "name": "inline",
                "variables": {"name": "B"},
                "weight": 2,
                "threshold": 0.5,
                "repeat": 3,
                "assertions": [{"type": "not-icontains", "value": "bye", "weight": 0.5}],
            },
        ],
    )
    assert reply.status == 201, reply.text
    suite = reply.json()
    assert suite["testCount"] == 2 and suite["config"]["maxConcurrency"] == 3
    assert [t["name"] for t in suite["tests"]] == ["over data", "inline"]
    # When it is read back, tests keep their settings
    got = stack.call("GET", f"/api/prompts/{pid}/eval/suites/{suite['id']}", key=admin).json()
    inline = got["tests"][1]
    assert (inline["weight"], inline["threshold"], inline["repeat"]) == (2, 0.5, 3)
    assert got["tests"][0]["datasetId"] == ds and got["tests"][0]["caseNames"] == ["a"]
    # Update and delete
    upd = stack.call(
        "PUT",
        f"/api/prompts/{pid}/eval/suites/{suite['id']}",
        key=admin,
        body={"name": "renamed", "config": {"maxConcurrency": 5}},
    )
    assert upd.status == 200 and upd.json()["name"] == "renamed" and upd.json()["config"]["maxConcurrency"] == 5
    listed = stack.call("GET", f"/api/prompts/{pid}/eval/suites", key=admin).json()
    assert [s["id"] for s in listed["items"]] == [suite["id"]]
    assert stack.call("DELETE", f"/api/prompts/{pid}/eval/suites/{suite['id']}", key=admin).status == 204
    assert stack.call("GET", f"/api/prompts/{pid}/eval/suites/{suite['id']}", key=admin).status == 404


def test_tests_add_update_delete(stack: Stack, admin: str) -> None:
    pid, _ = setup_prompt(stack, admin)
    sid = make_suite(stack, admin, pid).json()["id"]
    base = f"/api/prompts/{pid}/eval/suites/{sid}/tests"
    added = stack.call("POST", base, key=admin, body={"name": "t", "assertions": [{"type": "equals", "value": "x"}]})
    assert added.status == 201, added.text
    tid = added.json()["id"]
    changed = stack.call("PUT", f"{base}/{tid}", key=admin, body={"repeat": 4, "threshold": None})
    assert changed.status == 200, changed.text
    assert changed.json()["repeat"] == 4 and changed.json()["name"] == "t"
    assert stack.call("GET", f"/api/prompts/{pid}/eval/suites/{sid}", key=admin).json()["testCount"] == 1
    assert stack.call("DELETE", f"{base}/{tid}", key=admin).status == 204
    assert stack.call("DELETE", f"{base}/{tid}", key=admin).status == 404
    assert stack.call("GET", f"/api/prompts/{pid}/eval/suites/{sid}", key=admin).json()["testCount"] == 0


def test_bad_assertions_are_refused_when_saved(stack: Stack, admin: str) -> None:
    pid, ds = setup_prompt(stack, admin)
    unknown = make_suite(stack, admin, pid, tests=[{"name": "t", "assertions": [{"type": "telepathy"}]}])
    assert unknown.status == 400, unknown.text
    assert unknown.json()["error"]["field"].startswith("tests[0].assertions[0]")
    bad_regex = make_suite(stack, admin, pid, tests=[{"name": "t", "assertions": [{"type": "regex", "value": "("}]}])
    assert bad_regex.status == 400 and "tests[0].assertions[0]" in bad_regex.json()["error"]["field"]
    sid = make_suite(stack, admin, pid).json()["id"]
    add = stack.call(
        "POST",
        f"/api/prompts/{pid}/eval/suites/{sid}/tests",
        key=admin,
        body={"name": "t", "assertions": [{"type": "contains"}], "datasetId": 999999},
    )
    assert add.status == 400
    missing_case = stack.call(
        "POST",
        f"/api/prompts/{pid}/eval/suites/{sid}/tests",
        key=admin,
        body={"name": "t", "datasetId": ds, "caseNames": ["nope"]},
    )
    assert missing_case.status == 400 and missing_case.json()["error"]["field"] == "body.caseNames[0]"
    both = stack.call(
        "POST",
        f"/api/prompts/{pid}/eval/suites/{sid}/tests",
        key=admin,
        body={"name": "t", "datasetId": ds, "variables": {"x": 1}},
    )
    assert both.status == 400
    bad_repeat = stack.call(
        "POST", f"/api/prompts/{pid}/eval/suites/{sid}/tests", key=admin, body={"name": "t", "repeat": 0}
    )
    assert bad_repeat.status == 422 and bad_repeat.json()["error"]["field"] == "repeat"


def test_roles_and_tenancy(stack: Stack, admin: str) -> None:
    pid, _ = setup_prompt(stack, admin)
    viewer = key_for(admin, stack, "viewer")
    assert make_suite(stack, viewer, pid).status == 403
    sid = make_suite(stack, admin, pid).json()["id"]
    assert stack.call("GET", f"/api/prompts/{pid}/eval/suites/{sid}", key=viewer).status == 200
    other = stack.call("POST", "/api/v1/projects", key=admin, body={"name": "o"}).json()["apiKey"]["key"]
    assert stack.call("GET", f"/api/prompts/{pid}/eval/suites/{sid}", key=other).status == 404
    # a suite is only reachable under its own prompt
    pid2 = stack.call("POST", "/api/prompts", key=admin, body={"name": "q"}).json()["id"]
    assert stack.call("GET", f"/api/prompts/{pid2}/eval/suites/{sid}", key=admin).status == 404
