"""The seed documents (../shared/seeds/) to the letter, over HTTP on the session runtime: each documented
example request is sent exactly as the document shows it (ids that the document shows as 1, 3, 5 are the ones
this project drew), and the status codes and response fields are compared with the document's.

One walk per family, in the documents' order, in a fresh project (so `{"target": {}}` judges only this
walk's traffic)."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import requests

from tests.e2e.conftest import Runtime

pytestmark = pytest.mark.e2e

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


@pytest.fixture(scope="module")
def project(runtime: Runtime, admin: requests.Session) -> requests.Session:
    reply = admin.post(runtime.url("/api/v1/projects"), json={"name": "seed documents"})
    assert reply.status_code == 201, reply.text
    return runtime.session(reply.json()["apiKey"]["key"])


def _poll(get: Any, done: Any, seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        body = get()
        if done(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.2)


def test_evalguard_documents(runtime: Runtime, project: requests.Session) -> None:
    url = runtime.url
    anonymous = requests.Session()
    # -- evalguard-auto-eval.txt: POST /api/v1/auto-eval ------------------------------------------------
    traces = [{"id": f"seed-{i}", "model": m, "output": f"answer {i}"} for i, m in enumerate(["m-a", "m-b", "m-a"])]
    assert project.post(url("/api/v1/traces"), json={"traces": traces}).status_code == 200
    example = {"target": {}, "sample_count": 100}
    reply = project.post(url("/api/v1/auto-eval"), json=example)
    assert reply.status_code == 202, reply.text  # 202 Auto-eval queued
    assert set(reply.json()) == {"job_id"} and UUID.match(reply.json()["job_id"])  # {"job_id": "0000…"}
    job_url = url(f"/api/v1/auto-eval/{reply.json()['job_id']}")
    assert project.get(job_url).json()["target"]["model"] is None  # every model's traffic of the project
    assert project.post(url("/api/v1/auto-eval"), json={"sample_count": 100}).status_code == 400  # target required
    assert project.post(url("/api/v1/auto-eval"), json={"target": {}, "sample_count": "many"}).status_code == 400
    assert anonymous.post(url("/api/v1/auto-eval"), json=example).status_code == 401
    viewer_key = project.post(
        url(f"/api/v1/projects/{_project_id(runtime, project)}/api-keys"), json={"name": "viewer", "role": "viewer"}
    ).json()["key"]
    forbidden = runtime.session(viewer_key).post(url("/api/v1/auto-eval"), json=example)
    assert forbidden.status_code == 403 and "insufficient role" in forbidden.text  # 403 insufficient role

    # -- evalguard-patch-eval-run-status.txt: PATCH /api/v1/evals/{runId} --------------------------------
    created = project.post(url("/api/v1/evals"), json={"name": "seed run"})
    assert created.status_code == 201, created.text
    run_id = created.json()["id"]
    example = {"status": "pending", "summary": {"score": 0, "totalLatency": 0}}
    reply = project.patch(url(f"/api/v1/evals/{run_id}"), json=example)
    assert reply.status_code == 200, reply.text  # 200 Updated eval run
    assert reply.json()["status"] == "pending" and reply.json()["id"] == run_id
    assert project.patch(url("/api/v1/evals/999999999"), json=example).status_code == 404

    # -- evalguard-submit-results.txt: POST /api/v1/evals/{runId}/results --------------------------------
    example = {
        "results": [
            {
                "input": "string",
                "expectedOutput": "string",
                "actualOutput": "string",
                "score": 0,
                "passed": False,
                "latency": 0,
                "tokenUsage": {},
                "scorerResults": {},
            }
        ]
    }
    reply = project.post(url(f"/api/v1/evals/{run_id}/results"), json=example)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"success": True}  # 200 example
    assert project.post(url(f"/api/v1/evals/{run_id}/results"), json={"results": "x"}).status_code == 400
    assert project.post(url(f"/api/v1/evals/{run_id}/results"), json={}).status_code == 400
    assert project.post(url("/api/v1/evals/999999999/results"), json=example).status_code == 404
    assert anonymous.post(url(f"/api/v1/evals/{run_id}/results"), json=example).status_code == 401
    listed = project.get(url(f"/api/v1/evals/{run_id}/results")).json()["items"]
    assert [(r["actualOutput"], r["passed"], r["score"]) for r in listed] == [("string", False, 0)]

    # the auto-eval job queued first has judged the project's three production traces by now
    job = _poll(lambda: project.get(job_url).json(), lambda j: j["status"] in ("completed", "failed"))
    assert job["status"] == "completed" and job["progress"]["sampled"] == 3, job


def test_echostash_document(runtime: Runtime, project: requests.Session) -> None:
    url = runtime.url
    prompt = project.post(
        url("/api/prompts"),
        json={"name": "greeting", "template": "Hello {{title}}", "modelConfig": {"provider": "echo", "model": "e"}},
    ).json()
    base = f"/api/prompts/{prompt['id']}/eval"
    for n in (2, 3):  # the document runs versionNo 3
        made = project.post(
            url(f"/api/prompts/{prompt['id']}/versions"),
            json={"template": f"Hello {{{{title}}}} {n}", "modelConfig": {"provider": "echo", "model": "e"}},
        )
        assert made.status_code == 201, made.text
    dataset = project.post(
        url(f"{base}/datasets"),
        json={"name": "people", "cases": [{"name": "formal", "variables": {"title": "Dr. Smith"}}]},
    ).json()
    suite = project.post(url(f"{base}/suites"), json={"name": "greetings"}).json()
    tests = []
    for i in range(5):
        added = project.post(
            url(f"{base}/suites/{suite['id']}/tests"),
            json={
                "name": f"Greeting {i}",
                "datasetId": dataset["id"],
                "assertions": [{"type": "contains", "value": "Hello"}],
            },
        )
        assert added.status_code == 201, added.text
        tests.append(added.json()["id"])
    # Run Suite Request, as the document shows it (its ids 1 and [1, 3, 5] are this project's suite and tests)
    example = {
        "suiteId": suite["id"],
        "versionNo": 3,
        "modelConfig": {"model": "gpt-4o", "temperature": 0.7},
        "testIds": [tests[0], tests[2], tests[4]],
    }
    reply = project.post(url(f"{base}/run"), json=example)
    assert reply.status_code in (200, 201, 202), reply.text  # async, returns pending
    run = reply.json()
    assert run["status"] in ("pending", "running") and run["versionNo"] == 3
    status = _poll(
        lambda: project.get(url(f"{base}/runs/{run['id']}/status")).json(),
        lambda s: s["status"] in ("completed", "failed"),
        seconds=120,  # a suite run's functions cold-start on a busy machine
    )
    assert status["status"] == "completed", status  # pending/running/completed/failed
    got = project.get(url(f"{base}/runs/{run['id']}")).json()
    # Run Response: every field the document shows, with its type
    for field in ("id", "versionNo", "configHash", "summary", "score", "status", "durationMs", "results"):
        assert field in got, field
    assert isinstance(got["id"], int) and got["versionNo"] == 3 and isinstance(got["configHash"], str)
    assert got["summary"] == {"total": 3, "passed": 3, "failed": 0, "errored": 0}
    assert got["score"] == 100 and isinstance(got["score"], int)  # an integer 0-100
    assert isinstance(got["durationMs"], int)
    first = got["results"][0]
    assert first["status"] == "passed" and isinstance(first["durationMs"], int) and first["name"]
    assertion = first["assertions"][0]
    assert assertion["operator"] == "contains" and assertion["status"] == "passed"
    assert assertion["expected"] == "Hello" and assertion["actual"].startswith("Hello Dr. Smith")
    listed = project.get(url(f"{base}/runs")).json()
    assert [r["id"] for r in listed["items"]] == [run["id"]]
    # Quality Gate: GET and PUT the configuration, POST …/gate/check with no body (as CI calls it)
    assert project.get(url(f"{base}/gate")).status_code == 200
    assert project.put(url(f"{base}/gate"), json={"threshold": 0.8}).status_code == 200
    check = project.post(url(f"{base}/gate/check"))
    assert check.status_code == 200, check.text
    verdict = check.json()
    assert isinstance(verdict["passed"], bool) and verdict["verdict"] and verdict["runId"] == run["id"], verdict
    # Explore: an ad-hoc run, not persisted
    explored = project.post(
        url(f"{base}/explore"), json={"versionNo": 3, "suiteId": suite["id"], "testIds": [tests[0]]}
    )
    assert explored.status_code == 200, explored.text
    assert [r["id"] for r in project.get(url(f"{base}/runs")).json()["items"]] == [run["id"]]


def test_humanloop_update_evaluation_run_document(runtime: Runtime, project: requests.Session) -> None:
    hl = runtime.session(project.headers["Authorization"].split(" ", 1)[1], header="x-api-key")
    prompt = hl.post(runtime.url("/v5/prompts"), json={"path": "seed/hl", "model": "m", "template": "x"}).json()
    evaluation = hl.post(
        runtime.url("/v5/evaluations"), json={"file": {"id": prompt["id"]}, "evaluators": [{"path": "is-json"}]}
    ).json()
    run = hl.post(runtime.url(f"/v5/evaluations/{evaluation['id']}/runs")).json()
    # the document's cURL sends -d '{}'
    reply = hl.patch(
        runtime.url(f"/v5/evaluations/{evaluation['id']}/runs/{run['id']}"),
        data="{}",
        headers={"Content-Type": "application/json"},
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    for field in ("id", "orchestrated", "added_at", "created_at", "status", "control", "created_by"):
        assert field in body, field
    assert body["id"] == run["id"] and body["status"] == "pending"
    bad = hl.patch(runtime.url(f"/v5/evaluations/{evaluation['id']}/runs/{run['id']}"), json={"status": "done"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "status"]


def _project_id(runtime: Runtime, session: requests.Session) -> str:
    return str(session.get(runtime.url("/api/v1/me")).json()["projectId"])
