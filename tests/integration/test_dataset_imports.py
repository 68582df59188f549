"""Big dataset imports run as a background job (issue 9 item 6): 202 and a status to poll, the same
line-numbered errors, progress, and nothing left behind when the job fails or is delivered twice."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from evalgate.services import container as container_module
from tests.integration.conftest import FakeContext, Stack, load_function

WORKER = "DatasetImportWorkerFunction"


@pytest.fixture
def small_sync_limit(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Stack:
    # imports of more than 20 cases go to the background (the default is 2,000: tests stay small)
    monkeypatch.setenv("EVALGATE_IMPORT_SYNC_MAX_CASES", "20")
    container_module.reset_container()
    return stack


def _prompt(stack: Stack, key: str) -> int:
    reply = stack.call("POST", "/api/prompts", key=key, body={"name": f"p-{uuid.uuid4().hex[:6]}", "template": "{{q}}"})
    assert reply.status == 201, reply.text
    return int(reply.json()["id"])


def _csv(n: int, *, bad_line: int | None = None) -> str:
    rows = ["name,q,expected"]
    for i in range(n):
        rows.append(f"case-{i},question {i},answer {i}" if i + 2 != bad_line else f'case-{i},"unterminated,{i}')
    return "\n".join(rows)


def _queue_messages(stack: Stack) -> list[dict[str, Any]]:
    url = stack.names.refs["DatasetImportsQueue"]
    reply = stack.client("sqs").receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, MessageSystemAttributeNames=["All"]
    )
    return list(reply.get("Messages") or [])


def _deliver(body: str, *, attempt: int = 1) -> set[str]:
    record = {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "h",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(attempt),
            "SentTimestamp": "1",
            "SenderId": "x",
            "ApproximateFirstReceiveTimestamp": "1",
        },
        "messageAttributes": {},
        "md5OfBody": "0" * 32,
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:imports",
        "awsRegion": "us-east-1",
    }
    result = load_function(WORKER).lambda_handler({"Records": [record]}, FakeContext())
    return {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures") or []}


def _import(stack: Stack, key: str, pid: int, name: str, content: str) -> Any:
    return stack.call(
        "POST",
        f"/api/prompts/{pid}/eval/datasets/import",
        key=key,
        body={"name": name, "format": "csv", "content": content, "expectedColumn": "expected", "nameColumn": "name"},
    )


def test_a_big_import_is_a_job_with_progress_that_creates_the_dataset_once(small_sync_limit: Stack, admin: str) -> None:
    stack = small_sync_limit
    pid = _prompt(stack, admin)
    # Given a file with more cases than one request writes / When it is imported
    reply = _import(stack, admin, pid, "big", _csv(45))
    # Then the answer is 202 with a job to poll, and no dataset exists yet
    assert reply.status == 202, reply.text
    job = reply.json()
    assert job["status"] == "queued" and job["total"] == 45 and job["done"] == 0
    status_url = f"/api/prompts/{pid}/eval/datasets/imports/{job['importId']}"
    assert stack.call("GET", status_url, key=admin).json()["status"] == "queued"
    assert stack.call("GET", f"/api/prompts/{pid}/eval/datasets", key=admin).json()["items"] == []
    # When the worker takes the message, and the same message is delivered again
    [message] = _queue_messages(stack)
    assert _deliver(message["Body"]) == set()
    assert _deliver(message["Body"], attempt=2) == set()
    # Then the job completed with its progress, and the dataset exists once with every case
    done = stack.call("GET", status_url, key=admin).json()
    assert done["status"] == "completed" and done["done"] == 45 and done["error"] is None, done
    datasets = stack.call("GET", f"/api/prompts/{pid}/eval/datasets", key=admin).json()["items"]
    assert [(d["id"], d["name"], d["caseCount"]) for d in datasets] == [(job["datasetId"], "big", 45)]
    page = stack.call("GET", f"/api/prompts/{pid}/eval/datasets/{job['datasetId']}", key=admin, query="limit=100")
    cases = page.json()["cases"]
    assert len(cases) == 45 and {c["name"] for c in cases} == {f"case-{i}" for i in range(45)}
    assert next(c for c in cases if c["name"] == "case-7")["expectedOutput"] == "answer 7"


def test_a_big_file_with_a_bad_line_is_refused_at_once_with_its_line(small_sync_limit: Stack, admin: str) -> None:
    stack = small_sync_limit
    pid = _prompt(stack, admin)
    reply = _import(stack, admin, pid, "bad", _csv(45, bad_line=31))
    assert reply.status == 400, reply.text
    assert "line 31" in reply.text
    assert _queue_messages(stack) == []


def test_a_small_import_stays_synchronous(small_sync_limit: Stack, admin: str) -> None:
    stack = small_sync_limit
    pid = _prompt(stack, admin)
    reply = _import(stack, admin, pid, "small", _csv(20))
    assert reply.status == 201, reply.text
    assert reply.json()["caseCount"] == 20


def test_a_job_whose_name_was_taken_meanwhile_fails_and_leaves_nothing(small_sync_limit: Stack, admin: str) -> None:
    stack = small_sync_limit
    pid = _prompt(stack, admin)
    reply = _import(stack, admin, pid, "contested", _csv(30))
    assert reply.status == 202, reply.text
    job = reply.json()
    # Given a dataset of the same name created while the job waited
    assert _import(stack, admin, pid, "contested", _csv(5)).status == 201
    [message] = _queue_messages(stack)
    # When the job runs / Then it fails, says why, and leaves no case items of its own behind
    assert _deliver(message["Body"]) == set()
    failed = stack.call("GET", f"/api/prompts/{pid}/eval/datasets/imports/{job['importId']}", key=admin).json()
    assert failed["status"] == "failed" and "already exists" in failed["error"], failed
    from evalgate import keys
    from evalgate.services.container import container

    pk, prefix = keys.cases_prefix(_project(stack, admin), job["datasetId"])
    assert list(container().table.query_all(pk, prefix)) == []


def test_a_job_that_keeps_failing_ends_failed_on_its_last_delivery(
    small_sync_limit: Stack, admin: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = small_sync_limit
    pid = _prompt(stack, admin)
    job = _import(stack, admin, pid, "flaky", _csv(30)).json()
    [message] = _queue_messages(stack)
    from evalgate.store.datasets import DatasetStore

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the table is unreachable")

    monkeypatch.setattr(DatasetStore, "create_dataset", broken)
    # When it fails on the first deliveries / Then it is redelivered (reported failed) and still running
    assert _deliver(message["Body"], attempt=1) != set()
    url = f"/api/prompts/{pid}/eval/datasets/imports/{job['importId']}"
    assert stack.call("GET", url, key=admin).json()["status"] == "running"
    # and on the last delivery it ends as failed, with the reason and no dataset
    assert _deliver(message["Body"], attempt=3) == set()
    ended = stack.call("GET", url, key=admin).json()
    assert ended["status"] == "failed" and "RuntimeError" in ended["error"]
    assert stack.call("GET", f"/api/prompts/{pid}/eval/datasets", key=admin).json()["items"] == []


def test_another_projects_import_is_not_found(small_sync_limit: Stack, admin: str) -> None:
    stack = small_sync_limit
    pid = _prompt(stack, admin)
    job = _import(stack, admin, pid, "mine", _csv(30)).json()
    from evalgate.services.projects import create_project

    _, _, other = create_project(None, "other")
    other_pid = _prompt(stack, other)
    for p in (pid, other_pid):
        reply = stack.call("GET", f"/api/prompts/{p}/eval/datasets/imports/{job['importId']}", key=other)
        assert reply.status == 404, reply.text


def _project(stack: Stack, key: str) -> str:
    return str(stack.call("GET", "/api/v1/me", key=key).json()["projectId"])


def test_a_background_import_keeps_the_templates_columns_as_variables(small_sync_limit: Stack, admin: str) -> None:
    stack = small_sync_limit
    # Given a prompt whose template uses {{name}} (the quick start's case)
    reply = stack.call("POST", "/api/prompts", key=admin, body={"name": "hello", "template": "Hello {{name}}!"})
    pid = int(reply.json()["id"])
    content = "name,expected\n" + "\n".join(f"person{i},Hello person{i}!" for i in range(30))
    job = stack.call(
        "POST",
        f"/api/prompts/{pid}/eval/datasets/import",
        key=admin,
        body={"name": "people", "format": "csv", "content": content},
    ).json()
    [message] = _queue_messages(stack)
    assert _deliver(message["Body"]) == set()
    # Then the job parsed as the request did: `name` stayed a variable of every case
    page = stack.call("GET", f"/api/prompts/{pid}/eval/datasets/{job['datasetId']}", key=admin, query="limit=100")
    cases = page.json()["cases"]
    assert len(cases) == 30 and all(c["variables"]["name"].startswith("person") for c in cases), cases[:2]


def test_a_malformed_or_huge_import_id_is_not_found(small_sync_limit: Stack, admin: str) -> None:
    pid = _prompt(small_sync_limit, admin)
    for bad in ("nothex", "f" * 2000, "0" * 31):
        reply = small_sync_limit.call("GET", f"/api/prompts/{pid}/eval/datasets/imports/{bad}", key=admin)
        assert reply.status == 404, reply.text
        assert len(reply.text) < 400
