"""The schedule ticker (local/ticker.py): EventBridge scheduled events, driven through an injected clock.

The "function" stands in for LambdaPool.invoke and, like a real one, writes what it received to S3 on a
moto server, from where the tests read it back: every payload must survive the JSON trip of a real invoke.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local import cfn
from local.lambdas import FunctionError
from local.model import ScheduleSource
from local.runtime import MotoServer
from local.ticker import Ticker
from tests.integration.conftest import emulator_client

REGION = "us-east-1"
ACCOUNT = "123456789012"
T0 = datetime(2024, 2, 29, 10, 7, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def s3() -> Iterator[Any]:
    server = MotoServer()
    server.start()
    yield emulator_client("s3", server.url)
    server.stop()


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Function:
    """Stores each event it gets in a bucket; ``fail`` decides when to raise FunctionError."""

    def __init__(self, s3: Any, fail: Callable[[str, Any], bool] | None = None) -> None:
        self.s3 = s3
        self.bucket = f"events-{uuid.uuid4().hex[:12]}"
        s3.create_bucket(Bucket=self.bucket)
        self.fail = fail
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, name: str, event: Any) -> Any:
        with self._lock:
            self.calls += 1
            key = f"{self.calls:04d}"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=json.dumps({"function": name, "event": event}))
        if self.fail and self.fail(name, event):
            raise FunctionError("RuntimeError", f"{name} failed on purpose")
        return {"ok": True}

    def received(self) -> list[tuple[str, Any]]:
        listing = self.s3.list_objects_v2(Bucket=self.bucket).get("Contents", [])
        out = []
        for item in sorted(listing, key=lambda o: o["Key"]):
            stored = json.loads(self.s3.get_object(Bucket=self.bucket, Key=item["Key"])["Body"].read())
            out.append((stored["function"], stored["event"]))
        return out


def schedule(
    expression: str, *, function: str = "Fn", name: str = "FnTick", input: Any = None, enabled: bool = True
) -> ScheduleSource:
    return ScheduleSource(function=function, expression=expression, input=input, enabled=enabled, name=name)


def ticker(sources: list[ScheduleSource], function: Function, clock: Clock, **kwargs: Any) -> Ticker:
    options: dict[str, Any] = {"resolve": lambda value: value, "interval": 0.05, **kwargs}
    return Ticker(sources, invoke=function, region=REGION, account=ACCOUNT, clock=clock, **options)


def test_a_rate_schedule_fires_one_period_after_start_with_a_scheduled_event(s3: Any) -> None:
    # Given a rate(5 minutes) schedule whose ticker starts at T0
    clock = Clock()
    function = Function(s3)
    t = ticker(
        [schedule("rate(5 minutes)", function="CleanupFunction", name="CleanupFunctionNightly")], function, clock
    )
    # When the clock is just short of one period, then at it
    clock.advance(minutes=4, seconds=59)
    assert t.tick() == []
    clock.advance(seconds=1)
    t.tick()
    # Then the function got one genuine EventBridge Scheduled Event, timed at the due time
    ((name, event),) = function.received()
    assert name == "CleanupFunction"
    assert event == {
        "version": "0",
        "id": event["id"],
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": "2024-02-29T10:12:30Z",
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/CleanupFunctionNightly"],
        "detail": {},
    }
    assert uuid.UUID(event["id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", event["time"])


def test_a_cron_schedule_fires_at_its_next_matching_minute(s3: Any) -> None:
    # Given cron(0/15 ...) and a ticker started at 10:07:30
    clock = Clock()
    function = Function(s3)
    t = ticker([schedule("cron(0/15 * * * ? *)")], function, clock)
    # When the clock reaches 10:14:59, then 10:15:00
    clock.now = datetime(2024, 2, 29, 10, 14, 59, tzinfo=UTC)
    t.tick()
    assert function.received() == []
    clock.now = datetime(2024, 2, 29, 10, 15, 0, 400_000, tzinfo=UTC)
    t.tick()
    # Then it fired once, for 10:15
    assert [e["time"] for _, e in function.received()] == ["2024-02-29T10:15:00Z"]


def test_a_schedule_never_fires_twice_for_one_due_time(s3: Any) -> None:
    # Given a due rate(1 minute) schedule
    clock = Clock()
    function = Function(s3)
    t = ticker([schedule("rate(1 minute)")], function, clock)
    clock.advance(minutes=1)
    # When the ticker ticks several times within the same period
    t.tick()
    t.tick()
    clock.advance(seconds=30)
    t.tick()
    # Then the function was invoked once; the next period fires again
    assert len(function.received()) == 1
    clock.advance(seconds=30)
    t.tick()
    assert [e["time"] for _, e in function.received()] == ["2024-02-29T10:08:30Z", "2024-02-29T10:09:30Z"]


def test_a_ticker_that_fell_behind_fires_once_and_keeps_the_cadence(s3: Any) -> None:
    # Given rate(1 minute) and a ticker that did not run for 10 minutes
    clock = Clock()
    function = Function(s3)
    t = ticker([schedule("rate(1 minute)")], function, clock)
    clock.advance(minutes=10, seconds=15)
    # When it ticks again
    t.tick()
    t.tick()
    # Then it fired once (no burst of the 9 missed periods), for the first missed due time
    assert [e["time"] for _, e in function.received()] == ["2024-02-29T10:08:30Z"]
    # and the next one is on the original cadence (10:18:30), not a minute after the late tick
    clock.now = datetime(2024, 2, 29, 10, 18, 29, tzinfo=UTC)
    t.tick()
    assert len(function.received()) == 1
    clock.advance(seconds=1)
    t.tick()
    assert [e["time"] for _, e in function.received()][-1] == "2024-02-29T10:18:30Z"


def test_a_cron_that_fell_behind_fires_once(s3: Any) -> None:
    # Given an every-minute cron and a ticker that stalled for an hour
    clock = Clock()
    function = Function(s3)
    t = ticker([schedule("cron(* * * * ? *)")], function, clock)
    clock.advance(hours=1)
    # When it ticks / Then only one invocation happens, and the next is the next minute from now
    t.tick()
    t.tick()
    assert len(function.received()) == 1
    clock.advance(seconds=30)  # 11:08:00
    t.tick()
    assert [e["time"] for _, e in function.received()][-1] == "2024-02-29T11:08:00Z"
    assert len(function.received()) == 2


def test_input_is_passed_as_the_event(s3: Any) -> None:
    # Given schedules with a JSON Input, a Sub-resolved Input, and a non-JSON text Input
    names = cfn.Names()
    names.refs["Table"] = "evalgate-local-Table"
    clock = Clock()
    function = Function(s3)
    t = ticker(
        [
            schedule("rate(1 minute)", function="A", input='{"job": "cleanup", "limit": 5}'),
            schedule(
                "rate(1 minute)", function="B", input={"Fn::Sub": '{"table": "${Table}", "region": "${AWS::Region}"}'}
            ),
            schedule("rate(1 minute)", function="C", input="just text"),
        ],
        function,
        clock,
        resolve=lambda value: cfn.resolve(value, names),
    )
    # When they are due
    clock.advance(minutes=1)
    t.tick()
    # Then each function got its Input itself (JSON-decoded) instead of a Scheduled Event
    assert sorted(function.received()) == [
        ("A", {"job": "cleanup", "limit": 5}),
        ("B", {"table": "evalgate-local-Table", "region": "us-east-1"}),
        ("C", "just text"),
    ]


def test_function_errors_are_logged_and_do_not_stop_the_ticker(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    # Given two schedules, one of whose functions always fails
    clock = Clock()
    function = Function(s3, fail=lambda name, event: name == "Broken")
    t = ticker(
        [schedule("rate(1 minute)", function="Broken", name="BrokenTick"), schedule("rate(1 minute)", function="Fine")],
        function,
        clock,
    )
    # When two periods pass
    clock.advance(minutes=1)
    t.tick()
    clock.advance(minutes=1)
    t.tick()
    # Then both were invoked both times, and the failures went to stderr
    assert sorted(name for name, _ in function.received()) == ["Broken", "Broken", "Fine", "Fine"]
    err = capsys.readouterr().err
    assert err.count("BrokenTick -> Broken: RuntimeError: Broken failed on purpose") == 2


def test_a_one_time_schedule_fires_once(s3: Any) -> None:
    # Given at() five minutes after T0
    clock = Clock()
    function = Function(s3)
    t = ticker([schedule("at(2024-02-29T10:12:30)")], function, clock)
    # When time passes well beyond it
    for _ in range(4):
        clock.advance(minutes=3)
        t.tick()
    # Then it fired exactly once, at its time
    assert [e["time"] for _, e in function.received()] == ["2024-02-29T10:12:30Z"]


def test_disabled_schedules_never_fire(s3: Any) -> None:
    # Given a disabled schedule
    clock = Clock()
    function = Function(s3)
    t = ticker([schedule("rate(1 minute)", enabled=False)], function, clock)
    # When several periods pass / Then nothing is invoked
    clock.advance(minutes=5)
    t.tick()
    assert function.received() == []


def test_an_invalid_expression_is_refused_at_construction(s3: Any) -> None:
    # Given a schedule whose expression AWS would reject / When the ticker is built
    # Then it fails with a message naming the schedule
    with pytest.raises(ValueError, match=r"schedule BadTick of Fn: invalid rate expression"):
        ticker([schedule("rate(1 minutes)", name="BadTick")], Function(s3), Clock())


def test_the_thread_ticks_on_its_own_and_stops_promptly(s3: Any) -> None:
    # Given a started ticker (interval 0.05 s) on a clock the test moves
    clock = Clock()
    function = Function(s3)
    t = ticker([schedule("rate(1 minute)")], function, clock)
    t.start()
    try:
        # When a period passes
        clock.advance(minutes=1, seconds=1)
        deadline = time.monotonic() + 5
        while not function.received() and time.monotonic() < deadline:
            time.sleep(0.05)
        # Then the thread fired it, once
        time.sleep(0.2)
        assert [e["time"] for _, e in function.received()] == ["2024-02-29T10:08:30Z"]
    finally:
        started = time.monotonic()
        t.stop()
        assert time.monotonic() - started < 0.5
    # and once stopped, nothing more fires
    clock.advance(minutes=5)
    time.sleep(0.2)
    assert len(function.received()) == 1


def test_a_restarted_ticker_keeps_each_schedules_next_fire_time(s3: Any, tmp_path: Any) -> None:
    # Given a durable ticker with rate(1 hour) that fired once (next due 12:07:30), then stopped at 11:30
    state = tmp_path / "schedules.json"
    clock = Clock()
    function = Function(s3)
    first = ticker([schedule("rate(1 hour)")], function, clock, state_path=state)
    clock.advance(hours=1)
    assert len(first.tick()) == 1
    clock.advance(minutes=20)
    # When a new ticker starts from the same state (a restart), it does not start the hour over
    second = ticker([schedule("rate(1 hour)")], function, clock, state_path=state)
    assert second.entries[0].due == datetime(2024, 2, 29, 12, 7, 30, tzinfo=UTC)
    clock.now = datetime(2024, 2, 29, 12, 7, 30, tzinfo=UTC)
    assert len(second.tick()) == 1
    # and a changed expression is a new schedule (its own first fire time)
    third = ticker([schedule("rate(2 hours)")], function, clock, state_path=state)
    assert third.entries[0].due == datetime(2024, 2, 29, 14, 7, 30, tzinfo=UTC)
