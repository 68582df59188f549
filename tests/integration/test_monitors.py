"""Auto-eval monitors: CRUD under /api/v1/auto-eval/monitors (admin writes), validation, the webhook secret
shown once, tenant isolation, and the scheduler tick (run_due_monitors) enqueueing each due time once."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from evalgate import keys
from evalgate.errors import Throttled, Unavailable
from tests.integration.conftest import Stack, key_for, load_function

URL = "/api/v1/auto-eval/monitors"


def body(**extra: Any) -> dict[str, Any]:
    return {
        "name": "prod answers",
        "target": {"model": "gpt-4o", "environment": "production"},
        "sample_count": 50,
        "schedule": "rate(1 hour)",
        "scorers": [{"type": "is-json"}, {"type": "latency", "threshold": 2000}],
        "criteria": ["hallucination", "relevance"],
        "judge": {"provider": "offline-judge", "model": "judge-1"},
        "thresholds": {"hallucination": 0.9, "is-json": 0.95},
        "daily_spend_cap_usd": 5.0,
        **extra,
    }


def create(stack: Stack, key: str, **extra: Any) -> dict[str, Any]:
    reply = stack.call("POST", URL, key=key, body=body(**extra))
    assert reply.status == 201, reply.text
    return dict(reply.json())


class Enqueued:
    """A stand-in for evalgate.services.jobs.enqueue.enqueue_job that records its calls."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.fail_with: Exception | None = None

    def __call__(
        self, project_id: str, *, target: dict, sample_count: int, monitor: Any = None, requested_by: str
    ) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        with self.lock:
            self.calls.append(
                {
                    "project_id": project_id,
                    "target": target,
                    "sample_count": sample_count,
                    "monitor": monitor,
                    "requested_by": requested_by,
                }
            )
            return f"00000000-0000-0000-0000-{len(self.calls):012d}"


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> Iterator[Enqueued]:
    from evalgate.services.jobs import enqueue

    fake = Enqueued()
    monkeypatch.setattr(enqueue, "enqueue_job", fake)
    yield fake


def tick(at: datetime) -> Any:
    from evalgate.services import monitors

    return monitors.run_due_monitors(at)


def test_crud(stack: Stack, admin: str) -> None:
    # Given a monitor created by an admin
    before = datetime.now(UTC)
    made = create(stack, admin)
    assert made["id"].startswith("mon_") and made["enabled"] is True
    assert made["target"] == {"model": "gpt-4o", "prompt_id": None, "environment": "production"}
    assert made["criteria"] == ["hallucination", "relevance"] and made["sample_count"] == 50
    assert [s["type"] for s in made["scorers"]] == ["is-json", "latency"]
    assert made["judge"] == {"provider": "offline-judge", "model": "judge-1", "params": {}}
    assert made["daily_spend_cap_usd"] == 5.0 and made["thresholds"] == {"hallucination": 0.9, "is-json": 0.95}
    # a rate schedule is first due one period after it is saved
    next_run = datetime.fromisoformat(made["next_run_at"])
    assert before + timedelta(hours=1) <= next_run <= datetime.now(UTC) + timedelta(hours=1)
    assert made["webhook_secret"] is None and made["has_webhook_secret"] is False
    url = f"{URL}/{made['id']}"
    # When read, listed, changed and deleted
    got = stack.call("GET", url, key=admin).json()
    assert {k: v for k, v in got.items()} == {k: v for k, v in made.items() if k != "webhook_secret"}
    listed = stack.call("GET", URL, key=admin).json()
    assert [m["id"] for m in listed["items"]] == [made["id"]] and listed["nextCursor"] is None
    patched = stack.call("PATCH", url, key=admin, body={"schedule": "cron(0 9 ? * MON-FRI *)", "sample_count": 80})
    assert patched.status == 200, patched.text
    changed = patched.json()
    assert changed["schedule"] == "cron(0 9 ? * MON-FRI *)" and changed["sample_count"] == 80
    due = datetime.fromisoformat(changed["next_run_at"])
    assert (due.hour, due.minute, due.weekday() < 5) == (9, 0, True)
    assert changed["criteria"] == made["criteria"] and changed["name"] == "prod answers"  # the rest kept
    cleared = stack.call("PATCH", url, key=admin, body={"judge": None, "daily_spend_cap_usd": None}).json()
    assert cleared["judge"] is None and cleared["daily_spend_cap_usd"] is None
    assert stack.call("DELETE", url, key=admin).status == 204
    assert stack.call("GET", url, key=admin).status == 404
    assert stack.call("DELETE", url, key=admin).status == 404
    assert stack.call("PATCH", url, key=admin, body={"sample_count": 10}).status == 404


