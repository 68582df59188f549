"""Idempotency-Key handling for creating requests: the first response is stored for 24 h."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from evalgate.errors import Conflict, InvalidInput, SchemaViolation
from evalgate.models.domain import Principal
from evalgate.services.container import container

MAX_KEY = 255
WAIT_SECONDS = 5.0  # a concurrent twin waits this long for the first to finish, then gets 409


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def run_once(
    principal: Principal,
    scope: str,
    key: str | None,
    request: Any,
    call: Callable[[], tuple[int, Any]],
) -> tuple[int, Any, bool]:
    """Run `call` once per (project, scope, key). Returns (status, body, replayed)."""
    if key is None:
        status, body = call()
        return status, body, False
    if not key or len(key) > MAX_KEY:
        raise InvalidInput(f"Idempotency-Key must be 1 to {MAX_KEY} characters", field="Idempotency-Key")
    store = container().idempotency
    key_hash = _hash(key)
    request_hash = _hash(json.dumps(request, sort_keys=True, separators=(",", ":"), default=str))
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        prior = store.begin(principal.project_id, scope, key_hash, request_hash)
        if prior is None:
            break
        if prior.request_hash != request_hash:
            raise SchemaViolation(
                "this Idempotency-Key was used with a different request; use a new key", field="Idempotency-Key"
            )
        if prior.state == "completed":
            return int(prior.status or 200), prior.body, True
        if time.monotonic() > deadline:
            raise Conflict("a request with this Idempotency-Key is still in progress; retry shortly")
        time.sleep(0.05)
    try:
        status, body = call()
    except BaseException:  # the request did not happen: free the key so the client may retry with it
        store.release(principal.project_id, scope, key_hash)
        raise
    store.complete(principal.project_id, scope, key_hash, status, body)
    return status, body, False
