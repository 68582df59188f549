"""Alerts (evalgate.services.alerts.send): the SNS topic of the template, and a webhook signed with
HMAC-SHA256, checked by a local stub server the way a receiver would; failures are logged, never raised."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from evalgate.services import container as container_module
from tests.integration.conftest import Stack

PAYLOAD = {"job_id": "00000000-0000-0000-0000-000000000001", "has_drift": True, "alerts": ["relevance fell"]}


@dataclass
class Hook:
    """A webhook receiver on 127.0.0.1: records each request; answers `status` after `delay` seconds."""

    server: ThreadingHTTPServer
    status: int = 200
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/evalgate?token=abc"


@pytest.fixture
def hook() -> Iterator[Hook]:
    state: dict[str, Hook] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver = state["hook"]
            receiver.requests.append({"path": self.path, "headers": dict(self.headers.items()), "body": body})
            time.sleep(receiver.delay)
            self.send_response(receiver.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state["hook"] = Hook(server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state["hook"]
    server.shutdown()
    server.server_close()


@pytest.fixture
def fresh_alerts(stack: Stack) -> Iterator[Any]:
    from evalgate.services import alerts

    container_module.reset_container()
    yield alerts
    container_module.reset_container()


def monitor_with_hook(stack: Stack, key: str, url: str) -> tuple[str, str, str]:
    """(project id, monitor id, the webhook secret shown at creation)."""
    reply = stack.call(
        "POST",
        "/api/v1/auto-eval/monitors",
        key=key,
        body={"target": {"model": "gpt-4o"}, "schedule": "rate(1 hour)", "webhook_url": url},
    )
    assert reply.status == 201, reply.text
    project = stack.call("GET", "/api/v1/projects", key=key).json()["items"][0]["id"]
    return project, reply.json()["id"], reply.json()["webhook_secret"]


def receiver_accepts(secret: str, request: dict[str, Any]) -> bool:
    """A receiver's check, written from the documented scheme (not with the sender's helper)."""
    headers = {k.lower(): v for k, v in request["headers"].items()}
    timestamp = headers["x-evalgate-timestamp"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + request["body"], hashlib.sha256).hexdigest()
    fresh = abs(time.time() - int(timestamp)) < 300
    return fresh and hmac.compare_digest(headers["x-evalgate-signature"], f"sha256={expected}")


def test_the_webhook_is_signed_with_the_monitor_secret(stack: Stack, admin: str, hook: Hook, fresh_alerts: Any) -> None:
    project, monitor_id, secret = monitor_with_hook(stack, admin, hook.url)
    # When an alert is sent for the monitor
    fresh_alerts.send(
        project,
        subject="auto-eval: drift on gpt-4o",
        payload=PAYLOAD,
        webhook_url=hook.url,
        webhook_secret_ref=f"monitor:{monitor_id}",
    )
    # Then the stub received one JSON POST whose signature verifies with the secret shown at creation
    (request,) = hook.requests
    assert request["path"] == "/hooks/evalgate?token=abc"
    assert request["headers"]["Content-Type"] == "application/json"
    assert receiver_accepts(secret, request)
    assert fresh_alerts.verify(
        secret, request["headers"]["X-Evalgate-Timestamp"], request["body"], request["headers"]["X-Evalgate-Signature"]
    )
    sent = json.loads(request["body"])
    assert sent["project_id"] == project and sent["subject"] == "auto-eval: drift on gpt-4o"
    assert sent["payload"] == PAYLOAD
    # a tampered body, another secret or an old timestamp does not verify
    assert not receiver_accepts(secret, {**request, "body": request["body"].replace(b"true", b"false")})
    assert not receiver_accepts("whsec_other", request)
    old = str(int(time.time()) - 3600)
    assert not fresh_alerts.verify(secret, old, request["body"], fresh_alerts.signature(secret, old, request["body"]))
    # after a rotation, the new secret signs
    rotated = stack.call(
        "PATCH", f"/api/v1/auto-eval/monitors/{monitor_id}", key=admin, body={"rotate_webhook_secret": True}
    ).json()["webhook_secret"]
    fresh_alerts.send(
        project, subject="s", payload={}, webhook_url=hook.url, webhook_secret_ref=f"monitor:{monitor_id}"
    )
    assert receiver_accepts(rotated, hook.requests[1]) and not receiver_accepts(secret, hook.requests[1])


def test_sns_publish_reaches_a_subscriber(stack: Stack, admin: str, fresh_alerts: Any) -> None:
    # Given an SQS queue subscribed to the template's AlertsTopic (ALERTS_TOPIC_ARN comes from Globals)
    import os

    topic = os.environ["ALERTS_TOPIC_ARN"]
    assert topic.startswith("arn:aws:sns:") and "AlertsTopic" in topic
    sqs = stack.client("sqs")
    queue = sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    stack.client("sns").subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )
    # When an alert without a webhook is sent
    fresh_alerts.send(
        "prj_x", subject="auto-eval:\ndrift é", payload=PAYLOAD, webhook_url=None, webhook_secret_ref=None
    )
    # Then the subscriber gets it once
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, MessageAttributeNames=["All"])["Messages"]
    assert len(messages) == 1
    got = json.loads(messages[0]["Body"])
    assert got["project_id"] == "prj_x" and got["payload"] == PAYLOAD and got["subject"] == "auto-eval:\ndrift é"
    assert messages[0]["MessageAttributes"]["project_id"]["StringValue"] == "prj_x"


def test_failures_are_logged_never_raised(
    stack: Stack, admin: str, hook: Hook, fresh_alerts: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evalgate.observability import logger

    project, monitor_id, secret = monitor_with_hook(stack, admin, hook.url)
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(logger.registered_formatter)
    std = logging.getLogger(logger.name)
    std.addHandler(handler)
    ref = f"monitor:{monitor_id}"
    try:
        # the receiver refuses
        hook.status = 500
        fresh_alerts.send(project, subject="s", payload={}, webhook_url=hook.url, webhook_secret_ref=ref)
        # the receiver is too slow (the 5 s timeout, shortened for the test)
        monkeypatch.setattr(fresh_alerts, "WEBHOOK_TIMEOUT_S", 0.3)
        hook.status, hook.delay = 200, 1.0
        started = time.monotonic()
        fresh_alerts.send(project, subject="s", payload={}, webhook_url=hook.url, webhook_secret_ref=ref)
        assert time.monotonic() - started < 0.9
        # nobody listens
        fresh_alerts.send(project, subject="s", payload={}, webhook_url="http://127.0.0.1:9/x", webhook_secret_ref=ref)
        # no secret behind the reference, an unknown reference, a URL that is not allowed: not called at all
        hook.delay = 0
        calls = len(hook.requests)
        for bad_ref in (None, "monitor:mon_gone", "vault:abc"):
            fresh_alerts.send(project, subject="s", payload={}, webhook_url=hook.url, webhook_secret_ref=bad_ref)
        for bad_url in ("http://example.com/hook", "https://[::1/hook"):
            fresh_alerts.send(project, subject="s", payload={}, webhook_url=bad_url, webhook_secret_ref=ref)
        assert len(hook.requests) == calls
        # SNS unreachable or unconfigured
        monkeypatch.setenv("ALERTS_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:no-such-topic")
        container_module.reset_container()
        fresh_alerts.send(project, subject="s", payload={}, webhook_url=None, webhook_secret_ref=None)
        monkeypatch.delenv("ALERTS_TOPIC_ARN")
        container_module.reset_container()
        fresh_alerts.send(project, subject="s", payload={}, webhook_url=None, webhook_secret_ref=None)
        # a payload that cannot be JSON (it contains itself)
        loop: dict[str, Any] = {}
        loop["self"] = loop
        fresh_alerts.send(project, subject="s", payload=loop, webhook_url=None, webhook_secret_ref=None)
    finally:
        std.removeHandler(handler)
    logged = sink.getvalue()
    for message in (
        "webhook refused the alert",
        "webhook failed",
        "webhook not called: no signing secret",
        "webhook not called: not an https URL",
        "webhook not called: not a valid URL",
        "webhook secret reference not understood",
        "alert not published",
        "alert not published: ALERTS_TOPIC_ARN is not set",
        "alert payload is not JSON",
    ):
        assert f'"message":"{message}"' in logged, message
    # never the secret, never the URL's path or query (a token may live there)
    assert secret not in logged and "token=abc" not in logged and "/hooks/evalgate" not in logged
