"""An emulated Lambda SQS event source mapping: long-polls one queue and invokes one function with batches.

What it reproduces from the managed poller:

* batches of up to ``BatchSize`` messages; SQS returns at most 10 per receive, so a larger batch is filled
  by further receives for up to ``MaximumBatchingWindowInSeconds`` (with no window, one receive's worth);
* the genuine ``aws:sqs`` event (camelCase record keys, base64 binary attributes, all system attributes);
* deletion semantics: a function error leaves the whole batch on the queue (it reappears after the
  visibility timeout); with ``ReportBatchItemFailures`` only the reported messages stay, and a malformed
  report (an empty, missing or unknown ``itemIdentifier``) fails the whole batch, as Lambda does;
* dead-letter queues: the queue's RedrivePolicy is applied by SQS itself (moto moves a message whose receive
  count has reached ``maxReceiveCount`` to the DLQ on the next receive, exactly as SQS does), so the poller
  never has to and a poison message is never delivered more than ``maxReceiveCount`` times.

One poller runs one batch at a time (Lambda scales pollers out; locally, one is enough). ``stop()`` returns
within about a second: a batch received but not yet processed is simply abandoned and reappears after its
visibility timeout, so nothing is lost.
"""

from __future__ import annotations

import base64
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from local.lambdas import FunctionError
from local.model import SqsSource

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueOutputTypeDef, MessageTypeDef

Invoke = Callable[[str, Any], Any]

MAX_PER_RECEIVE = 10  # SQS ReceiveMessage / DeleteMessageBatch limit
MAX_BACKOFF_SECONDS = 5.0


