"""The local SQS event source mapping (local/sqs_poller.py) against a real moto server.

The function side is a plain callable standing in for LambdaPool.invoke: it records every event, can fail
chosen messages through batchItemFailures, or raise FunctionError to fail a whole batch.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.lambdas import FunctionError
from local.model import SqsSource
from local.runtime import LocalRuntime, MotoServer
from local.sqs_poller import SqsPoller, failed_message_ids

REGION = "us-east-1"
FUNCTION = "ConsumerFunction"


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    server = MotoServer()
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="module")
def stopping(moto_url: str) -> Iterator[list[SqsPoller]]:
    """Pollers told to stop at the end of their test; joined once, at the end of the module, so no test
    waits for a poller's last long poll."""
    pollers: list[SqsPoller] = []
    yield pollers
    for poller in pollers:
        poller.stop()


@pytest.fixture
def sqs(moto_url: str) -> Any:
    return boto3.client(
        "sqs",
        region_name=REGION,
        endpoint_url=moto_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


class Queue:
    def __init__(self, sqs: Any, *, visibility: int = 1, dlq_after: int | None = None) -> None:
        self.sqs = sqs
        attributes = {"VisibilityTimeout": str(visibility)}
        self.dlq_url: str | None = None
        if dlq_after is not None:
            self.dlq_url = sqs.create_queue(QueueName=f"dlq-{uuid.uuid4().hex[:12]}")["QueueUrl"]
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": self._arn(self.dlq_url), "maxReceiveCount": dlq_after}
            )
        self.url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:12]}", Attributes=attributes)["QueueUrl"]
        self.arn = self._arn(self.url)

    def _arn(self, url: str) -> str:
        return str(self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])

    def send(self, *bodies: str, **kwargs: Any) -> list[str]:
        return [self.sqs.send_message(QueueUrl=self.url, MessageBody=b, **kwargs)["MessageId"] for b in bodies]

    def send_many(self, count: int) -> list[str]:
        ids: list[str] = []
        for start in range(0, count, 10):
            entries = [{"Id": str(i), "MessageBody": f"m{i}"} for i in range(start, min(count, start + 10))]
            reply = self.sqs.send_message_batch(QueueUrl=self.url, Entries=entries)
            ids.extend(e["MessageId"] for e in reply["Successful"])
        return ids

    def counts(self) -> tuple[int, int]:
        """(visible, in flight) messages."""
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=self.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def dlq_bodies(self) -> list[str]:
        assert self.dlq_url
        reply = self.sqs.receive_message(QueueUrl=self.dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        return [m["Body"] for m in reply.get("Messages", [])]


class Function:
    """Records each batch (as the JSON a real function would get) and answers through ``behaviour``."""

    def __init__(self, behaviour: Callable[[list[dict[str, Any]], int], Any] | None = None) -> None:
        self.behaviour = behaviour
        self.batches: list[list[dict[str, Any]]] = []
        self.times: list[float] = []
        self.names: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, name: str, event: Any) -> Any:
        records = json.loads(json.dumps(event))["Records"]  # an invocation payload is JSON
        with self._lock:
            self.names.append(name)
            self.batches.append(records)
            self.times.append(time.monotonic())
            call = len(self.batches)
        return self.behaviour(records, call) if self.behaviour else None

    @property
    def ids(self) -> list[str]:
        return [r["messageId"] for batch in self.batches for r in batch]


