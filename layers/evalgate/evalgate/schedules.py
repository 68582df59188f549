"""AWS schedule expressions for monitors: validation and the next due time (all UTC).

The grammar is EventBridge's, the same the local runtime's ticker accepts:

* ``rate(value unit)``: a positive whole number and minute(s) / hour(s) / day(s), singular exactly when the
  value is 1. The first due time is one period after the monitor is saved.
* ``cron(minutes hours day-of-month month day-of-week year)``: ``*`` ``,`` ``-`` ``/`` in every field, ``?`` in
  exactly one of day-of-month / day-of-week, ``L`` (day-of-month: the month's last day; alone in day-of-week:
  Saturday; ``nL``: the last weekday n of the month), ``W`` (``nW``: the weekday nearest to day n within the
  month, ``LW``: the last weekday), ``#`` (``d#k``: the k-th weekday d), JAN-DEC, SUN-SAT with 1 = SUN. A range
  whose start is after its end wraps (``FRI-MON``, ``22-2``), except in the year field.

``at(...)`` (one time) is an EventBridge expression too, but a monitor recurs: `parse` refuses it.
Pure stdlib: safe to import in any function.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

MIN_YEAR, MAX_YEAR = 1970, 2199
_RATE = re.compile(r"rate\(\s*(\d+)\s+([a-z]+)\s*\)")
_CRON = re.compile(r"cron\((.*)\)", re.DOTALL)
_UNITS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
_MONTHS = {m.upper(): i for i, m in enumerate(calendar.month_abbr) if m}
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}


def utc(moment: datetime) -> datetime:
    """A naive time is taken as UTC; an aware one is converted."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _weekday(day: date) -> int:
    """AWS numbering: 1 = Sunday ... 7 = Saturday."""
    return day.isoweekday() % 7 + 1