class SqsPoller:
    def __init__(
        self,
        *,
        source: SqsSource,
        queue_url: str,
        queue_arn: str,
        sqs: SQSClient,
        invoke: Invoke,
        region: str,
        wait_seconds: int = 1,
    ) -> None:
        if source.batch_size < 1:
            raise ValueError(f"BatchSize must be at least 1, not {source.batch_size}")
        if not 0 <= wait_seconds <= 20:
            raise ValueError("wait_seconds must be between 0 and 20")
        self.source = source
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.sqs = sqs
        self.invoke = invoke
        self.region = region
        self.wait_seconds = wait_seconds
        self.label = f"sqs {queue_arn.rsplit(':', 1)[-1]} -> {source.function}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the poller is already started")
        self._thread = threading.Thread(target=self._run, name=f"poller {self.label}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop polling. Returns once the current receive ends (≤ wait_seconds); an invocation still
        running after ``timeout`` is left to finish on its own (the thread is a daemon)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.wait_seconds + 2.0 if timeout is None else timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- the loop ---------------------------------------------------------------------------------
    def _run(self) -> None:
        backoff = 0.0
        while not self._stop.is_set():
            try:
                batch = self._collect()
                if batch and not self._stop.is_set():
                    self._process(batch)
                backoff = 0.0
            except Exception as exc:  # a transient error never ends the poller
                if self._stop.is_set():
                    break
                backoff = min(max(backoff * 2, 0.2), MAX_BACKOFF_SECONDS)
                self._log(f"polling failed ({type(exc).__name__}: {exc}); retrying in {backoff:.1f}s")
                self._stop.wait(backoff)

    def _receive(self, count: int, wait: int) -> list[MessageTypeDef]:
        reply = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(reply.get("Messages") or [])

    def _collect(self) -> list[MessageTypeDef]:
        """One batch: a long poll until something arrives, then (with a batching window) more receives
        until the batch is full or the window, counted from the first message, has passed."""
        size = self.source.batch_size
        window = float(self.source.batching_window)
        batch: dict[str, MessageTypeDef] = {}
        deadline: float | None = None
        while len(batch) < size and not self._stop.is_set():
            if deadline is None:
                wait = self.wait_seconds
            else:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                wait = min(self.wait_seconds, int(remaining))
            messages = self._receive(min(MAX_PER_RECEIVE, size - len(batch)), wait)
            if not messages:
                if deadline is None:
                    break  # nothing yet: back to the loop, which checks for stop() and polls again
                if wait == 0:
                    self._stop.wait(0.05)  # a short poll came back empty; do not spin
                continue
            for message in messages:
                batch[message["MessageId"]] = message  # a redelivery within the window keeps the newest handle
            if deadline is None:
                if window <= 0:
                    break
                deadline = time.monotonic() + window
        return list(batch.values())

    def _process(self, batch: list[MessageTypeDef]) -> None:
        event = {"Records": [self.record(message) for message in batch]}
        try:
            result = self.invoke(self.source.function, event)
        except FunctionError as exc:
            self._log(
                f"{exc.error_type}: {exc.message} - the batch of {len(batch)} returns to the queue "
                "after its visibility timeout"
            )
            return
        except Exception as exc:
            self._log(
                f"invocation failed ({type(exc).__name__}: {exc}) - the batch of {len(batch)} returns to the "
                "queue after its visibility timeout"
            )
            traceback.print_exc(file=sys.stderr)
            return
        done = batch
        if self.source.report_failures:
            failed = failed_message_ids(result, [m["MessageId"] for m in batch])
            if failed is None:
                self._log(
                    "invalid batchItemFailures in the response (an itemIdentifier is missing, empty or not in "
                    f"the batch): the whole batch of {len(batch)} counts as failed"
                )
                return
            done = [m for m in batch if m["MessageId"] not in failed]
        self._delete(done)

    def _delete(self, messages: Sequence[MessageTypeDef]) -> None:
        for start in range(0, len(messages), MAX_PER_RECEIVE):
            chunk = messages[start : start + MAX_PER_RECEIVE]
            reply = self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
            for failure in reply.get("Failed") or []:
                message = chunk[int(failure["Id"])]
                self._log(f"could not delete {message['MessageId']}: {failure.get('Code')} {failure.get('Message')}")

    # -- the event --------------------------------------------------------------------------------
    def record(self, message: MessageTypeDef) -> dict[str, Any]:
        """One record of the ``aws:sqs`` event, keyed and ordered as Lambda sends it."""
        record: dict[str, Any] = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message.get("Body", ""),
            "attributes": dict(message.get("Attributes") or {}),
            "messageAttributes": {
                name: _message_attribute(value) for name, value in (message.get("MessageAttributes") or {}).items()
            },
            "md5OfBody": message.get("MD5OfBody", ""),
        }
        if message.get("MD5OfMessageAttributes"):
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        record["eventSource"] = "aws:sqs"
        record["eventSourceARN"] = self.queue_arn
        record["awsRegion"] = self.region
        return record

    def _log(self, text: str) -> None:
        print(f"[{self.label}] {text}", file=sys.stderr, flush=True)


def failed_message_ids(result: Any, batch_ids: Sequence[str]) -> set[str] | None:
    """The messages a ReportBatchItemFailures response reports as failed, or None when the response is
    malformed, which Lambda treats as a failure of the whole batch. No response, an empty or null
    ``batchItemFailures`` mean complete success."""
    if not isinstance(result, dict):
        return set()
    failures = result.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return None
    known = set(batch_ids)
    failed: set[str] = set()
    for item in failures:
        if not isinstance(item, dict):
            return None
        identifier = item.get("itemIdentifier")
        if not isinstance(identifier, str) or identifier not in known:
            return None
        failed.add(identifier)
    return failed


def _b64(value: bytes | str) -> str:
    raw = value.encode() if isinstance(value, str) else bytes(value)
    return base64.b64encode(raw).decode("ascii")


def _message_attribute(value: MessageAttributeValueOutputTypeDef) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "StringValue" in value:
        out["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        out["binaryValue"] = _b64(value["BinaryValue"])
    out["stringListValues"] = list(value.get("StringListValues") or [])
    out["binaryListValues"] = [_b64(v) for v in value.get("BinaryListValues") or []]
    out["dataType"] = value["DataType"]
    return out
