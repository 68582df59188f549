"""Monitors' schedule expressions (evalgate.schedules): the one parser of AWS rate/cron expressions (the local
runtime's ticker uses it too; tests/unit/test_schedule_expressions.py checks its due times)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from evalgate import schedules
from local import ticker


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


VALID = [
    "rate(1 minute)",
    "rate(5 minutes)",
    "rate(1 hour)",
    "rate(12 hours)",
    "rate(1 day)",
    "rate(7 days)",
    "  rate(10 minutes)  ",
    "cron(0 9 ? * MON-FRI *)",
    "cron(*/15 * * * ? *)",
    "cron(0 0 L * ? *)",
    "cron(0 12 LW * ? *)",
    "cron(30 6 15W * ? *)",
    "cron(0 18 ? * 6L *)",
    "cron(0 10 ? * 2#3 *)",
    "cron(0 0 ? * L *)",
    "cron(5,35 22-2 * * ? *)",
    "cron(0 8 ? * FRI-MON *)",
    "cron(0 0 1 JAN,JUL ? *)",
    "cron(0 0 29 2 ? *)",
    "cron(15 10 ? * 6L 2022-2030)",
    "cron(0/20 8-17 ? * MON-FRI *)",
    "cron(0 0 31 * ? *)",
    "cron(59 23 1W * ? *)",
    "cron(0 0 30W * ? *)",
]

INVALID = [
    "rate(1 minutes)",
    "rate(5 minute)",
    "rate(0 minutes)",
    "rate(1.5 hours)",
    "rate(5 seconds)",
    "rate(1 week)",
    "rate(5 MINUTES)",
    "rate()",
    "cron(0 9 * * MON *)",
    "cron(0 9 ? * ? *)",
    "cron(0 9 * *)",
    "cron(60 9 * * ? *)",
    "cron(0 24 * * ? *)",
    "cron(0 0 32 * ? *)",
    "cron(0 0 ? * 8 *)",
    "cron(0 0 ? * MON#6 *)",
    "cron(0 0 1 13 ? *)",
    "cron(0 0 1 * ? 2030-2020)",
    "cron(0 0 1 * ? 1969)",
    "cron(0 0 1L * ? *)",
    "cron(0 0 1,,2 * ? *)",
    "cron(0 0 1/0 * ? *)",
    "cron(a 0 1 * ? *)",
    "every day",
    "",
]


@pytest.mark.parametrize("expression", INVALID)
def test_invalid_expressions_are_refused(expression: str) -> None:
    with pytest.raises(ValueError, match=r"\S"):
        schedules.parse(expression)


def test_messages_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match=r"a value of 1 takes the singular unit \(minute\)"):
        schedules.parse("rate(1 minutes)")
    with pytest.raises(ValueError, match="exactly one of day-of-month and day-of-week must be '\\?'"):
        schedules.parse("cron(0 9 * * MON *)")
    with pytest.raises(ValueError, match="expected 6 fields"):
        schedules.parse("cron(0 9 * *)")
    with pytest.raises(ValueError, match="hours: 24 is outside 0-23"):
        schedules.parse("cron(0 24 * * ? *)")


def test_one_time_expressions_are_not_monitor_schedules() -> None:
    ticker.parse("at(2030-01-01T00:00:00)")  # valid for EventBridge …
    with pytest.raises(ValueError, match="a monitor recurs"):  # … but a monitor recurs
        schedules.parse("at(2030-01-01T00:00:00)")


def test_first_run_and_schedules_that_end() -> None:
    now = utc(2025, 3, 10, 8, 15, 42)
    assert schedules.first_run("rate(6 hours)", now) == now + timedelta(hours=6)
    assert schedules.first_run("cron(0 9 ? * MON-FRI *)", now) == utc(2025, 3, 10, 9, 0)
    assert schedules.first_run("cron(0 9 ? * MON-FRI *)", utc(2025, 3, 14, 9, 0)) == utc(2025, 3, 17, 9, 0)
    with pytest.raises(ValueError, match="never fires after 2025-03-10 08:15 UTC"):
        schedules.first_run("cron(0 0 1 1 ? 2024)", now)
    with pytest.raises(ValueError, match="never fires"):
        schedules.first_run("cron(0 0 30 2 ? *)", now)  # February 30th
    last = utc(2030, 1, 1, 6, 30)
    assert schedules.following("cron(30 6 1 1 ? 2030)", last, last + timedelta(minutes=1)) is None


def test_rates_keep_their_cadence_and_skip_missed_periods() -> None:
    due = utc(2025, 1, 1, 12, 0)
    rate = schedules.parse("rate(1 hour)")
    assert rate.following(due, due + timedelta(seconds=5)) == due + timedelta(hours=1)
    assert rate.following(due, due + timedelta(hours=5, minutes=10)) == due + timedelta(hours=6)


def test_times_are_utc_whatever_the_input_zone() -> None:
    paris = timezone(timedelta(hours=1))
    local = datetime(2025, 3, 10, 9, 30, tzinfo=paris)  # 08:30 UTC
    assert schedules.first_run("cron(0 9 * * ? *)", local) == utc(2025, 3, 10, 9, 0)
    assert schedules.first_run("cron(0 9 * * ? *)", datetime(2025, 3, 10, 8, 30)) == utc(2025, 3, 10, 9, 0)


def test_huge_rates_are_refused_not_overflowed() -> None:
    with pytest.raises(ValueError, match="too large"):
        schedules.parse("rate(99999999999 days)")


@pytest.mark.parametrize("expression", VALID)
def test_valid_expressions_parse_and_fire_again(expression: str) -> None:
    after = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
    nxt = schedules.first_run(expression, after)
    assert nxt > after
    assert (schedules.following(expression, nxt, nxt) or nxt + timedelta(days=1)) > nxt