def eventually(check: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def start_poller(stopping: list[SqsPoller]) -> Iterator[Callable[..., SqsPoller]]:
    pollers: list[SqsPoller] = []

    def start(
        queue: Queue,
        function: Function,
        *,
        batch_size: int = 10,
        window: int = 0,
        report_failures: bool = True,
        sqs: Any = None,
    ) -> SqsPoller:
        source = SqsSource(
            function=FUNCTION,
            queue={"Fn::GetAtt": ["Queue", "Arn"]},
            batch_size=batch_size,
            batching_window=window,
            report_failures=report_failures,
            enabled=True,
        )
        poller = SqsPoller(
            source=source,
            queue_url=queue.url,
            queue_arn=queue.arn,
            sqs=sqs or queue.sqs,
            invoke=function,
            region=REGION,
        )
        poller.start()
        pollers.append(poller)
        return poller

    yield start
    for poller in pollers:
        poller.stop(timeout=0)
    stopping.extend(pollers)


def _drained(queue: Queue) -> bool:
    return queue.counts() == (0, 0)


# --------------------------------------------------------------------------- batching


@pytest.mark.parametrize("batch_size", [10, 4])
def test_batch_size_is_honoured_and_every_message_is_consumed_once(
    sqs: Any, start_poller: Callable[..., SqsPoller], batch_size: int
) -> None:
    # Given 25 messages on a queue and a mapping with a BatchSize of 10 (or 4)
    queue = Queue(sqs, visibility=5)
    sent = queue.send_many(25)
    function = Function()
    # When the poller runs until the queue is drained
    start_poller(queue, function, batch_size=batch_size)
    eventually(lambda: len(function.ids) >= 25 and _drained(queue), what="25 messages consumed")
    # Then no invocation got more than BatchSize records, and each message was delivered exactly once
    assert all(1 <= len(batch) <= batch_size for batch in function.batches)
    assert sorted(function.ids) == sorted(sent)
    assert function.names == [FUNCTION] * len(function.batches)


def test_batch_above_ten_is_filled_by_several_receives_within_the_window(
    sqs: Any, start_poller: Callable[..., SqsPoller]
) -> None:
    # Given 30 waiting messages and BatchSize 25 with a 1-second batching window
    queue = Queue(sqs, visibility=10)
    sent = queue.send_many(30)
    function = Function()
    # When the poller runs
    start_poller(queue, function, batch_size=25, window=1)
    eventually(lambda: len(function.ids) >= 30, what="all messages")
    # Then a full batch of 25 came at once (SQS hands out at most 10 per receive), and the remaining 5 when
    # the window closed
    assert [len(b) for b in function.batches] == [25, 5]
    assert function.times[1] - function.times[0] >= 0.9
    assert sorted(function.ids) == sorted(sent)
    eventually(lambda: _drained(queue), what="the batches deleted")


def test_partial_batch_is_invoked_when_the_window_closes(sqs: Any, start_poller: Callable[..., SqsPoller]) -> None:
    # Given BatchSize 25 with a 1-second window and only 3 messages
    queue = Queue(sqs, visibility=10)
    queue.send("a", "b", "c")
    function = Function()
    started = time.monotonic()
    # When the poller runs
    start_poller(queue, function, batch_size=25, window=1)
    eventually(lambda: len(function.batches) >= 1, what="an invocation")
    # Then the function gets the 3 messages once the window has passed, not before
    assert sorted(r["body"] for r in function.batches[0]) == ["a", "b", "c"]
    assert 0.9 <= function.times[0] - started < 4


def test_without_a_window_one_receive_is_one_invocation(sqs: Any, start_poller: Callable[..., SqsPoller]) -> None:
    # Given 15 waiting messages and BatchSize 25 with no batching window
    queue = Queue(sqs, visibility=10)
    queue.send_many(15)
    function = Function()
    # When the poller runs
    start_poller(queue, function, batch_size=25, window=0)
    eventually(lambda: len(function.ids) >= 15, what="15 messages")
    # Then each invocation carries what a single receive returned (at most 10)
    assert len(function.batches) >= 2
    assert all(len(b) <= 10 for b in function.batches)


# --------------------------------------------------------------------------- failures


def test_batch_item_failures_leave_only_the_failed_messages(sqs: Any, start_poller: Callable[..., SqsPoller]) -> None:
    # Given 5 messages, 2 of which the function reports as failed the first time it sees them
    queue = Queue(sqs, visibility=1)
    queue.send("ok1", "bad1", "ok2", "bad2", "ok3")

    def behaviour(records: list[dict[str, Any]], call: int) -> Any:
        failed = [r["messageId"] for r in records if r["body"].startswith("bad") and call == 1]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}

    function = Function(behaviour)
    # When the poller runs past one visibility timeout
    start_poller(queue, function, batch_size=10)
    eventually(lambda: len(function.batches) >= 2 and _drained(queue), timeout=8, what="the failed ones redelivered")
    # Then the first batch had all 5, and only the 2 failed ones came back (a second receive)
    first, second = function.batches[0], function.batches[1]
    assert sorted(r["body"] for r in first) == ["bad1", "bad2", "ok1", "ok2", "ok3"]
    assert sorted(r["body"] for r in second) == ["bad1", "bad2"]
    assert {r["attributes"]["ApproximateReceiveCount"] for r in second} == {"2"}
    assert len(function.batches) == 2