def test_defaults(stack: Stack, admin: str) -> None:
    made = create(stack, admin, criteria=None, scorers=[], thresholds={}, judge=None, daily_spend_cap_usd=None)
    assert made["criteria"] == ["rubric", "factuality", "hallucination", "relevance"]
    assert made["judge"] is None and made["daily_spend_cap_usd"] is None
    minimal = stack.call("POST", URL, key=admin, body={"target": {"model": "m"}, "schedule": "rate(1 day)"})
    assert minimal.status == 201, minimal.text
    assert minimal.json()["sample_count"] == 100 and minimal.json()["target"]["environment"] == "production"


def test_pages(stack: Stack, admin: str) -> None:
    ids = [create(stack, admin, name=f"m{i}")["id"] for i in range(5)]
    seen, cursor = [], None
    while True:
        q = "limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = stack.call("GET", URL, key=admin, query=q).json()
        seen += [m["id"] for m in page["items"]]
        cursor = page["nextCursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))  # newest first


def test_only_admins_write(stack: Stack, admin: str) -> None:
    made = create(stack, admin)
    url = f"{URL}/{made['id']}"
    for role in ("viewer", "member"):
        key = key_for(admin, stack, role)
        for method, path, payload in (
            ("POST", URL, body()),
            ("PATCH", url, {"sample_count": 5}),
            ("DELETE", url, None),
        ):
            reply = stack.call(method, path, key=key, body=payload)
            assert reply.status == 403, (role, method, reply.text)
            assert reply.json()["error"]["message"] == "insufficient role for this operation"
        # … and may read
        assert stack.call("GET", url, key=key).status == 200
        assert stack.call("GET", URL, key=key).json()["items"][0]["id"] == made["id"]
    assert stack.call("GET", url, key=admin).json()["sample_count"] == 50  # nothing changed
    assert stack.call("GET", URL).status == 401


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"schedule": "rate(5 minute)"}, 400, "schedule"),
        ({"schedule": "every hour"}, 400, "schedule"),
        ({"schedule": "at(2030-01-01T00:00:00)"}, 400, "schedule"),
        ({"schedule": "cron(0 9 * * MON *)"}, 400, "schedule"),  # both day fields given
        ({"schedule": "cron(0 0 1 1 ? 2001)"}, 400, "schedule"),  # never fires again
        ({"scorers": [{"type": "no-such-check"}]}, 400, "scorers[0].type"),
        ({"scorers": [{"type": "llm-rubric", "value": "polite"}]}, 400, "scorers[0].type"),
        ({"scorers": [{"type": "regex", "value": "("}]}, 400, "scorers[0].value"),
        ({"criteria": ["vibes"]}, 400, "criteria[0]"),
        ({"criteria": ["relevance", "relevance"]}, 400, "criteria"),
        ({"criteria": [], "scorers": [], "thresholds": {}}, 400, "criteria"),
        ({"thresholds": {"factuality": 0.5}}, 400, "thresholds.factuality"),
        ({"thresholds": {"hallucination": 1.5}}, 422, "thresholds.hallucination"),
        ({"daily_spend_cap_usd": 0}, 422, "daily_spend_cap_usd"),
        ({"daily_spend_cap_usd": -3}, 422, "daily_spend_cap_usd"),
        ({"webhook_url": "http://example.com/hook"}, 400, "webhook_url"),
        ({"webhook_url": "ftp://example.com/hook"}, 400, "webhook_url"),
        ({"webhook_url": "https://user:pw@example.com/hook"}, 400, "webhook_url"),
        ({"sample_count": 0}, 422, "sample_count"),
        ({"sample_count": 5001}, 422, "sample_count"),
        ({"target": {"environment": "production"}}, 422, "target.model"),
        ({"target": {"model": "m", "environment": "dev"}}, 422, "target.environment"),
        ({"target": {"model": "m", "prompt_id": "has space"}}, 422, "target.prompt_id"),
        ({"target": {"model": "m", "prompt_id": 0}}, 422, "target.prompt_id"),
        ({"target": {"model": "m", "project_id": "prj_someone_else"}}, 400, "target.project_id"),
        ({"webhook_url": "https://[::1/hook"}, 400, "webhook_url"),
        ({"baseline_job_id": "job-1"}, 422, "baseline_job_id"),
        ({"frequency": "often"}, 422, "frequency"),
    ],
)
def test_validation(stack: Stack, admin: str, change: dict[str, Any], status: int, field: str) -> None:
    reply = stack.call("POST", URL, key=admin, body=body(**change))
    assert reply.status == status, reply.text
    error = reply.json()["error"]
    assert error["field"] == field, error
    assert error["message"]
    assert stack.call("GET", URL, key=admin).json()["items"] == []


