"""The schedule ticker: fires the template's Schedule / ScheduleV2 events as EventBridge would.

Schedule expressions (all UTC) follow AWS:

* ``rate(value unit)``: a positive whole number and minute(s) / hour(s) / day(s), singular exactly when the
  value is 1. A rate schedule first fires one period after the ticker starts.
* ``cron(minutes hours day-of-month month day-of-week year)``: ``*`` ``,`` ``-`` ``/`` everywhere, ``?`` in
  exactly one of day-of-month / day-of-week, ``L`` (last day of the month; alone in day-of-week, Saturday;
  ``nL`` the last weekday n of the month), ``W`` (``nW`` the weekday nearest to day n within the month,
  ``LW`` the last weekday), ``#`` (``d#k`` the k-th weekday d), JAN-DEC, SUN-SAT with 1 = SUN. A range
  whose start is after its end wraps (``FRI-MON``, ``22-2``), except in the year field.
* ``at(yyyy-mm-ddThh:mm:ss)``: one time.

A schedule never fires twice for one due time, and a ticker that fell behind fires once, not once per missed
period (EventBridge does not replay missed schedules either).
"""

from __future__ import annotations

import copy
import json
import os
import re
import sys
import threading
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evalgate import schedules
from evalgate.schedules import Cron, Rate, utc
from local.lambdas import FunctionError
from local.model import ScheduleSource

Invoke = Callable[[str, Any], Any]
Clock = Callable[[], datetime]

# --------------------------------------------------------------------------- schedule expressions
# rate(...) and cron(...) are parsed by the layer's evalgate.schedules (the grammar monitors are validated
# with: one implementation of AWS's rules); at(...) is EventBridge-only (a monitor recurs), so it lives here.

_AT = re.compile(r"at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)")


@dataclass(frozen=True)
class At:
    when: datetime

    def next_after(self, after: datetime) -> datetime | None:
        return self.when if self.when > utc(after) else None

    def following(self, due: datetime, now: datetime) -> datetime | None:
        return None


Schedule = Rate | Cron | At


def parse(expression: str) -> Schedule:
    """Parse an AWS schedule expression; ValueError says what is wrong."""
    if not isinstance(expression, str):
        raise ValueError(f"a schedule expression must be a string, not {type(expression).__name__}")
    text = expression.strip()
    if text.startswith("at("):
        return _parse_at(text)
    if text.startswith(("rate(", "cron(")):
        return schedules.parse(text)
    raise ValueError(f"invalid schedule expression {expression!r}: expected rate(...), cron(...) or at(...)")


def next_fire(expression: str, after: datetime) -> datetime | None:
    """When ``expression`` next fires strictly after ``after`` (UTC); None if it never will again.
    For a rate that is one period after ``after``."""
    return parse(expression).next_after(after)


def _parse_at(text: str) -> At:
    m = _AT.fullmatch(text)
    if not m:
        raise ValueError(f"invalid at expression {text!r}: expected at(yyyy-mm-ddThh:mm:ss)")
    try:
        year, month, day, hour, minute, second = (int(g) for g in m.groups())
        when = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as exc:
        raise ValueError(f"invalid at expression {text!r}: {exc}") from None
    return At(when)


# --------------------------------------------------------------------------- the ticker


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Entry:
    source: ScheduleSource
    schedule: Schedule
    payload: Any  # the decoded Input, or None for the default Scheduled Event
    has_input: bool
    rule_arn: str
    due: datetime | None


class Ticker:
    """Checks every ``interval`` seconds which schedules are due and invokes their functions."""

    def __init__(
        self,
        schedules: Iterable[ScheduleSource],
        *,
        invoke: Invoke,
        resolve: Callable[[Any], Any],
        region: str,
        account: str,
        interval: float,
        clock: Clock = utc_now,
        state_path: Path | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError("the tick interval must be positive")
        self.invoke = invoke
        self.region = region
        self.account = account
        self.interval = interval
        self.clock = clock  # replaceable while running (tests move time forward)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        now = self.now()
        self.entries: list[_Entry] = []
        for source in schedules:
            if not source.enabled:
                continue
            try:
                schedule = parse(source.expression)
            except ValueError as exc:
                raise ValueError(f"schedule {source.name} of {source.function}: {exc}") from None
            has_input = source.input is not None
            self.entries.append(
                _Entry(
                    source=source,
                    schedule=schedule,
                    payload=_decode_input(resolve(source.input)) if has_input else None,
                    has_input=has_input,
                    rule_arn=f"arn:aws:events:{region}:{account}:rule/{source.name}",
                    due=schedule.next_after(now),
                )
            )
        # a durable runtime keeps each schedule's next fire time across restarts (one missed while stopped
        # fires once at the first tick, as a ticker that fell behind does)
        self.state_path = state_path
        if state_path is not None:
            saved = _load_dues(state_path)
            for entry in self.entries:
                key = _key(entry.source)
                if key in saved and saved[key].get("expression") == entry.source.expression:
                    due = saved[key].get("due")
                    entry.due = datetime.fromisoformat(due) if due else None
            self._save()

    def now(self) -> datetime:
        return utc(self.clock())

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the ticker is already started")
        self._thread = threading.Thread(target=self._run, name="schedule ticker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception:  # the ticker outlives anything a tick runs into
                traceback.print_exc(file=sys.stderr)

    def tick(self) -> list[tuple[str, Any]]:
        """Fire every schedule that is due now, once; returns the (function, event) pairs invoked."""
        fired: list[tuple[_Entry, Any]] = []
        with self._lock:
            now = self.now()
            for entry in self.entries:
                if entry.due is None or entry.due > now:
                    continue
                fired.append((entry, self.event(entry, entry.due)))
                entry.due = entry.schedule.following(entry.due, now)
            if fired:
                self._save()
        for entry, event in fired:
            try:
                self.invoke(entry.source.function, event)
            except FunctionError as exc:
                _log(f"{entry.source.name} -> {entry.source.function}: {exc.error_type}: {exc.message}")
            except Exception as exc:
                _log(f"{entry.source.name} -> {entry.source.function}: {type(exc).__name__}: {exc}")
        return [(entry.source.function, event) for entry, event in fired]

    def _save(self) -> None:
        if self.state_path is None:
            return
        doc = {
            _key(e.source): {"expression": e.source.expression, "due": e.due.isoformat() if e.due else None}
            for e in self.entries
        }
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=1), encoding="utf-8")
        os.replace(tmp, self.state_path)

    def event(self, entry: _Entry, due: datetime) -> Any:
        if entry.has_input:
            return copy.deepcopy(entry.payload)
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self.account,
            "time": due.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": [entry.rule_arn],
            "detail": {},
        }


def _key(source: ScheduleSource) -> str:
    return f"{source.function}/{source.name}"


def _load_dues(path: Path) -> dict[str, dict[str, Any]]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _decode_input(value: Any) -> Any:
    """EventBridge passes the target's Input (JSON text) as the event itself."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _log(text: str) -> None:
    print(f"[ticker] {text}", file=sys.stderr, flush=True)