def test_reported_failures_are_ignored_without_report_batch_item_failures(
    sqs: Any, start_poller: Callable[..., SqsPoller]
) -> None:
    # Given a mapping without ReportBatchItemFailures and a function that reports a failure anyway
    queue = Queue(sqs, visibility=1)
    queue.send("x", "y")
    function = Function(lambda records, call: {"batchItemFailures": [{"itemIdentifier": records[0]["messageId"]}]})
    # When the poller runs for longer than the visibility timeout
    start_poller(queue, function, report_failures=False)
    eventually(lambda: len(function.ids) >= 2, what="the batch")
    time.sleep(1.3)
    # Then the whole batch was deleted and nothing came back
    assert sorted(r["body"] for b in function.batches for r in b) == ["x", "y"]
    assert _drained(queue)


@pytest.mark.parametrize(
    "failure",
    [{"itemIdentifier": "not-a-message-in-this-batch"}, {"itemIdentifier": ""}],
    ids=["unknown-id", "empty-id"],
)
def test_a_malformed_failure_report_fails_the_whole_batch(
    sqs: Any, start_poller: Callable[..., SqsPoller], failure: dict[str, str]
) -> None:
    # Given a function whose first response names an itemIdentifier Lambda cannot use
    queue = Queue(sqs, visibility=1)
    sent = queue.send("p", "q", "r")
    function = Function(lambda records, call: {"batchItemFailures": [failure]} if call == 1 else None)
    # When the poller runs past the visibility timeout
    start_poller(queue, function)
    eventually(lambda: len(function.ids) >= 6 and _drained(queue), timeout=8, what="a redelivery")
    # Then every message of the batch came back, as after a function error
    assert sorted(function.ids) == sorted(sent * 2)


def test_function_error_redelivers_the_whole_batch_after_the_visibility_timeout(
    sqs: Any, start_poller: Callable[..., SqsPoller]
) -> None:
    # Given a function that raises on its first invocation
    queue = Queue(sqs, visibility=1)
    sent = queue.send("one", "two", "three")

    def behaviour(records: list[dict[str, Any]], call: int) -> Any:
        if call == 1:
            raise FunctionError("RuntimeError", "boom")
        return None

    function = Function(behaviour)
    # When the poller runs
    start_poller(queue, function)
    eventually(lambda: len(function.batches) >= 2 and _drained(queue), timeout=8, what="the batch redelivered")
    # Then the same messages came back once the visibility timeout (1 s) had passed, and were then deleted
    assert sorted(r["messageId"] for r in function.batches[1]) == sorted(sent)
    assert {r["attributes"]["ApproximateReceiveCount"] for r in function.batches[1]} == {"2"}
    assert function.times[1] - function.times[0] >= 0.9
    assert len(function.batches) == 2


def test_poison_message_ends_in_the_dlq_after_max_receive_count(
    sqs: Any, start_poller: Callable[..., SqsPoller]
) -> None:
    # Given a queue redriving to a DLQ after 2 receives, and a function that always fails "poison"
    queue = Queue(sqs, visibility=1, dlq_after=2)
    queue.send("good1", "poison", "good2")
    function = Function(
        lambda records, call: {
            "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records if r["body"] == "poison"]
        }
    )
    # When the poller runs until the poison message has left the queue
    start_poller(queue, function)
    eventually(lambda: "poison" in queue.dlq_bodies(), timeout=10, what="poison in the DLQ")
    eventually(lambda: _drained(queue), what="the source queue drained")
    # Then its batch-mates were processed once and deleted, and the poison was delivered exactly twice
    bodies = [r["body"] for batch in function.batches for r in batch]
    assert bodies.count("good1") == 1
    assert bodies.count("good2") == 1
    assert bodies.count("poison") == 2
    receive_counts = [r["attributes"]["ApproximateReceiveCount"] for b in function.batches for r in b]
    assert max(int(c) for c in receive_counts) == 2