def test_patch_validation(stack: Stack, admin: str) -> None:
    url = f"{URL}/{create(stack, admin)['id']}"
    for payload, status, field in (
        ({"schedule": None}, 400, "schedule"),
        ({"schedule": "rate(0 minutes)"}, 400, "schedule"),
        ({"criteria": ["factuality"]}, 400, "thresholds.hallucination"),  # its threshold would be orphaned
        ({"enabled": "maybe"}, 422, "enabled"),
        ({"rotate_webhook_secret": True}, 400, "rotate_webhook_secret"),
        ({"id": "mon_x"}, 422, "id"),
    ):
        reply = stack.call("PATCH", url, key=admin, body=payload)
        assert reply.status == status, (payload, reply.text)
        assert reply.json()["error"]["field"] == field, (payload, reply.text)
    assert stack.call("GET", url, key=admin).json()["schedule"] == "rate(1 hour)"


def test_webhook_secret_is_shown_once_and_never_logged(stack: Stack, admin: str) -> None:
    from evalgate.observability import logger

    # every record of our logger, formatted as in Lambda (structured keys included), at its most talkative
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(logger.registered_formatter)
    std = logging.getLogger(logger.name)
    std.addHandler(handler)
    level = std.level
    std.setLevel(logging.DEBUG)
    made = create(stack, admin, webhook_url="https://hooks.example.com/evalgate")
    secret = made["webhook_secret"]
    assert isinstance(secret, str) and secret.startswith("whsec_") and len(secret) > 40
    assert made["has_webhook_secret"] is True
    url = f"{URL}/{made['id']}"
    got = stack.call("GET", url, key=admin)
    listed = stack.call("GET", URL, key=admin)
    assert "webhook_secret" not in got.json() and secret not in got.text and secret not in listed.text
    # an edit that does not rotate it does not show it again
    renamed = stack.call("PATCH", url, key=admin, body={"name": "renamed"})
    assert renamed.json()["webhook_secret"] is None and secret not in renamed.text
    # rotation: a new one, once; the stored one changes
    from evalgate.services.container import container

    project = stack.call("GET", "/api/v1/projects", key=admin).json()["items"][0]["id"]
    rotated = stack.call("PATCH", url, key=admin, body={"rotate_webhook_secret": True}).json()
    assert rotated["webhook_secret"] and rotated["webhook_secret"] != secret
    assert container().monitors.webhook_secret(project, made["id"]) == rotated["webhook_secret"]
    # a monitor without a webhook has no secret until one is set
    plain = create(stack, admin)
    assert plain["webhook_secret"] is None
    hooked = stack.call(
        "PATCH", f"{URL}/{plain['id']}", key=admin, body={"webhook_url": "http://localhost:9/hook"}
    ).json()
    assert hooked["webhook_secret"].startswith("whsec_") and hooked["has_webhook_secret"] is True
    # the monitor item itself holds a reference, never the secret
    item = stack.client("dynamodb").get_item(
        TableName=stack.names.refs["Table"], Key={k: {"S": v} for k, v in keys.monitor(project, made["id"]).items()}
    )["Item"]
    assert rotated["webhook_secret"] not in str(item) and item["webhookSecretRef"]["S"] == f"monitor:{made['id']}"
    # and no log line of ours carried a secret
    std.removeHandler(handler)
    std.setLevel(level)
    logged = sink.getvalue()
    assert '"message":"monitor created"' in logged and '"message":"monitor updated"' in logged
    for shown in (secret, rotated["webhook_secret"], hooked["webhook_secret"]):
        assert shown not in logged
    # deleting the monitor deletes its secret
    assert stack.call("DELETE", url, key=admin).status == 204
    assert container().monitors.webhook_secret(project, made["id"]) is None


def test_another_project_cannot_see_or_touch_a_monitor(stack: Stack, admin: str) -> None:
    from evalgate.services.projects import create_project

    made = create(stack, admin)
    _, _, other = create_project(None, "another project")
    url = f"{URL}/{made['id']}"
    assert stack.call("GET", url, key=other).status == 404
    assert stack.call("PATCH", url, key=other, body={"sample_count": 1}).status == 404
    assert stack.call("DELETE", url, key=other).status == 404
    assert stack.call("GET", URL, key=other).json()["items"] == []
    assert stack.call("GET", url, key=admin).json()["sample_count"] == 50


