"""The auto-eval pipeline's SQS queues (JSON message bodies)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from botocore.exceptions import ClientError

from evalgate.errors import Unavailable

SEND_BATCH = 10  # SQS's SendMessageBatch limit


class Queue:
    """One SQS queue of the pipeline (JSON bodies)."""

    def __init__(self, url: str, client: Any) -> None:
        self.url = url
        self.client = client

    def send(self, body: Mapping[str, Any]) -> None:
        try:
            self.client.send_message(QueueUrl=self.url, MessageBody=json.dumps(body, separators=(",", ":")))
        except ClientError as exc:
            raise Unavailable("the job queue could not be reached; retry shortly") from exc

    def send_all(self, bodies: Sequence[Mapping[str, Any]], *, max_attempts: int = 5) -> int:
        """SendMessageBatch in calls of at most 10 entries, retrying the entries SQS reports failed.
        Returns the number of SendMessageBatch calls."""
        calls = 0
        for start in range(0, len(bodies), SEND_BATCH):
            pending = {
                str(i): json.dumps(body, separators=(",", ":"))
                for i, body in enumerate(bodies[start : start + SEND_BATCH])
            }
            attempt = 0
            while pending:
                entries = [{"Id": i, "MessageBody": text} for i, text in pending.items()]
                assert len(entries) <= SEND_BATCH
                reply = self.client.send_message_batch(QueueUrl=self.url, Entries=entries)
                calls += 1
                failed = reply.get("Failed") or []
                if any(f.get("SenderFault") for f in failed):
                    raise ValueError(f"SQS refused a message: {failed[0].get('Code')} {failed[0].get('Message')}")
                pending = {f["Id"]: pending[f["Id"]] for f in failed}
                if pending:
                    attempt += 1
                    if attempt >= max_attempts:
                        raise Unavailable(f"{len(pending)} messages could not be queued")
                    time.sleep(min(1.0, 0.05 * 2**attempt))
        return calls