# --------------------------------------------------------------------------- the event


def test_event_has_the_lambda_sqs_shape(sqs: Any, start_poller: Callable[..., SqsPoller]) -> None:
    # Given a message with string, number and binary attributes
    queue = Queue(sqs, visibility=5)
    (message_id,) = queue.send(
        '{"hello": "world"}',
        MessageAttributes={
            "kind": {"DataType": "String", "StringValue": "greeting"},
            "count": {"DataType": "Number", "StringValue": "3"},
            "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xff"},
        },
    )
    function = Function()
    # When the poller delivers it
    start_poller(queue, function)
    eventually(lambda: len(function.ids) >= 1, what="the message")
    (record,) = function.batches[0]
    # Then the record is a genuine aws:sqs record
    assert list(record) == [
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "md5OfMessageAttributes",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    ]
    assert record["messageId"] == message_id
    assert record["receiptHandle"]
    assert record["body"] == '{"hello": "world"}'
    assert record["md5OfBody"] == hashlib.md5(b'{"hello": "world"}').hexdigest()
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == queue.arn
    assert record["awsRegion"] == REGION
    attributes = record["attributes"]
    assert {"ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"} <= set(
        attributes
    )
    assert attributes["ApproximateReceiveCount"] == "1"
    assert attributes["SentTimestamp"].isdigit()
    assert record["messageAttributes"] == {
        "kind": {"stringValue": "greeting", "stringListValues": [], "binaryListValues": [], "dataType": "String"},
        "count": {"stringValue": "3", "stringListValues": [], "binaryListValues": [], "dataType": "Number"},
        "blob": {
            "binaryValue": base64.b64encode(b"\x00\x01\xff").decode(),
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "Binary",
        },
    }


def test_a_message_without_attributes_has_an_empty_message_attributes_map(
    sqs: Any, start_poller: Callable[..., SqsPoller]
) -> None:
    # Given a plain message
    queue = Queue(sqs, visibility=5)
    queue.send("plain")
    function = Function()
    # When it is delivered
    start_poller(queue, function)
    eventually(lambda: len(function.ids) >= 1, what="the message")
    (record,) = function.batches[0]
    # Then messageAttributes is an empty map and there is no attributes digest
    assert record["messageAttributes"] == {}
    assert "md5OfMessageAttributes" not in record


# --------------------------------------------------------------------------- lifecycle


def test_stop_is_prompt_and_nothing_is_consumed_afterwards(sqs: Any, start_poller: Callable[..., SqsPoller]) -> None:
    # Given a poller long-polling an empty queue
    queue = Queue(sqs, visibility=5)
    function = Function()
    poller = start_poller(queue, function)
    time.sleep(0.3)
    # When it is stopped
    started = time.monotonic()
    poller.stop()
    elapsed = time.monotonic() - started
    # Then stop() returned within the long-poll wait, the thread is gone, and later messages stay queued
    assert elapsed < 1.6
    assert not poller.running
    queue.send("after stop")
    time.sleep(0.3)
    assert function.batches == []
    assert queue.counts() == (1, 0)


class FlakySqs:
    """An SQS client whose first ``failures`` receives raise, as a dropped connection would."""

    def __init__(self, sqs: Any, failures: int) -> None:
        self._sqs = sqs
        self.failures = failures

    def receive_message(self, **kwargs: Any) -> Any:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("connection reset by peer")
        return self._sqs.receive_message(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sqs, name)


