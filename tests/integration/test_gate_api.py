"""The quality gate: settings, and checks with the verdicts the issue names."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import Stack, key_for


def run_with(stack: Stack, key: str, pid: int, passed: int, total: int, *, complete: bool = False) -> str:
    run = stack.call("POST", "/api/v1/evals", key=key, body={"name": "r", "promptId": pid}).json()
    url = f"/api/v1/evals/{run['id']}/results"
    rows = [{"id": f"c{i}", "passed": i < passed, "score": 1.0 if i < passed else 0.0} for i in range(total)]
    for start in range(0, total, 500):
        assert stack.call("POST", url, key=key, body={"results": rows[start : start + 500]}).status == 200
    if complete:
        stack.call("PATCH", f"/api/v1/evals/{run['id']}", key=key, body={"status": "passed"})
    return str(run["id"])


def check(stack: Stack, key: str, pid: int, run_id: str | None = None) -> Any:
    return stack.call(
        "POST", f"/api/prompts/{pid}/eval/gate/check", key=key, body={"runId": int(run_id)} if run_id else {}
    )


def test_gate_settings_roles_and_verdicts(stack: Stack, admin: str) -> None:
    pid = stack.call("POST", "/api/prompts", key=admin, body={"name": "gated"}).json()["id"]
    defaults = stack.call("GET", f"/api/prompts/{pid}/eval/gate", key=admin).json()
    assert defaults["mode"] == "threshold" and defaults["threshold"] == 0.9
    member = key_for(admin, stack, "member")
    viewer = key_for(admin, stack, "viewer")
    settings = {"metric": "pass_rate", "threshold": 0.9, "mode": "significance", "minSamples": 5}
    assert stack.call("PUT", f"/api/prompts/{pid}/eval/gate", key=member, body=settings).status == 403
    saved = stack.call("PUT", f"/api/prompts/{pid}/eval/gate", key=admin, body=settings)
    assert saved.status == 200 and saved.json()["mode"] == "significance"
    # 8 of 10 against 0.9: the data cannot settle it
    small = run_with(stack, admin, pid, 8, 10)
    verdict = check(stack, viewer, pid, small).json()
    assert verdict["verdict"] == "inconclusive" and verdict["passed"] is False and verdict["reason"]
    # 800 of 1,000 against 0.9: clearly below
    big = run_with(stack, admin, pid, 800, 1000)
    verdict = check(stack, viewer, pid, big).json()
    assert verdict["verdict"] == "failed" and verdict["runId"] == int(big)
    assert verdict["figures"]["allowInconclusive"] is False
    # 990 of 1,000: clearly above
    good = run_with(stack, admin, pid, 990, 1000, complete=True)
    assert check(stack, viewer, pid, good).json()["verdict"] == "passed"
    # without a run id, the latest completed run is checked
    latest = check(stack, viewer, pid)
    assert latest.status == 200 and latest.json()["runId"] == int(good)
    # too few samples → inconclusive, never a pass
    tiny = run_with(stack, admin, pid, 3, 3)
    assert check(stack, viewer, pid, tiny).json()["verdict"] == "inconclusive"


def test_gate_errors(stack: Stack, admin: str) -> None:
    pid = stack.call("POST", "/api/prompts", key=admin, body={"name": "g"}).json()["id"]
    none = check(stack, admin, pid)
    assert none.status == 400 and none.json()["error"]["field"] == "runId"
    assert check(stack, admin, pid, "987654321").status == 400
    bad = stack.call("PUT", f"/api/prompts/{pid}/eval/gate", key=admin, body={"threshold": 1.5})
    assert bad.status == 422 and bad.json()["error"]["field"] == "threshold"
    k_of_n = stack.call("PUT", f"/api/prompts/{pid}/eval/gate", key=admin, body={"kOfN": {"k": 3, "n": 2}})
    assert k_of_n.status == 400 and k_of_n.json()["error"]["field"] == "kOfN"
    assert stack.call("GET", "/api/prompts/999999/eval/gate", key=admin).status == 404


def test_a_margin_of_one_is_refused(stack: Stack, admin: str) -> None:
    pid = stack.call("POST", "/api/prompts", key=admin, body={"name": "m"}).json()["id"]
    reply = stack.call("PUT", f"/api/prompts/{pid}/eval/gate", key=admin, body={"margin": 1})
    assert reply.status == 422 and reply.json()["error"]["field"] == "margin"
