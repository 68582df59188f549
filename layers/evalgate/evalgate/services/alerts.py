"""Alerts: the SNS topic (env ALERTS_TOPIC_ARN) and an optional webhook signed with HMAC-SHA256.

The webhook request is a JSON POST with

    X-Evalgate-Timestamp: <unix seconds>
    X-Evalgate-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>

A receiver recomputes the HMAC over the timestamp, a dot and the raw body bytes with the secret it was shown
when the webhook was set, compares in constant time, and refuses old timestamps (replays). `send` never raises:
an alert that cannot be delivered is logged (without the secret, and without the webhook URL's path or query,
which may carry a token) and the caller carries on.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from evalgate.errors import Unavailable
from evalgate.observability import logger
from evalgate.services.container import container

WEBHOOK_TIMEOUT_S = 5.0
SIGNATURE_HEADER = "X-Evalgate-Signature"
TIMESTAMP_HEADER = "X-Evalgate-Timestamp"
SNS_MESSAGE_MAX = 250_000  # bytes; SNS takes 256 KB
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Evalgate-Signature value of a body sent at `timestamp`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, timestamp: str, body: bytes, header: str, *, tolerance_s: int = 300) -> bool:
    """What a receiver does (and what the tests do): constant-time compare, recent timestamps only."""
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), header)


def send(
    project_id: str, *, subject: str, payload: dict[str, Any], webhook_url: str | None, webhook_secret_ref: str | None
) -> None:
    """Publish an alert to the SNS topic and, when a webhook is set, POST it there signed. Never raises."""
    message = {
        "project_id": project_id,
        "subject": subject,
        "payload": payload,
        "sent_at": datetime.now(UTC).isoformat(),
    }
    try:
        body = json.dumps(message, separators=(",", ":"), default=str).encode()
    except (TypeError, ValueError):
        logger.exception("alert payload is not JSON", project_id=project_id)
        return
    _publish(project_id, subject, body)
    if webhook_url:
        _post_webhook(project_id, webhook_url, webhook_secret_ref, body)


def _publish(project_id: str, subject: str, body: bytes) -> None:
    topic = container().alerts_topic
    if topic is None:
        logger.warning("alert not published: ALERTS_TOPIC_ARN is not set", project_id=project_id)
        return
    text = body.decode()
    if len(body) > SNS_MESSAGE_MAX:
        text = json.dumps(
            {"project_id": project_id, "subject": subject, "truncated": True, "note": "the alert was too large"}
        )
    try:
        topic.publish(_sns_subject(subject), text, {"project_id": project_id})
    except Unavailable as exc:  # an alert must never fail the job that raised it
        logger.warning("alert not published", project_id=project_id, error=exc.message)
        return
    logger.info("alert published", project_id=project_id)


def _sns_subject(subject: str) -> str:
    """SNS subjects: printable ASCII, one line, at most 100 characters, not empty."""
    clean = "".join(c if " " <= c <= "~" else " " for c in subject).strip()
    return (clean or "evalgate alert")[:100]


def _post_webhook(project_id: str, url: str, secret_ref: str | None, body: bytes) -> None:
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
    except ValueError:
        logger.warning("webhook not called: not a valid URL", project_id=project_id)
        return
    if not (parts.scheme == "https" or (parts.scheme == "http" and host in _LOCAL_HOSTS)):
        logger.warning("webhook not called: not an https URL", project_id=project_id, host=host)
        return
    secret = _secret(project_id, secret_ref)
    if secret is None:
        logger.warning("webhook not called: no signing secret", project_id=project_id, host=host)
        return
    # lazy: urllib3 loads only where an HTTP call is made (cold start)
    import urllib3

    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "evalgate-alerts/1",
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }
    try:
        reply = _pool().request(
            "POST",
            url,
            body=body,
            headers=headers,
            timeout=urllib3.Timeout(total=WEBHOOK_TIMEOUT_S),
            retries=False,
            redirect=False,
        )
    except Exception as exc:  # unreachable, timed out, TLS: logged, never raised
        logger.warning("webhook failed", project_id=project_id, host=host, error=type(exc).__name__)
        return
    if reply.status >= 300:
        logger.warning("webhook refused the alert", project_id=project_id, host=host, status=reply.status)
        return
    logger.info("webhook called", project_id=project_id, host=host, status=reply.status)


def _secret(project_id: str, ref: str | None) -> str | None:
    """The raw signing secret behind a reference: ``monitor:<id>`` (the monitor's secret item), or a
    ``secretsmanager:<id>[#key]`` / ``ssm:<name>`` reference (resolved like provider keys)."""
    if not ref:
        return None
    try:
        if ref.startswith("monitor:"):
            return container().monitors.webhook_secret(project_id, ref.removeprefix("monitor:"))
        if ref.startswith(("secretsmanager:", "ssm:")):
            # lazy: loaded only on the code paths that need it (cold start)
            from evalgate.providers.config import resolve_secret

            return resolve_secret(ref).reveal()
    except Exception as exc:
        logger.warning("webhook secret unavailable", project_id=project_id, error=type(exc).__name__)
        return None
    logger.warning("webhook secret reference not understood", project_id=project_id)
    return None


@lru_cache(maxsize=1)
def _pool() -> Any:
    # lazy: urllib3 loads only where an HTTP call is made (cold start)
    import urllib3

    return urllib3.PoolManager(num_pools=4, maxsize=4)