def test_transient_errors_do_not_end_the_poller(
    sqs: Any, start_poller: Callable[..., SqsPoller], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an SQS endpoint that fails the first two receives
    queue = Queue(sqs, visibility=5)
    queue.send("survivor")
    function = Function()
    # When the poller runs against it
    poller = start_poller(queue, function, sqs=FlakySqs(sqs, failures=2))
    eventually(lambda: len(function.ids) >= 1, what="the message after the errors")
    # Then it logged the errors, backed off, and went on to deliver the message
    assert poller.running
    assert function.batches[0][0]["body"] == "survivor"
    assert capsys.readouterr().err.count("connection reset by peer") == 2


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (None, set()),
        ("done", set()),
        ({}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "a"}]}, {"a"}),
        ({"batchItemFailures": [{"itemIdentifier": "a"}, {"itemIdentifier": "b"}]}, {"a", "b"}),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, None),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, None),
        ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, None),
        ({"batchItemFailures": [{"ItemIdentifier": "a"}]}, None),
        ({"batchItemFailures": ["a"]}, None),
        ({"batchItemFailures": "a"}, None),
    ],
)
def test_failure_report_parsing_follows_lambda(result: Any, expected: set[str] | None) -> None:
    # Given a function response / When it is read against a batch of "a" and "b"
    # Then it yields the failed ids, or None when Lambda would fail the whole batch
    assert failed_message_ids(result, ["a", "b"]) == expected


# --------------------------------------------------------------------------- through the local runtime

FIXTURE_TEMPLATE = Path(__file__).resolve().parent.parent / "fixtures" / "queue_app" / "template.yaml"


def test_local_runtime_feeds_a_worker_from_the_queue_and_the_schedule(tmp_path: Path) -> None:
    # Given the local runtime on a template with a queue (DLQ after 2 receives), a consumer function in a
    # worker process (ReportBatchItemFailures) and a rate(1 minute) schedule
    runtime = LocalRuntime(port=0, template=FIXTURE_TEMPLATE, tick_seconds=0.2, state_dir=tmp_path)
    runtime.start()
    try:
        sqs, ddb = runtime.client("sqs"), runtime.client("dynamodb")
        table = runtime.names.refs["Table"]
        queue_url, dlq_url = runtime.names.refs["WorkQueue"], runtime.names.refs["DeadLetterQueue"]

        def recorded(pk: str) -> list[dict[str, Any]]:
            reply = ddb.query(
                TableName=table,
                KeyConditionExpression="PK = :pk",
                ExpressionAttributeValues={":pk": {"S": pk}},
            )
            return list(reply["Items"])

        def dlq_bodies() -> list[str]:
            reply = sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
            return [m["Body"] for m in reply.get("Messages", [])]

        # When three messages are sent, one of them poison, and the ticker's clock passes a minute
        for body in ("alpha", "poison", "beta"):
            sqs.send_message(QueueUrl=queue_url, MessageBody=body)
        assert runtime.ticker is not None
        runtime.ticker.clock = lambda: datetime.now(UTC) + timedelta(seconds=61)

        # Then the schedule fired a Scheduled Event at the function
        eventually(lambda: len(recorded("SCHEDULE")) >= 1, what="the scheduled invocation")
        scheduled = json.loads(recorded("SCHEDULE")[0]["event"]["S"])
        assert scheduled["detail-type"] == "Scheduled Event"
        assert scheduled["source"] == "aws.events"
        assert scheduled["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/ConsumerFunctionHeartbeat"]
        # and the good messages were processed once, the poison twice, after which SQS moved it to the DLQ
        eventually(lambda: "poison" in dlq_bodies(), timeout=12, what="the poison message in the DLQ")
        bodies = sorted(item["body"]["S"] for item in recorded("SQS"))
        assert bodies == ["alpha", "beta", "poison", "poison"]
        record = json.loads(recorded("SQS")[0]["record"]["S"])
        assert record["eventSource"] == "aws:sqs"
        assert record["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:evalgate-local-WorkQueue"
        attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
        assert (attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"]) == ("0", "0")
        assert runtime.pool is not None
        assert runtime.pool.stats["ConsumerFunction"]["cold_starts"] >= 1
    finally:
        runtime.stop()