@dataclass(frozen=True)
class Rate:
    period: timedelta

    def next_after(self, after: datetime) -> datetime:
        return utc(after) + self.period

    def following(self, due: datetime, now: datetime) -> datetime:
        """The next due time once `due` has run at `now`: the cadence is kept, missed periods are skipped."""
        due, now = utc(due), utc(now)
        nxt = due + self.period
        if nxt <= now:
            nxt = due + self.period * ((now - due) // self.period + 1)
        return nxt


@dataclass(frozen=True)
class _DayOfMonth:
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
            target = date(day.year, day.month, self.nearest_weekday)
            if target.weekday() == 5:  # Saturday: the Friday before, or the Monday after when it is the 1st
                target += timedelta(days=2) if target.day == 1 else timedelta(days=-1)
            elif target.weekday() == 6:  # Sunday: the Monday after, or the Friday before on the last day
                target += timedelta(days=-2) if target.day == length else timedelta(days=1)
            return day == target
        return day.day in self.days


@dataclass(frozen=True)
class _DayOfWeek:
    days: frozenset[int] = frozenset()
    last_of_month: int | None = None  # nL
    nth: tuple[int, int] | None = None  # d#k

    def matches(self, day: date) -> bool:
        weekday = _weekday(day)
        if self.last_of_month is not None:
            return weekday == self.last_of_month and day.day + 7 > calendar.monthrange(day.year, day.month)[1]
        if self.nth is not None:
            return weekday == self.nth[0] and (day.day - 1) // 7 + 1 == self.nth[1]
        return weekday in self.days


@dataclass(frozen=True)
class Cron:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    day_of_month: _DayOfMonth | None  # None: '?'
    months: tuple[int, ...]
    day_of_week: _DayOfWeek | None  # None: '?'
    years: tuple[int, ...]

    def _day_matches(self, day: date) -> bool:
        if self.day_of_month is not None:
            return self.day_of_month.matches(day)
        assert self.day_of_week is not None
        return self.day_of_week.matches(day)

    def next_after(self, after: datetime) -> datetime | None:
        """The first matching minute strictly after `after`; None when the expression never fires again."""
        start = utc(after).replace(second=0, microsecond=0) + timedelta(minutes=1)
        for year in (y for y in self.years if y >= start.year):
            for month in self.months:
                if (year, month) < (start.year, start.month):
                    continue
                first = start.day if (year, month) == (start.year, start.month) else 1
                for day_no in range(first, calendar.monthrange(year, month)[1] + 1):
                    day = date(year, month, day_no)
                    if not self._day_matches(day):
                        continue
                    today = day == start.date()
                    for hour in self.hours:
                        if today and hour < start.hour:
                            continue
                        for minute in self.minutes:
                            if today and hour == start.hour and minute < start.minute:
                                continue
                            return datetime(year, month, day_no, hour, minute, tzinfo=UTC)
        return None

    def following(self, due: datetime, now: datetime) -> datetime | None:
        return self.next_after(max(utc(due), utc(now)))


Schedule = Rate | Cron


def parse(expression: str) -> Schedule:
    """Parse a monitor's schedule; ValueError says what is wrong (in words a user can act on)."""
    if not isinstance(expression, str):
        raise ValueError("a schedule expression must be a string")
    text = expression.strip()
    if text.startswith("rate("):
        return _parse_rate(text)
    if text.startswith("cron("):
        return _parse_cron(text)
    if text.startswith("at("):
        raise ValueError("a monitor recurs: use rate(...) or cron(...), not a one-time at(...) expression")
    raise ValueError(f"invalid schedule expression {text[:100]!r}: expected rate(...) or cron(...)")


def first_run(expression: str, now: datetime) -> datetime:
    """The first due time of a schedule saved at `now`; ValueError if it is invalid or never fires."""
    nxt = parse(expression).next_after(now)
    if nxt is None:
        raise ValueError(f"the schedule {expression.strip()!r} never fires after {utc(now):%Y-%m-%d %H:%M} UTC")
    return nxt


def following(expression: str, due: datetime, now: datetime) -> datetime | None:
    """The next due time after `due` ran at `now` (None: the schedule never fires again)."""
    return parse(expression).following(due, now)


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
    if value > 100_000:
        raise ValueError(f"invalid rate expression {text!r}: the value is too large")
    return Rate(_UNITS[base] * value)


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[tuple[str, int], ...] = ()
    wraps: bool = True

    def value(self, token: str) -> int:
        named = dict(self.names).get(token.upper())
        if named is not None:
            return named
        if not token.isdigit():
            raise ValueError(f"{self.name}: {token!r} is not a valid value")
        number = int(token)
        if not self.low <= number <= self.high:
            raise ValueError(f"{self.name}: {number} is outside {self.low}-{self.high}")
        return number

    def values(self, text: str) -> tuple[int, ...]:
        """Comma-separated items, each `*`, `n` or `a-b`, with an optional `/step`."""
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
                run = list(range(start, end + 1))
            elif self.wraps:
                run = list(range(start, self.high + 1)) + list(range(self.low, end + 1))
            else:
                raise ValueError(f"{self.name}: the range {base!r} runs backwards")
            out.update(run[::step])
        return tuple(sorted(out))


_MINUTE = _Field("minutes", 0, 59)
_HOUR = _Field("hours", 0, 23)
_DOM = _Field("day-of-month", 1, 31)
_MONTH = _Field("month", 1, 12, tuple(_MONTHS.items()))
_DOW = _Field("day-of-week", 1, 7, tuple(_DAYS.items()))
_YEAR = _Field("year", MIN_YEAR, MAX_YEAR, wraps=False)


def _parse_cron(text: str) -> Cron:
    m = _CRON.fullmatch(text)
    if not m:
        raise ValueError(f"invalid cron expression {text[:100]!r}")
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
            minutes=_MINUTE.values(minute),
            hours=_HOUR.values(hour),
            day_of_month=None if dom == "?" else _parse_dom(dom),
            months=_MONTH.values(month),
            day_of_week=None if dow == "?" else _parse_dow(dow),
            years=_YEAR.values(year),
        )
    except ValueError as exc:
        raise ValueError(f"invalid cron expression {text!r}: {exc}") from None


def _parse_dom(text: str) -> _DayOfMonth:
    upper = text.upper()
    if upper == "L":
        return _DayOfMonth(last=True)
    if upper == "LW":
        return _DayOfMonth(last_weekday=True)
    if upper.endswith("W"):
        return _DayOfMonth(nearest_weekday=_DOM.value(text[:-1]))
    if any(c in upper for c in "LW#?"):
        raise ValueError(f"day-of-month: {text!r} is not valid (L, LW and nW stand alone)")
    return _DayOfMonth(days=frozenset(_DOM.values(text)))


def _parse_dow(text: str) -> _DayOfWeek:
    upper = text.upper()
    if upper == "L":
        return _DayOfWeek(days=frozenset({7}))
    if "#" in upper:
        day, _, k = upper.partition("#")
        if not k.isdigit() or not 1 <= int(k) <= 5:
            raise ValueError(f"day-of-week: {text!r}: the number after # must be 1-5")
        return _DayOfWeek(nth=(_DOW.value(day), int(k)))
    if upper.endswith("L"):
        return _DayOfWeek(last_of_month=_DOW.value(upper[:-1]))
    return _DayOfWeek(days=frozenset(_DOW.values(text)))
