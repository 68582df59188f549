"""EvalGuard-compatible evals: runs for external execution, status PATCH, idempotent result batches."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import Stack, key_for


def new_run(stack: Stack, key: str, **extra: Any) -> dict[str, Any]:
    reply = stack.call("POST", "/api/v1/evals", key=key, body={"name": "nightly", "model": "gpt-4o", **extra})
    assert reply.status == 201, reply.text
    return dict(reply.json())


def results(n: int, start: int = 0, passed_every: int = 2) -> list[dict[str, Any]]:
    return [
        {
            "id": f"r{i}",
            "input": f"q{i}",
            "expectedOutput": "a",
            "actualOutput": "a" if i % passed_every == 0 else "b",
            "score": 1.0 if i % passed_every == 0 else 0.0,
            "passed": i % passed_every == 0,
            "latency": 10 + i,
            "tokenUsage": {"prompt": 5, "completion": 3},
            "scorerResults": {"exact": i % 2 == 0},
        }
        for i in range(start, start + n)
    ]


def test_create_get_list_delete(stack: Stack, admin: str) -> None:
    run = new_run(stack, admin, metadata={"ci": "gh-123"})
    assert run["status"] == "pending" and run["summary"]["total"] == 0 and run["metadata"] == {"ci": "gh-123"}
    assert isinstance(run["id"], str)
    got = stack.call("GET", f"/api/v1/evals/{run['id']}", key=admin).json()
    assert got["name"] == "nightly" and got["model"] == "gpt-4o"
    listed = stack.call("GET", "/api/v1/evals", key=admin).json()
    assert run["id"] in [r["id"] for r in listed["items"]]
    assert stack.call("DELETE", f"/api/v1/evals/{run['id']}", key=admin).status == 204
    assert stack.call("GET", f"/api/v1/evals/{run['id']}", key=admin).status == 404
    assert stack.call("GET", "/api/v1/evals/not-a-run", key=admin).status == 404


def test_patch_status_and_transitions(stack: Stack, admin: str) -> None:
    run = new_run(stack, admin)
    url = f"/api/v1/evals/{run['id']}"
    running = stack.call("PATCH", url, key=admin, body={"status": "running"})
    assert running.status == 200 and running.json()["status"] == "running"
    done = stack.call(
        "PATCH", url, key=admin, body={"status": "passed", "summary": {"score": 0.93, "totalLatency": 4200}}
    )
    assert done.status == 200, done.text
    body = done.json()
    assert body["status"] == "passed" and body["summary"]["score"] == 0.93 and body["summary"]["totalLatency"] == 4200
    # out of a terminal state: 409
    again = stack.call("PATCH", url, key=admin, body={"status": "running"})
    assert again.status == 409 and again.json()["error"]["field"] == "status"
    bad = stack.call("PATCH", url, key=admin, body={"status": "finished"})
    assert bad.status == 422 and bad.json()["error"]["field"] == "status"
    assert stack.call("PATCH", "/api/v1/evals/999999999", key=admin, body={"status": "running"}).status == 404
    # EvalGuard's "failed" and "error" map onto the lifecycle too
    other = new_run(stack, admin)
    failed = stack.call("PATCH", f"/api/v1/evals/{other['id']}", key=admin, body={"status": "failed"}).json()
    assert failed["status"] == "failed"
    listed = stack.call("GET", "/api/v1/evals", key=admin, query="status=failed").json()
    assert [r["id"] for r in listed["items"]] == [other["id"]]


def test_results_are_idempotent_and_counted_once(stack: Stack, admin: str) -> None:
    run = new_run(stack, admin)
    url = f"/api/v1/evals/{run['id']}/results"
    first = stack.call("POST", url, key=admin, body={"results": results(10)}, headers={"Idempotency-Key": "b-1"})
    assert first.status == 200 and first.json() == {"success": True}
    # same key + same body: the first response replayed, nothing stored twice
    replay = stack.call("POST", url, key=admin, body={"results": results(10)}, headers={"Idempotency-Key": "b-1"})
    assert replay.status == 200 and replay.headers.get("Idempotent-Replayed") == "true"
    # same key + another body: 422
    clash = stack.call("POST", url, key=admin, body={"results": results(3)}, headers={"Idempotency-Key": "b-1"})
    assert clash.status == 422 and clash.json()["error"]["field"] == "Idempotency-Key"
    # the same batch under a new key is still counted once (results carry ids; the batch has a marker)
    dup = stack.call("POST", url, key=admin, body={"results": results(10)}, headers={"Idempotency-Key": "b-2"})
    assert dup.status == 200
    more = stack.call("POST", url, key=admin, body={"results": results(5, start=10)})
    assert more.status == 200
    summary = stack.call("GET", f"/api/v1/evals/{run['id']}", key=admin).json()["summary"]
    assert summary["total"] == 15 and summary["passed"] == 8 and summary["failed"] == 7
    listed = stack.call("GET", url, key=admin, query="limit=100").json()
    assert sorted(r["id"] for r in listed["items"]) == sorted(f"r{i}" for i in range(15))
    first_item = next(r for r in listed["items"] if r["id"] == "r0")
    assert first_item["actualOutput"] == "a" and first_item["tokenUsage"] == {"prompt": 5, "completion": 3}


def test_results_limits_and_errors(stack: Stack, admin: str) -> None:
    run = new_run(stack, admin)
    url = f"/api/v1/evals/{run['id']}/results"
    too_many = stack.call("POST", url, key=admin, body={"results": [{"id": str(i)} for i in range(1001)]})
    assert too_many.status == 413 and "1000" in too_many.json()["error"]["message"]
    assert stack.call("POST", url, key=admin, body={"results": []}).status == 400
    assert stack.call("POST", url, key=admin, body={"nope": []}).status == 400  # EvalGuard's document: 400
    assert stack.call("POST", "/api/v1/evals/424242424/results", key=admin, body={"results": results(1)}).status == 404
    viewer = key_for(admin, stack, "viewer")
    denied = stack.call("POST", url, key=viewer, body={"results": results(1)})
    assert denied.status == 403 and denied.json()["error"]["message"] == "insufficient role for this operation"
    assert stack.call("POST", url, body={"results": results(1)}).status == 401


def test_create_is_idempotent_and_checks_orchestrated_bodies(stack: Stack, admin: str) -> None:
    a = stack.call("POST", "/api/v1/evals", key=admin, body={"name": "x"}, headers={"Idempotency-Key": "c-1"})
    b = stack.call("POST", "/api/v1/evals", key=admin, body={"name": "x"}, headers={"Idempotency-Key": "c-1"})
    assert a.status == b.status == 201 and a.json()["id"] == b.json()["id"]
    no_scorers = stack.call("POST", "/api/v1/evals", key=admin, body={"name": "x", "cases": [{"input": "q"}]})
    assert no_scorers.status == 400 and no_scorers.json()["error"]["field"] == "scorers"


def test_re_batched_results_are_counted_once(stack: Stack, admin: str) -> None:
    """The same results sent again in other batches (another batch size) are neither stored nor counted twice."""
    run = new_run(stack, admin)
    url = f"/api/v1/evals/{run['id']}/results"
    everything = results(30)
    for start in range(0, 30, 10):
        assert stack.call("POST", url, key=admin, body={"results": everything[start : start + 10]}).status == 200
    for start in range(0, 30, 7):  # re-sent with another batching
        assert stack.call("POST", url, key=admin, body={"results": everything[start : start + 7]}).status == 200
    changed = [{**everything[0], "passed": False, "score": 0.0}]  # a later report of a known id changes nothing
    assert stack.call("POST", url, key=admin, body={"results": changed}).status == 200
    summary = stack.call("GET", f"/api/v1/evals/{run['id']}", key=admin).json()["summary"]
    assert summary["total"] == 30 and summary["passed"] == 15
    listed = stack.call("GET", url, key=admin, query="limit=100").json()["items"]
    assert len(listed) == 30 and next(r for r in listed if r["id"] == "r0")["passed"] is True


def test_stats_from_aggregates(stack: Stack, admin: str) -> None:
    run = new_run(stack, admin)
    rows = [
        {
            "id": f"s{i}",
            "passed": i < 80,
            "score": (i % 10) / 10,
            "latency": 100,
            "tokenUsage": {"prompt": 10, "completion": 5},
        }
        for i in range(100)
    ]
    assert stack.call("POST", f"/api/v1/evals/{run['id']}/results", key=admin, body={"results": rows}).status == 200
    stats = stack.call("GET", f"/api/v1/evals/{run['id']}/stats", key=admin)
    assert stats.status == 200, stats.text
    body = stats.json()
    assert (body["count"], body["passed"], body["failed"], body["errors"]) == (100, 80, 20, 0)
    assert abs(body["score"]["mean"] - 0.45) < 1e-9
    assert abs(body["score"]["std"] - 0.28867513) < 1e-6  # sample std of 0.0..0.9, ten of each
    low, high = body["passRate"]["ci95"]
    assert body["passRate"]["value"] == 0.8 and 0.71 < low < 0.72 and 0.86 < high < 0.87
    assert abs(body["score"]["percentiles"]["p50"] - 0.45) <= 0.05  # within one histogram bin
    assert body["latency"]["totalMs"] == 10000 and body["tokens"] == {"input": 1000, "output": 500}
    assert stack.call("GET", "/api/v1/evals/424242/stats", key=admin).status == 404


def test_an_evalguard_run_attached_to_a_prompt_reads_through_the_prompts_runs(stack: Stack, admin: str) -> None:
    """Found by schemathesis: the prompt's run route loaded external results as suite results (a 500)."""
    pid = stack.call("POST", "/api/prompts", key=admin, body={"name": "attached", "template": "{{a}}"}).json()["id"]
    created = stack.call("POST", "/api/v1/evals", key=admin, body={"name": "e", "model": "m", "promptId": pid})
    assert created.status == 201, created.text
    rid = created.json()["id"]
    batch = [
        {"id": "a", "passed": True, "actualOutput": "yes", "latency": 12, "tokenUsage": {"prompt": 3, "completion": 2}},
        {"id": "b", "score": 0.25, "actualOutput": {"json": 1}},
    ]
    assert stack.call("POST", f"/api/v1/evals/{rid}/results", key=admin, body={"results": batch}).status == 200
    got = stack.call("GET", f"/api/prompts/{pid}/eval/runs/{rid}", key=admin, query="limit=100")
    assert got.status == 200, got.text
    results = {r["name"]: r for r in got.json()["results"]}
    assert results["a"]["status"] == "passed" and results["a"]["output"] == "yes"
    assert (
        results["b"]["status"] == "failed" and results["b"]["score"] == 0.25 and results["b"]["output"] == '{"json":1}'
    )
