"""Idempotency records: same key + same request → the first response replayed; another request → 422."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from evalgate import keys
from evalgate.store.table import Table

TTL_SECONDS = 24 * 3600
IN_PROGRESS_TTL_SECONDS = 30  # default lease of a request in progress; the container passes the function timeout + 2


@dataclass
class Stored:
    state: str  # "in_progress" | "completed"
    request_hash: str
    status: int | None = None
    body: Any = None


class IdempotencyStore:
    def __init__(self, table: Table, lease_seconds: int = IN_PROGRESS_TTL_SECONDS) -> None:
        self.table = table
        self.lease_seconds = lease_seconds  # a request that died mid-way (worker killed) frees its key after this

    def begin(self, project_id: str, scope: str, key_hash: str, request_hash: str) -> Stored | None:
        """Claim the key. None: it is ours, go ahead. Otherwise the record another request left."""
        now = int(time.time())
        item = {
            **keys.idempotency(project_id, scope, key_hash),
            "state": "in_progress",
            "requestHash": request_hash,
            "expiresAt": now + self.lease_seconds,
            "ttl": now + TTL_SECONDS,
        }
        try:
            self.table.put(
                item,
                condition="attribute_not_exists(PK) OR (#st = :ip AND expiresAt < :now)",
                names={"#st": "state"},
                values={":ip": "in_progress", ":now": now},
            )
        except ClientError as exc:
            if not Table.is_condition_failure(exc):
                raise
            return self.get(project_id, scope, key_hash)
        return None

    def get(self, project_id: str, scope: str, key_hash: str) -> Stored | None:
        item = self.table.get(keys.idempotency(project_id, scope, key_hash))
        if not item:
            return None
        return Stored(
            state=item["state"],
            request_hash=item["requestHash"],
            status=item.get("status"),
            body=json.loads(item["body"]) if item.get("body") else None,
        )

    def complete(self, project_id: str, scope: str, key_hash: str, status: int, body: Any) -> None:
        self.table.update(
            keys.idempotency(project_id, scope, key_hash),
            "SET #st = :done, #s = :status, body = :body",
            names={"#st": "state", "#s": "status"},
            values={":done": "completed", ":status": status, ":body": json.dumps(body)},
        )

    def release(self, project_id: str, scope: str, key_hash: str) -> None:
        """The request failed: free the key so the client may retry with it."""
        self.table.delete(keys.idempotency(project_id, scope, key_hash))
