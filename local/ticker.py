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

import calendar
import copy
import json
import re
import sys
import threading
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from local.lambdas import FunctionError
from local.model import ScheduleSource

Invoke = Callable[[str, Any], Any]
Clock = Callable[[], datetime]

# --------------------------------------------------------------------------- schedule expressions

_UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
_RATE = re.compile(r"rate\(\s*(\d+)\s+([a-z]+)\s*\)")
_AT = re.compile(r"at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)")
_CRON = re.compile(r"cron\((.*)\)", re.DOTALL)
_MONTHS = {
    "JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6,
    "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12,
}  # fmt: skip
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
MIN_YEAR, MAX_YEAR = 1970, 2199


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _aws_weekday(day: date) -> int:
    """1 = Sunday ... 7 = Saturday."""
    return (day.weekday() + 1) % 7 + 1


@dataclass(frozen=True)
class Rate:
    period: timedelta

    def next_after(self, after: datetime) -> datetime:
        return _utc(after) + self.period

    def following(self, due: datetime, now: datetime) -> datetime:
        """The next due time once ``due`` has fired at ``now``: the cadence is kept, missed periods skipped."""
        nxt = due + self.period
        if nxt <= now:
            nxt = due + self.period * ((now - due) // self.period + 1)
        return nxt


@dataclass(frozen=True)
class At:
    when: datetime

    def next_after(self, after: datetime) -> datetime | None:
        return self.when if self.when > _utc(after) else None

    def following(self, due: datetime, now: datetime) -> datetime | None:
        return None


@dataclass(frozen=True)
class DayOfMonth:
    days: frozenset[int] = frozenset()
    last: bool = False  # L
    last_weekday: bool = False  # LW
    nearest_weekday: int | None = None  # nW

    def matches(self, day: date) -> bool:
        length = calendar.monthrange(day.year, day.month)[1]
        if self.last:
            return day.day == length
        if self.last_weekday:
            last = date(day.year, day.month, length)
            return day == last - timedelta(days=max(0, last.weekday() - 4))
        if self.nearest_weekday is not None:
            if self.nearest_weekday > length:
                return False
            return day == _nearest_weekday(date(day.year, day.month, self.nearest_weekday), length)
        return day.day in self.days


def _nearest_weekday(target: date, length: int) -> date:
    """Quartz 'W': the weekday nearest to target without leaving its month."""
    if target.weekday() == 5:  # Saturday: Friday before, or Monday after when the 1st
        return target + timedelta(days=2) if target.day == 1 else target - timedelta(days=1)
    if target.weekday() == 6:  # Sunday: Monday after, or Friday before when the month's last day
        return target - timedelta(days=2) if target.day == length else target + timedelta(days=1)
    return target


@dataclass(frozen=True)
class DayOfWeek:
    days: frozenset[int] = frozenset()  # 1 = SUN .. 7 = SAT
    last_of_month: int | None = None  # nL
    nth: tuple[int, int] | None = None  # d#k

    def matches(self, day: date) -> bool:
        weekday = _aws_weekday(day)
        if self.last_of_month is not None:
            length = calendar.monthrange(day.year, day.month)[1]
            return weekday == self.last_of_month and day.day + 7 > length
        if self.nth is not None:
            wanted, k = self.nth
            return weekday == wanted and (day.day - 1) // 7 + 1 == k
        return weekday in self.days


@dataclass(frozen=True)
class Cron:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    day_of_month: DayOfMonth | None  # None: '?'
    months: frozenset[int]
    day_of_week: DayOfWeek | None  # None: '?'
    years: frozenset[int]

    def _day_matches(self, day: date) -> bool:
        if self.day_of_month is not None:
            return self.day_of_month.matches(day)
        assert self.day_of_week is not None
        return self.day_of_week.matches(day)

    def next_after(self, after: datetime) -> datetime | None:
        start = _utc(after).replace(second=0, microsecond=0) + timedelta(minutes=1)
        for year in sorted(y for y in self.years if y >= start.year):
            for month in sorted(self.months):
                if (year, month) < (start.year, start.month):
                    continue
                first_day = start.day if (year, month) == (start.year, start.month) else 1
                for day_no in range(first_day, calendar.monthrange(year, month)[1] + 1):
                    day = date(year, month, day_no)
                    if not self._day_matches(day):
                        continue
                    same_day = day == start.date()
                    for hour in self.hours:
                        if same_day and hour < start.hour:
                            continue
                        for minute in self.minutes:
                            if same_day and hour == start.hour and minute < start.minute:
                                continue
                            return datetime(year, month, day_no, hour, minute, tzinfo=UTC)
        return None

    def following(self, due: datetime, now: datetime) -> datetime | None:
        return self.next_after(max(due, now))


Schedule = Rate | Cron | At


def parse(expression: str) -> Schedule:
    """Parse an AWS schedule expression; ValueError says what is wrong."""
    if not isinstance(expression, str):
        raise ValueError(f"a schedule expression must be a string, not {type(expression).__name__}")
    text = expression.strip()
    if text.startswith("rate("):
        return _parse_rate(text)
    if text.startswith("cron("):
        return _parse_cron(text)
    if text.startswith("at("):
        return _parse_at(text)
    raise ValueError(f"invalid schedule expression {expression!r}: expected rate(...), cron(...) or at(...)")


def next_fire(expression: str, after: datetime) -> datetime | None:
    """When ``expression`` next fires strictly after ``after`` (UTC); None if it never will again.
    For a rate that is one period after ``after``."""
    return parse(expression).next_after(after)


def _parse_rate(text: str) -> Rate:
    m = _RATE.fullmatch(text)
    if not m:
        raise ValueError(f"invalid rate expression {text!r}: expected rate(<value> <unit>), e.g. rate(5 minutes)")
    value, unit = int(m.group(1)), m.group(2)
    base = unit[:-1] if unit.endswith("s") else unit
    if base not in _UNITS:
        raise ValueError(f"invalid rate expression {text!r}: the unit must be minute(s), hour(s) or day(s)")
    if value < 1:
        raise ValueError(f"invalid rate expression {text!r}: the value must be a positive whole number")
    if value == 1 and unit != base:
        raise ValueError(f"invalid rate expression {text!r}: a value of 1 takes the singular unit ({base})")
    if value > 1 and unit == base:
        raise ValueError(f"invalid rate expression {text!r}: a value above 1 takes the plural unit ({base}s)")
    return Rate(_UNITS[base] * value)


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


@dataclass
class _Field:
    name: str
    low: int
    high: int
    names: dict[str, int] = field(default_factory=dict)
    wraps: bool = True

    def value(self, token: str) -> int:
        upper = token.upper()
        if upper in self.names:
            return self.names[upper]
        if not token.isdigit():
            raise ValueError(f"{self.name}: {token!r} is not a valid value")
        number = int(token)
        if not self.low <= number <= self.high:
            raise ValueError(f"{self.name}: {number} is outside {self.low}-{self.high}")
        return number

    def values(self, text: str) -> list[int]:
        """A list of items, each *, n, a-b, with an optional /step."""
        out: set[int] = set()
        for item in text.split(","):
            if not item:
                raise ValueError(f"{self.name}: empty item in {text!r}")
            base, slash, step_text = item.partition("/")
            step = 1
            if slash:
                if not step_text.isdigit() or int(step_text) < 1:
                    raise ValueError(f"{self.name}: invalid step in {item!r}")
                step = int(step_text)
            if base == "*":
                start, end = self.low, self.high
            elif "-" in base:
                a, _, b = base.partition("-")
                start, end = self.value(a), self.value(b)
            else:
                start = self.value(base)
                end = self.high if slash else start
            if start <= end:
                sequence = list(range(start, end + 1))
            elif self.wraps:
                sequence = list(range(start, self.high + 1)) + list(range(self.low, end + 1))
            else:
                raise ValueError(f"{self.name}: the range {base!r} runs backwards")
            out.update(sequence[::step])
        return sorted(out)


_MINUTE = _Field("minutes", 0, 59)
_HOUR = _Field("hours", 0, 23)
_DOM = _Field("day-of-month", 1, 31)
_MONTH = _Field("month", 1, 12, _MONTHS)
_DOW = _Field("day-of-week", 1, 7, _DAYS)
_YEAR = _Field("year", MIN_YEAR, MAX_YEAR, wraps=False)


def _parse_cron(text: str) -> Cron:
    m = _CRON.fullmatch(text)
    if not m:
        raise ValueError(f"invalid cron expression {text!r}")
    fields = m.group(1).split()
    if len(fields) != 6:
        raise ValueError(
            f"invalid cron expression {text!r}: expected 6 fields "
            f"(minutes hours day-of-month month day-of-week year), got {len(fields)}"
        )
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ValueError(f"invalid cron expression {text!r}: exactly one of day-of-month and day-of-week must be '?'")
    try:
        return Cron(
            minutes=tuple(_MINUTE.values(minute)),
            hours=tuple(_HOUR.values(hour)),
            day_of_month=None if dom == "?" else _parse_dom(dom),
            months=frozenset(_MONTH.values(month)),
            day_of_week=None if dow == "?" else _parse_dow(dow),
            years=frozenset(_YEAR.values(year)),
        )
    except ValueError as exc:
        raise ValueError(f"invalid cron expression {text!r}: {exc}") from None


def _parse_dom(text: str) -> DayOfMonth:
    upper = text.upper()
    if upper == "L":
        return DayOfMonth(last=True)
    if upper == "LW":
        return DayOfMonth(last_weekday=True)
    if upper.endswith("W"):
        return DayOfMonth(nearest_weekday=_DOM.value(text[:-1]))
    if any(c in upper for c in "LW#?"):
        raise ValueError(f"day-of-month: {text!r} is not valid (L, LW and nW stand alone)")
    return DayOfMonth(days=frozenset(_DOM.values(text)))


def _parse_dow(text: str) -> DayOfWeek:
    upper = text.upper()
    if upper == "L":
        return DayOfWeek(days=frozenset({7}))
    if "#" in upper:
        day, _, k = upper.partition("#")
        if not k.isdigit() or not 1 <= int(k) <= 5:
            raise ValueError(f"day-of-week: {text!r}: the number after # must be 1-5")
        return DayOfWeek(nth=(_DOW.value(day), int(k)))
    if upper.endswith("L"):
        return DayOfWeek(last_of_month=_DOW.value(upper[:-1]))
    return DayOfWeek(days=frozenset(_DOW.values(text)))


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

    def now(self) -> datetime:
        return _utc(self.clock())

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
        for entry, event in fired:
            try:
                self.invoke(entry.source.function, event)
            except FunctionError as exc:
                _log(f"{entry.source.name} -> {entry.source.function}: {exc.error_type}: {exc.message}")
            except Exception as exc:
                _log(f"{entry.source.name} -> {entry.source.function}: {type(exc).__name__}: {exc}")
        return [(entry.source.function, event) for entry, event in fired]

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
