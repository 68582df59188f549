"""Each API family's wire conventions, chosen by path in the resolver: EvalGuard's documents list 400 for a
bad body on `POST …/results` and `POST /api/v1/auto-eval` (its other routes and evalgate's keep 422);
Echostash's gate check and Humanloop's /v5 take a request with no body as `{}`; /v5 schema errors are
FastAPI's `{"detail": [{loc, msg, type}]}`."""

from __future__ import annotations

from tests.integration.conftest import Stack


def test_evalguard_bad_bodies_are_400_on_the_two_documented_routes(stack: Stack, admin: str) -> None:
    results = stack.call("POST", "/api/v1/evals/999/results", key=admin, body={"results": "nope"})
    assert results.status == 400 and results.json()["error"]["code"] == "validation_error", results.text
    auto = stack.call("POST", "/api/v1/auto-eval", key=admin, body={"target": 5})
    assert auto.status == 400 and results.json()["error"]["field"], auto.text
    # a well-formed body reaches the route (the run does not exist)
    passed_schema = stack.call("POST", "/api/v1/evals/999/results", key=admin, body={"results": []})
    assert passed_schema.json()["error"]["code"] != "validation_error", passed_schema.text
    # evalgate's own routes keep 422
    assert stack.call("POST", "/api/prompts", key=admin, body={"name": 5}).status == 422


def test_echostash_gate_check_without_a_body(stack: Stack, admin: str) -> None:
    prompt = stack.call("POST", "/api/prompts", key=admin, body={"name": "g", "template": "Hi {{x}}"}).json()
    reply = stack.call("POST", f"/api/prompts/{prompt['id']}/eval/gate/check", key=admin)
    # the route itself answered (no completed run yet), not a 422 for the missing body
    assert reply.status == 400 and "no completed run" in reply.json()["error"]["message"], reply.text


def test_v5_no_body_is_an_empty_object_and_schema_errors_are_fastapi_shaped(stack: Stack, admin: str) -> None:
    prompt = stack.call("POST", "/api/prompts", key=admin, body={"name": "h", "template": "Hi {{x}}"}).json()
    ev = stack.call("POST", "/v5/evaluations", key=admin, body={"file": {"id": str(prompt["id"])}, "evaluators": []})
    assert ev.status == 200, ev.text
    run = stack.call("POST", f"/v5/evaluations/{ev.json()['id']}/runs", key=admin)
    assert run.status == 200 and run.json()["orchestrated"] is False, run.text
    patched = stack.call("PATCH", f"/v5/evaluations/{ev.json()['id']}/runs/{run.json()['id']}", key=admin)
    assert patched.status == 200, patched.text
    bad = stack.call("POST", "/v5/evaluations", key=admin, body={"file": {"id": "1"}, "evaluators": "x"})
    assert bad.status == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "evaluators"] and set(bad.json()) == {"detail"}, bad.text