# -- the scheduler -----------------------------------------------------------------------------------
def test_a_due_monitor_is_enqueued_once_per_due_time(stack: Stack, admin: str, enqueued: Enqueued) -> None:
    made = create(stack, admin, target={"model": "gpt-4o", "environment": "staging"})
    due = datetime.fromisoformat(made["next_run_at"])
    # Before its time: nothing
    assert tick(due - timedelta(seconds=1)).due == 0 and enqueued.calls == []
    # At its time: one job, with the monitor's target and settings
    first = tick(due + timedelta(seconds=5))
    assert len(enqueued.calls) == 1 and first.enqueued == ["00000000-0000-0000-0000-000000000001"]
    call = enqueued.calls[0]
    assert call["target"] == {"model": "gpt-4o", "prompt_id": None, "environment": "staging"}
    assert call["sample_count"] == 50 and call["requested_by"] == f"monitor:{made['id']}"
    assert call["monitor"].id == made["id"] and call["monitor"].criteria == ["hallucination", "relevance"]
    assert call["project_id"] == stack.call("GET", "/api/v1/projects", key=admin).json()["items"][0]["id"]
    # the same tick again: already claimed
    assert tick(due + timedelta(seconds=30)).due == 0 and len(enqueued.calls) == 1
    state = stack.call("GET", f"{URL}/{made['id']}", key=admin).json()
    assert datetime.fromisoformat(state["next_run_at"]) == due + timedelta(hours=1)
    assert state["last_job_id"] == "00000000-0000-0000-0000-000000000001" and state["last_error"] is None
    # a tick far behind fires once, not once per missed period, and keeps the cadence
    late = tick(due + timedelta(hours=5, minutes=10))
    assert len(late.enqueued) == 1 and len(enqueued.calls) == 2
    state = stack.call("GET", f"{URL}/{made['id']}", key=admin).json()
    assert datetime.fromisoformat(state["next_run_at"]) == due + timedelta(hours=6)


