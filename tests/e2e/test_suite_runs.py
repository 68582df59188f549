"""Suite runs end to end on the local runtime: POST run → Step Functions (moto) → task functions → results."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.e2e.conftest import Runtime


def wait_for(admin: requests.Session, url: str, *, until: set[str], timeout: float = 120) -> dict[str, Any]:
    deadline = time.time() + timeout
    body: dict[str, Any] = {}
    while time.time() < deadline:
        body = admin.get(url).json()
        if body["status"] in until:
            return body
        time.sleep(0.2)
    raise AssertionError(f"run still {body.get('status')} after {timeout}s: {body}")


@pytest.fixture(scope="module")
def prompt(runtime: Runtime, admin: requests.Session) -> dict[str, Any]:
    reply = admin.post(
        runtime.url("/api/prompts"),
        json={
            "name": "greeter",
            "template": "Hello {{name}}!",
            "modelConfig": {
                "provider": "scripted",
                "model": "scripted-1",
                "default": "Hello {{name}}!",
                "responses": [
                    {"match": "Hello Ada", "output": "Hello Ada, welcome back!"},
                    {"match": "Hello Bo", "output": "Go away."},
                    {"match": "Hello Error", "output": "x"},
                ],
                "fail_on": "Hello Crash",
            },
        },
    )
    assert reply.status_code == 201, reply.text
    return dict(reply.json())


def test_suite_run_end_to_end(runtime: Runtime, admin: requests.Session, prompt: dict[str, Any]) -> None:
    pid = prompt["id"]
    base = runtime.url(f"/api/prompts/{pid}/eval")
    ds = admin.post(
        f"{base}/datasets",
        json={
            "name": "people",
            "cases": [
                {"name": "ada", "variables": {"name": "Ada"}, "expectedOutput": "Hello Ada, welcome back!"},
                {"name": "bo", "variables": {"name": "Bo"}},
                {"name": "crash", "variables": {"name": "Crash"}},
            ],
        },
    ).json()
    suite = admin.post(
        f"{base}/suites",
        json={
            "name": "greetings",
            "config": {"maxConcurrency": 2},
            "tests": [
                {
                    "name": "Greeting",
                    "datasetId": ds["id"],
                    "assertions": [
                        {"type": "contains", "value": "Hello"},
                        {"type": "not-contains", "value": "Go away"},
                    ],
                },
                {
                    "name": "Inline",
                    "variables": {"name": "Ada"},
                    "repeat": 2,
                    "assertions": [{"type": "icontains", "value": "welcome"}, {"type": "equals"}],
                },
            ],
        },
    )
    assert suite.status_code == 201, suite.text
    suite_body = suite.json()
    # When a run starts, it answers at once with the pending run
    started = admin.post(f"{base}/run", json={"suiteId": suite_body["id"], "versionNo": 1})
    assert started.status_code == 202, started.text
    run = started.json()
    assert run["status"] == "pending" and len(run["configHash"]) == 16
    # Then the workflow completes it
    final = wait_for(admin, f"{base}/runs/{run['id']}/status", until={"completed", "failed"})
    assert final["status"] == "completed", final
    assert final["progress"] == {"done": 5, "total": 5}
    # ada passes; bo fails (not-contains); crash errors (provider error); Inline x2: equals has no expected → errored
    full = admin.get(f"{base}/runs/{run['id']}").json()
    by_name = {r["name"]: r for r in full["results"]}
    assert by_name["Greeting [ada]"]["status"] == "passed"
    assert by_name["Greeting [bo]"]["status"] == "failed"
    assert by_name["Greeting [crash]"]["status"] == "errored"
    assert "model call failed" in by_name["Greeting [crash]"]["error"]
    contains = by_name["Greeting [ada]"]["assertions"][0]
    assert contains["operator"] == "contains" and contains["status"] == "passed" and contains["expected"] == "Hello"
    assert full["summary"]["total"] == 5
    assert full["summary"]["passed"] + full["summary"]["failed"] + full["summary"]["errored"] == 5
    assert full["score"] == round(100 * full["summary"]["passed"] / 5, 2)
    assert full["verdict"] == "failed"
    assert full["durationMs"] >= 0
    listed = admin.get(f"{base}/runs").json()
    assert run["id"] in [r["id"] for r in listed["items"]]


def test_identical_rerun_makes_no_model_calls(
    runtime: Runtime, admin: requests.Session, prompt: dict[str, Any]
) -> None:
    pid = prompt["id"]
    base = runtime.url(f"/api/prompts/{pid}/eval")
    suite = admin.post(
        f"{base}/suites",
        json={
            "name": "cache",
            "tests": [
                {"name": "t", "variables": {"name": "Ada"}, "assertions": [{"type": "contains", "value": "Ada"}]}
            ],
        },
    ).json()
    first = admin.post(f"{base}/run", json={"suiteId": suite["id"], "versionNo": 1}).json()
    wait_for(admin, f"{base}/runs/{first['id']}/status", until={"completed"})
    second = admin.post(f"{base}/run", json={"suiteId": suite["id"], "versionNo": 1}).json()
    wait_for(admin, f"{base}/runs/{second['id']}/status", until={"completed"})
    results = admin.get(f"{base}/runs/{second['id']}").json()["results"]
    assert [r["cached"] for r in results] == [True]
    assert first["configHash"] == second["configHash"]


def test_cancel_a_run(runtime: Runtime, admin: requests.Session) -> None:
    slow = admin.post(
        runtime.url("/api/prompts"),
        json={
            "name": "slow",
            "template": "{{x}}",
            "modelConfig": {"provider": "scripted", "model": "slow", "default": "ok", "latency_ms": 400},
        },
    ).json()
    base = runtime.url(f"/api/prompts/{slow['id']}/eval")
    suite = admin.post(
        f"{base}/suites",
        json={
            "name": "slow",
            "config": {"maxConcurrency": 1},
            "tests": [
                {"name": f"t{i}", "variables": {"x": str(i)}, "assertions": [{"type": "contains", "value": "ok"}]}
                for i in range(12)
            ],
        },
    ).json()
    run = admin.post(f"{base}/run", json={"suiteId": suite["id"], "versionNo": 1}).json()
    wait_for(admin, f"{base}/runs/{run['id']}/status", until={"running"})
    cancelled = admin.post(f"{base}/runs/{run['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    time.sleep(2)
    after = admin.get(f"{base}/runs/{run['id']}/status").json()
    assert after["status"] == "cancelled"
    assert after["progress"]["done"] < 12
    again = admin.post(f"{base}/runs/{run['id']}/cancel")
    assert again.status_code == 409


def test_run_validation(runtime: Runtime, admin: requests.Session, prompt: dict[str, Any]) -> None:
    base = runtime.url(f"/api/prompts/{prompt['id']}/eval")
    assert admin.post(f"{base}/run", json={"suiteId": 999999, "versionNo": 1}).status_code == 400
    suite = admin.post(f"{base}/suites", json={"name": "v", "tests": [{"name": "t"}]}).json()
    bad_version = admin.post(f"{base}/run", json={"suiteId": suite["id"], "versionNo": 99})
    assert bad_version.status_code == 400 and bad_version.json()["error"]["field"] == "versionNo"
    bad_test = admin.post(f"{base}/run", json={"suiteId": suite["id"], "versionNo": 1, "testIds": [123456789]})
    assert bad_test.status_code == 400 and bad_test.json()["error"]["field"] == "testIds[0]"
    assert admin.post(f"{base}/run", json={"versionNo": 1}).status_code == 422


def test_a_200_case_run(runtime: Runtime, admin: requests.Session) -> None:
    prompt = admin.post(
        runtime.url("/api/prompts"),
        json={"name": "big", "template": "Echo {{n}}", "modelConfig": {"provider": "echo", "model": "echo"}},
    ).json()
    base = runtime.url(f"/api/prompts/{prompt['id']}/eval")
    cases = [{"name": f"c{i:03d}", "variables": {"n": i}} for i in range(200)]
    ds = admin.post(f"{base}/datasets", json={"name": "big", "cases": cases}).json()
    assert ds["caseCount"] == 200
    suite = admin.post(
        f"{base}/suites",
        json={
            "name": "big",
            "config": {"maxConcurrency": 10},
            "tests": [
                {"name": "echo", "datasetId": ds["id"], "assertions": [{"type": "regex", "value": "^Echo \\d+$"}]}
            ],
        },
    ).json()
    run = admin.post(f"{base}/run", json={"suiteId": suite["id"], "versionNo": 1}).json()
    final = wait_for(admin, f"{base}/runs/{run['id']}/status", until={"completed", "failed"}, timeout=180)
    assert final["status"] == "completed", final
    assert final["summary"] == {"total": 200, "passed": 200, "failed": 0, "errored": 0}
    assert final["score"] == 100 and final["verdict"] == "passed"
    # more batches than InlineMapMaxBatches (4 in this session): the batches were read from S3 by a Distributed Map
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=runtime.moto_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    manifest = s3.get_object(
        Bucket="evalgate-local-artifactsbucket", Key=f"projects/{runtime.project_id}/runs/{run['id']}/manifest.json"
    )
    # batches sized to the time budget (issue 17): 2 batches at once x 5 cases in flight each = maxConcurrency 10
    from evalgate.services.runs import batch_size_for, case_threads, map_concurrency, split_even
    from evalgate.settings import Settings

    size = batch_size_for(Settings.model_fields["suite_case_p95_s"].default, case_threads(10))
    expected = len(split_even(list(range(200)), map_concurrency(10), size))
    assert expected > 4
    batches = __import__("json").loads(manifest["Body"].read())
    assert len(batches) == expected
    # a big run's manifest names ranges of items (one case position per batch at most), not its cases
    assert all(b["ranges"] and "items" not in b for b in batches)
    assert sum(r["n"] for b in batches for r in b["ranges"]) == 200
    # results page through, each case exactly once
    names, cursor = [], None
    while True:
        page = admin.get(f"{base}/runs/{run['id']}", params={"limit": 100, **({"cursor": cursor} if cursor else {})})
        body = page.json()
        names += [r["name"] for r in body["results"]]
        cursor = body["nextCursor"]
        if not cursor:
            break
    assert sorted(names) == sorted(f"echo [c{i:03d}]" for i in range(200))

    # the same suite again, same configuration: its batches are sized from the first run's case durations
    # (milliseconds with the echo provider), so they are full (MAX_BATCH) and fewer
    from evalgate.services.runs import MAX_BATCH

    again = admin.post(f"{base}/run", json={"suiteId": suite["id"], "versionNo": 1}).json()
    final = wait_for(admin, f"{base}/runs/{again['id']}/status", until={"completed", "failed"}, timeout=180)
    assert final["status"] == "completed" and final["summary"]["passed"] == 200, final
    second = s3.get_object(
        Bucket="evalgate-local-artifactsbucket", Key=f"projects/{runtime.project_id}/runs/{again['id']}/manifest.json"
    )
    rerun_batches = __import__("json").loads(second["Body"].read())
    assert len(rerun_batches) == len(split_even(list(range(200)), map_concurrency(10), MAX_BATCH)) < expected


def test_a_failing_step_is_retried_then_the_run_is_marked_failed(runtime: Runtime) -> None:
    """Retry and Catch: a run whose suite is gone makes Prepare fail; it is retried, then the Catch
    marks the run failed with the cause (the workflow's DynamoDB task, no code)."""
    import boto3

    from evalgate import keys
    from evalgate.models.domain import Run
    from evalgate.store.blobs import Blobs
    from evalgate.store.runs import RunStore
    from evalgate.store.table import Table

    session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1")
    ddb = session.client("dynamodb", endpoint_url=runtime.moto_url)
    sfn = session.client("stepfunctions", endpoint_url=runtime.moto_url)
    store = RunStore(Table("evalgate-local-Table", ddb), Blobs("unused", None))
    from datetime import UTC, datetime

    run = Run(
        id=900_000_001,
        project_id=runtime.project_id,
        prompt_id=1,
        suite_id=987_654_321,
        version_no=1,
        created_at=datetime.now(UTC),
    )
    store.create_run(run)
    machine = next(
        m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"] if m["name"].endswith("suite-run")
    )
    execution = sfn.start_execution(
        stateMachineArn=machine,
        name="retry-catch-test",
        input=__import__("json").dumps(
            {
                "projectId": runtime.project_id,
                "promptId": 1,
                "runId": run.id,
                "runKey": keys.run(runtime.project_id, run.id),
            }
        ),
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        status = sfn.describe_execution(executionArn=execution["executionArn"])["status"]
        if status != "RUNNING":
            break
        time.sleep(0.2)
    assert status == "FAILED"
    failed = store.get_run(runtime.project_id, run.id)
    assert failed.status.value == "failed"
    assert failed.error and "suite 987654321 not found" in failed.error
    history = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
    scheduled = [e for e in history if e["type"] == "TaskScheduled"]
    assert len([e for e in scheduled if "lambda" in e["taskScheduledEventDetails"]["resourceType"]]) == 2  # 1 retry
    assert any(
        e["type"] == "TaskScheduled" and e["taskScheduledEventDetails"]["resourceType"] == "dynamodb" for e in history
    )


def test_an_inline_batch_hands_its_rest_on_through_the_state_machines_loop(
    runtime: Runtime, admin: requests.Session
) -> None:
    """An inline run is one budgeted batch per Map slot: a RunCases invocation starts cases only within its time
    budget (0.3 s in this session) and returns the rest, which the Map item's loop (MoreCases -> NextCases ->
    RunCases) runs in the next invocation; every case is counted exactly once."""
    import boto3

    prompt = admin.post(
        runtime.url("/api/prompts"),
        json={
            "name": "slow",
            "template": "Slow {{n}}",
            "modelConfig": {"provider": "scripted", "model": "s", "latency_ms": 100},
        },
    ).json()
    base = runtime.url(f"/api/prompts/{prompt['id']}/eval")
    ds = admin.post(
        f"{base}/datasets",
        json={"name": "d", "cases": [{"name": f"c{i:02d}", "variables": {"n": i}} for i in range(16)]},
    ).json()
    # 2 cases at a time (one Map slot of 2), 16 cases of 100 ms: 0.8 s of work, about three invocations' worth
    suite = admin.post(
        f"{base}/suites",
        json={
            "name": "slow",
            "config": {"maxConcurrency": 2},
            "tests": [{"name": "t", "datasetId": ds["id"], "assertions": [{"type": "regex", "value": "^Slow \\d+$"}]}],
        },
    ).json()
    run = admin.post(f"{base}/run", json={"suiteId": suite["id"], "versionNo": 1}).json()
    final = wait_for(admin, f"{base}/runs/{run['id']}/status", until={"completed", "failed"}, timeout=120)
    assert final["status"] == "completed", final
    assert final["summary"] == {"total": 16, "passed": 16, "failed": 0, "errored": 0}
    body = admin.get(f"{base}/runs/{run['id']}", params={"limit": 100}).json()
    assert sorted(r["name"] for r in body["results"]) == [f"t [c{i:02d}]" for i in range(16)]

    session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1")
    sfn = session.client("stepfunctions", endpoint_url=runtime.moto_url)
    machine = next(
        m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"] if m["name"].endswith("suite-run")
    )
    execution = next(
        e["executionArn"]
        for e in sfn.list_executions(stateMachineArn=machine, maxResults=1000)["executions"]
        if e["name"].startswith(f"run-{run['id']}-")
    )
    history = sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if e["type"].endswith("StateEntered")]
    assert "RunBatches" in entered and "RunBatchesDistributed" not in entered
    loops = entered.count("NextCases")
    assert loops >= 1, entered
    assert entered.count("RunCases") == loops + 1  # one slot: its first invocation and one per rest handed on