def test_two_overlapping_ticks_enqueue_a_due_monitor_once(
    stack: Stack, admin: str, enqueued: Enqueued, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evalgate.services.container import container

    ids = {create(stack, admin, name=f"m{i}")["id"] for i in range(3)}
    at = datetime.now(UTC) + timedelta(hours=1, minutes=1)
    store = container().monitors
    real_pages = store.due_pages
    overlapped: list[Any] = []
    started: list[bool] = []

    def due_then_overlap(now: datetime, *, partition: str, page_size: int = 100) -> Any:
        # tick A has read the due monitors (one project's: one due-index shard); before it claims any, tick B
        # runs from start to end
        found = list(real_pages(now, partition=partition, page_size=page_size))
        if any(found) and not started:
            started.append(True)
            overlapped.append(tick(now))
        yield from found

    monkeypatch.setattr(store, "due_pages", due_then_overlap)
    a = tick(at)
    (b,) = overlapped
    # Then both saw the three monitors due, B enqueued them, A found every one claimed
    assert a.due == 3 and b.due == 3
    assert len(b.enqueued) == 3 and a.enqueued == [] and a.skipped == 3
    assert sorted(c["monitor"].id for c in enqueued.calls) == sorted(ids)


def test_concurrent_claims_of_one_due_time_have_one_winner(stack: Stack, admin: str) -> None:
    from evalgate.services.container import container

    made = create(stack, admin)
    project = stack.call("GET", "/api/v1/projects", key=admin).json()["items"][0]["id"]
    store = container().monitors
    monitor = store.get(project, made["id"])
    at = monitor.next_run_at + timedelta(seconds=1)
    nxt = monitor.next_run_at + timedelta(hours=1)
    # two ticks that both read the same due time: only the first conditional claim succeeds
    assert store.claim(monitor, nxt, at) is True
    assert store.claim(monitor, nxt, at) is False
    assert store.get(project, made["id"]).next_run_at == nxt


def test_disabled_monitors_are_not_due_and_reenabling_reschedules(stack: Stack, admin: str, enqueued: Enqueued) -> None:
    made = create(stack, admin)
    url = f"{URL}/{made['id']}"
    off = stack.call("PATCH", url, key=admin, body={"enabled": False}).json()
    assert off["enabled"] is False and off["next_run_at"] is None
    assert tick(datetime.now(UTC) + timedelta(days=2)).due == 0 and enqueued.calls == []
    on = stack.call("PATCH", url, key=admin, body={"enabled": True}).json()
    assert datetime.fromisoformat(on["next_run_at"]) > datetime.now(UTC) + timedelta(minutes=59)
    assert len(tick(datetime.now(UTC) + timedelta(hours=2)).enqueued) == 1


def test_deleted_monitors_are_not_due(stack: Stack, admin: str, enqueued: Enqueued) -> None:
    made = create(stack, admin)
    stack.call("DELETE", f"{URL}/{made['id']}", key=admin)
    assert tick(datetime.now(UTC) + timedelta(days=2)).due == 0 and enqueued.calls == []


def test_a_throttled_project_skips_the_run(stack: Stack, admin: str, enqueued: Enqueued) -> None:
    made = create(stack, admin)
    due = datetime.fromisoformat(made["next_run_at"])
    enqueued.fail_with = Throttled("3 auto-eval jobs are already queued for this project")
    result = tick(due + timedelta(seconds=1))
    assert result.throttled == 1 and enqueued.calls == []
    state = stack.call("GET", f"{URL}/{made['id']}", key=admin).json()
    assert "run skipped" in state["last_error"] and "already queued" in state["last_error"]
    # the due time is spent (no retry every minute), the next one comes as scheduled
    assert datetime.fromisoformat(state["next_run_at"]) == due + timedelta(hours=1)
    enqueued.fail_with = None
    assert tick(due + timedelta(minutes=2)).due == 0
    assert len(tick(due + timedelta(hours=1, seconds=1)).enqueued) == 1
    assert stack.call("GET", f"{URL}/{made['id']}", key=admin).json()["last_error"] is None


@pytest.mark.parametrize("failure", [Unavailable("the queue is unreachable"), RuntimeError("boom")])
def test_a_passing_failure_gives_the_due_time_back(
    stack: Stack, admin: str, enqueued: Enqueued, failure: Exception, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = create(stack, admin)
    other = create(stack, admin, name="second")
    due = datetime.fromisoformat(made["next_run_at"])
    calls = 0

    def flaky(project_id: str, **kwargs: Any) -> str:
        nonlocal calls
        calls += 1
        if kwargs["monitor"].id == made["id"]:
            raise failure
        return enqueued(project_id, **kwargs)

    from evalgate.services.jobs import enqueue

    monkeypatch.setattr(enqueue, "enqueue_job", flaky)
    result = tick(due + timedelta(minutes=1))
    # one monitor's failure does not stop the other
    assert result.failed == 1 and len(result.enqueued) == 1 and enqueued.calls[0]["monitor"].id == other["id"]
    state = stack.call("GET", f"{URL}/{made['id']}", key=admin).json()
    assert datetime.fromisoformat(state["next_run_at"]) == due and state["last_error"]
    # the next tick retries it
    monkeypatch.setattr(enqueue, "enqueue_job", enqueued)
    retry = tick(due + timedelta(minutes=2))
    assert len(retry.enqueued) == 1 and enqueued.calls[-1]["monitor"].id == made["id"]


def test_a_schedule_that_ends_disables_its_monitor(stack: Stack, admin: str, enqueued: Enqueued) -> None:
    year = datetime.now(UTC).year + 2
    made = create(stack, admin, schedule=f"cron(30 6 1 1 ? {year})")
    assert made["next_run_at"].startswith(f"{year}-01-01T06:30:00")
    result = tick(datetime(year, 1, 1, 6, 31, tzinfo=UTC))
    assert len(result.enqueued) == 1
    state = stack.call("GET", f"{URL}/{made['id']}", key=admin).json()
    assert state["enabled"] is False and "never fires again" in state["last_error"]
    assert tick(datetime(year + 1, 6, 1, tzinfo=UTC)).due == 0


def test_the_scheduled_function_runs_due_monitors_of_every_project(
    stack: Stack, admin: str, enqueued: Enqueued
) -> None:
    from evalgate.services.container import container
    from evalgate.services.projects import create_project

    _, _, other = create_project(None, "another project")
    mine, theirs = create(stack, admin), create(stack, other)
    # make both due now (the tick reads the clock): move their due time into the past
    store = container().monitors
    for key, made in ((admin, mine), (other, theirs)):
        project = stack.call("GET", "/api/v1/projects", key=key).json()["items"][0]["id"]
        monitor = store.get(project, made["id"])
        monitor.next_run_at = datetime.now(UTC) - timedelta(minutes=2)
        store.replace(monitor, expected_version=monitor.version, reschedule=True, webhook_secret=None)
    event = {
        "version": "0",
        "id": "e1",
        "detail-type": "Scheduled Event",
        "source": "aws.scheduler",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "resources": ["arn:aws:scheduler:us-east-1:123456789012:schedule/default/tick"],
        "detail": {},
    }
    from tests.integration.conftest import FakeContext

    out = load_function("RunDueMonitorsFunction").lambda_handler(event, FakeContext())
    assert out == {"due": 2, "enqueued": 2, "skipped": 0, "throttled": 0, "failed": 0}
    assert {c["monitor"].id for c in enqueued.calls} == {mine["id"], theirs["id"]}
    assert {c["project_id"] for c in enqueued.calls} == {
        stack.call("GET", "/api/v1/projects", key=k).json()["items"][0]["id"] for k in (admin, other)
    }


def test_a_monitor_of_a_prompt(stack: Stack, admin: str) -> None:
    prompt = stack.call("POST", "/api/prompts", key=admin, body={"name": "support", "template": "Hi {{who}}"}).json()
    made = create(stack, admin, target={"model": "gpt-4o", "prompt_id": prompt["id"]})
    # an integer is the same identifier as its digits: the wire shows the string
    assert made["target"]["prompt_id"] == str(prompt["id"])
    url = f"{URL}/{made['id']}"
    # once the prompt is gone, the monitor can still be edited (e.g. switched off) …
    assert stack.call("DELETE", f"/api/prompts/{prompt['id']}", key=admin).status == 204
    off = stack.call("PATCH", url, key=admin, body={"enabled": False})
    assert off.status == 200 and off.json()["enabled"] is False
    # … and pointed at the app's own name of a prompt (any identifier, not only an evalgate prompt id)
    again = stack.call("PATCH", url, key=admin, body={"target": {"model": "gpt-4o", "prompt_id": "support/v2"}})
    assert again.status == 200 and again.json()["target"]["prompt_id"] == "support/v2"
    bad = stack.call("PATCH", url, key=admin, body={"target": {"model": "gpt-4o", "prompt_id": "a#b"}})
    assert bad.status == 422 and bad.json()["error"]["field"] == "target.prompt_id"


def test_run_now_makes_the_first_run_due_at_once(stack: Stack, admin: str, enqueued: Enqueued) -> None:
    later = create(stack, admin, schedule="rate(1 hour)")
    made = create(stack, admin, schedule="rate(1 hour)", run_now=True)
    created = datetime.fromisoformat(made["created_at"])
    assert datetime.fromisoformat(made["next_run_at"]) <= created + timedelta(seconds=1)
    assert datetime.fromisoformat(later["next_run_at"]) >= created + timedelta(minutes=59)
    tick(created + timedelta(seconds=2))
    assert [c["monitor"].id for c in enqueued.calls] == [made["id"]]  # only the one due now
    after = stack.call("GET", f"{URL}/{made['id']}", key=admin).json()
    assert datetime.fromisoformat(after["next_run_at"]) > created + timedelta(minutes=59)  # the schedule took over


def test_the_due_index_is_sharded_and_the_tick_reads_every_shard(stack: Stack, admin: str, enqueued: Enqueued) -> None:
    """Issue 17: monitors sit in 16 due-index shards (by project) that the tick works in parallel with no count
    cap; a monitor written before the shards (the one old partition) is still found."""
    from evalgate import keys
    from evalgate.services.container import container

    made = [create(stack, admin, name=f"s{i}")["id"] for i in range(2)]
    project = str(stack.call("GET", "/api/v1/projects", key=admin).json()["items"][0]["id"])
    table = container().table
    item = table.get(keys.monitor(project, made[0]))
    assert item is not None and item[keys.GSI1PK] == keys.monitors_due_gsi(project) != keys.MONITORS_DUE_GSI
    # the second as an old deployment wrote it: in the single due partition
    table.update(keys.monitor(project, made[1]), "SET GSI1PK = :old", values={":old": keys.MONITORS_DUE_GSI})
    result = tick(datetime.now(UTC) + timedelta(hours=1, minutes=1))
    assert result.due == 2 and len(result.enqueued) == 2
    assert sorted(c["monitor"].id for c in enqueued.calls) == sorted(made)
    assert len({keys.monitors_due_gsi(f"project-{n}") for n in range(200)}) == keys.MONITOR_DUE_SHARDS
