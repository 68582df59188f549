"""AWS schedule expressions (rate / cron / at) and when they next fire: local.ticker.next_fire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from local.ticker import Cron, Rate, next_fire, parse


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


# --------------------------------------------------------------------------- rate


@pytest.mark.parametrize(
    ("expression", "period"),
    [
        ("rate(1 minute)", timedelta(minutes=1)),
        ("rate(5 minutes)", timedelta(minutes=5)),
        ("rate(1 hour)", timedelta(hours=1)),
        ("rate(12 hours)", timedelta(hours=12)),
        ("rate(1 day)", timedelta(days=1)),
        ("rate(2 days)", timedelta(days=2)),
        ("  rate(10 minutes)  ", timedelta(minutes=10)),
    ],
)
def test_rate_fires_one_period_after(expression: str, period: timedelta) -> None:
    # Given a moment with seconds and microseconds
    after = utc(2024, 5, 17, 13, 45, 12, 500)
    # When the rate's next fire is asked / Then it is exactly one period later
    assert next_fire(expression, after) == after + period
    assert parse(expression) == Rate(period)


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minutes)",  # 1 takes the singular
        "rate(5 minute)",  # more than 1 takes the plural
        "rate(1 hours)",
        "rate(2 day)",
        "rate(0 minutes)",
        "rate(-1 minute)",
        "rate(1.5 hours)",
        "rate(5 seconds)",
        "rate(1 week)",
        "rate(5minutes)",
        "rate(5 MINUTES)",
        "rate()",
        "rate(5 minutes",
    ],
)
def test_invalid_rate_expressions_are_rejected(expression: str) -> None:
    # Given a malformed rate / When parsed / Then a ValueError names the problem
    with pytest.raises(ValueError, match="invalid rate expression"):
        next_fire(expression, utc(2024, 1, 1))


def test_singular_plural_error_message_says_which_form_is_expected() -> None:
    # Given a rate with the wrong unit form / When parsed / Then the message names the right form
    with pytest.raises(ValueError, match=r"singular unit \(minute\)"):
        parse("rate(1 minutes)")
    with pytest.raises(ValueError, match=r"plural unit \(hours\)"):
        parse("rate(3 hour)")


# --------------------------------------------------------------------------- cron


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        # every day at 10:00
        ("cron(0 10 * * ? *)", utc(2024, 3, 1, 9, 59, 59), utc(2024, 3, 1, 10, 0)),
        ("cron(0 10 * * ? *)", utc(2024, 3, 1, 10, 0), utc(2024, 3, 2, 10, 0)),  # strictly after
        ("cron(0 10 * * ? *)", utc(2024, 3, 1, 10, 0, 0, 1), utc(2024, 3, 2, 10, 0)),
        # every 15 minutes
        ("cron(0/15 * * * ? *)", utc(2024, 3, 1, 10, 7, 30), utc(2024, 3, 1, 10, 15)),
        ("cron(*/15 * * * ? *)", utc(2024, 3, 1, 10, 50), utc(2024, 3, 1, 11, 0)),
        ("cron(5/20 * * * ? *)", utc(2024, 3, 1, 10, 26), utc(2024, 3, 1, 10, 45)),
        # every minute
        ("cron(* * * * ? *)", utc(2024, 3, 1, 10, 7, 30), utc(2024, 3, 1, 10, 8)),
        # lists and ranges
        ("cron(0,30 8-9 * * ? *)", utc(2024, 3, 1, 8, 30), utc(2024, 3, 1, 9, 0)),
        ("cron(0,30 8-9 * * ? *)", utc(2024, 3, 1, 9, 30), utc(2024, 3, 2, 8, 0)),
        ("cron(0/5 8-17 ? * MON-FRI *)", utc(2024, 3, 1, 17, 56), utc(2024, 3, 4, 8, 0)),  # Fri -> Mon
        # weekdays at 18:00; 2024-03-02 is a Saturday
        ("cron(0 18 ? * MON-FRI *)", utc(2024, 3, 2, 0, 0), utc(2024, 3, 4, 18, 0)),
        ("cron(0 18 ? * 2-6 *)", utc(2024, 3, 2, 0, 0), utc(2024, 3, 4, 18, 0)),
        # day-of-week numbers: 1 = SUN, 7 = SAT
        ("cron(0 0 ? * 1 *)", utc(2024, 3, 1), utc(2024, 3, 3)),
        ("cron(0 0 ? * 7 *)", utc(2024, 3, 1), utc(2024, 3, 2)),
        ("cron(0 0 ? * SUN,WED *)", utc(2024, 3, 4), utc(2024, 3, 6)),
        ("cron(0 0 ? * sat *)", utc(2024, 3, 1), utc(2024, 3, 2)),  # names in any case
        # a range across the week's end: Friday to Monday
        ("cron(0 0 ? * FRI-MON *)", utc(2024, 3, 5), utc(2024, 3, 8)),
        ("cron(0 0 ? * FRI-MON *)", utc(2024, 3, 10, 12), utc(2024, 3, 11)),
        # a range across midnight
        ("cron(0 22-2 * * ? *)", utc(2024, 3, 1, 2, 0), utc(2024, 3, 1, 22, 0)),
        ("cron(0 22-2 * * ? *)", utc(2024, 3, 1, 23, 0), utc(2024, 3, 2, 0, 0)),
        # first of the month, month names, month rollover, year rollover
        ("cron(0 8 1 * ? *)", utc(2024, 1, 31, 9), utc(2024, 2, 1, 8, 0)),
        ("cron(0 12 1 JAN,JUL ? *)", utc(2024, 2, 1), utc(2024, 7, 1, 12, 0)),
        ("cron(0 12 1 JAN,JUL ? *)", utc(2024, 7, 1, 12, 0), utc(2025, 1, 1, 12, 0)),
        ("cron(59 23 31 12 ? *)", utc(2024, 12, 31, 23, 59), utc(2025, 12, 31, 23, 59)),
        ("cron(0 0 31 * ? *)", utc(2024, 4, 1), utc(2024, 5, 31)),  # April has no 31st
        # leap day
        ("cron(0 0 29 2 ? *)", utc(2023, 3, 1), utc(2024, 2, 29)),
        ("cron(0 0 29 FEB ? *)", utc(2024, 2, 29, 0, 0), utc(2028, 2, 29)),
        # L: last day of the month (leap and common February)
        ("cron(0 0 L * ? *)", utc(2024, 2, 3), utc(2024, 2, 29)),
        ("cron(0 0 L * ? *)", utc(2023, 2, 3), utc(2023, 2, 28)),
        ("cron(0 0 L * ? *)", utc(2024, 4, 30, 0, 0), utc(2024, 5, 31)),
        # L in day-of-week: Saturday; nL: the last such weekday of the month
        ("cron(0 0 ? * L *)", utc(2024, 3, 1), utc(2024, 3, 2)),
        ("cron(0 0 ? * 6L *)", utc(2024, 3, 1), utc(2024, 3, 29)),  # last Friday of March 2024
        ("cron(0 0 ? * 6L *)", utc(2024, 3, 29, 0, 0), utc(2024, 4, 26)),
        ("cron(0 0 ? * 2L *)", utc(2024, 9, 1), utc(2024, 9, 30)),  # last Monday is the 30th
        # W: nearest weekday within the month
        ("cron(0 0 15W * ? *)", utc(2024, 6, 1), utc(2024, 6, 14)),  # Sat 15th -> Fri 14th
        ("cron(0 0 16W * ? *)", utc(2024, 6, 1), utc(2024, 6, 17)),  # Sun 16th -> Mon 17th
        ("cron(0 0 3W * ? *)", utc(2024, 6, 1), utc(2024, 6, 3)),  # Monday stays
        ("cron(0 0 1W * ? *)", utc(2024, 5, 31), utc(2024, 6, 3)),  # Sat 1st -> Mon 3rd, not May 31st
        ("cron(0 0 30W * ? *)", utc(2024, 6, 1), utc(2024, 6, 28)),  # Sun 30th (last day) -> Fri 28th
        ("cron(0 0 31W * ? *)", utc(2024, 6, 1), utc(2024, 7, 31)),  # June has no 31st
        ("cron(0 0 LW * ? *)", utc(2024, 3, 1), utc(2024, 3, 29)),  # Sun 31st -> Fri 29th
        ("cron(0 0 LW * ? *)", utc(2024, 2, 1), utc(2024, 2, 29)),
        # #: the k-th weekday of the month
        ("cron(0 9 ? * 2#1 *)", utc(2024, 2, 28), utc(2024, 3, 4, 9, 0)),  # first Monday
        ("cron(0 9 ? * MON#1 *)", utc(2024, 2, 28), utc(2024, 3, 4, 9, 0)),
        ("cron(0 9 ? * 3#2 *)", utc(2024, 3, 1), utc(2024, 3, 12, 9, 0)),  # second Tuesday
        ("cron(0 9 ? * 2#1 *)", utc(2024, 10, 1), utc(2024, 10, 7, 9, 0)),  # first Monday on the 7th
        ("cron(0 9 ? * 2#2 *)", utc(2024, 10, 1), utc(2024, 10, 14, 9, 0)),
        ("cron(0 9 ? * 6#5 *)", utc(2024, 3, 1), utc(2024, 3, 29, 9, 0)),  # fifth Friday
        ("cron(0 9 ? * 6#5 *)", utc(2024, 4, 1), utc(2024, 5, 31, 9, 0)),  # April has no fifth Friday
        # years
        ("cron(0 0 1 1 ? 2030)", utc(2024, 6, 1), utc(2030, 1, 1)),
        ("cron(0 0 1 1 ? 2025-2026)", utc(2025, 1, 1, 0, 0), utc(2026, 1, 1)),
        # day-of-month 1-7 and ? in day-of-week
        ("cron(30 6 1-7 * ? *)", utc(2024, 3, 7, 6, 30), utc(2024, 4, 1, 6, 30)),
    ],
)
def test_cron_next_fire(expression: str, after: datetime, expected: datetime) -> None:
    # Given a cron expression and a moment / When its next fire is asked
    # Then it is the first matching minute strictly after that moment (UTC)
    assert next_fire(expression, after) == expected


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 0 1 1 ? 2020)",  # only in the past
        "cron(0 0 30 2 ? *)",  # never a February 30th
        "cron(0 0 31 4,6,9,11 ? *)",
    ],
)
def test_cron_that_never_fires_again_gives_none(expression: str) -> None:
    # Given a valid cron that matches no future minute / When its next fire is asked / Then there is none
    assert next_fire(expression, utc(2024, 1, 1)) is None


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("cron(0 10 * * *)", "expected 6 fields"),
        ("cron(0 10 * * ? * *)", "expected 6 fields"),
        ("cron()", "expected 6 fields"),
        ("cron(0 10 * * * *)", "exactly one of day-of-month and day-of-week"),  # neither is ?
        ("cron(0 10 ? * ? *)", "exactly one of day-of-month and day-of-week"),  # both are ?
        ("cron(0 10 1 * MON *)", "exactly one of day-of-month and day-of-week"),
        ("cron(60 10 * * ? *)", "outside 0-59"),
        ("cron(0 24 * * ? *)", "outside 0-23"),
        ("cron(0 0 0 * ? *)", "outside 1-31"),
        ("cron(0 0 32 * ? *)", "outside 1-31"),
        ("cron(0 0 1 13 ? *)", "outside 1-12"),
        ("cron(0 0 ? * 0 *)", "outside 1-7"),
        ("cron(0 0 ? * 8 *)", "outside 1-7"),
        ("cron(0 0 1 1 ? 1969)", "outside 1970-2199"),
        ("cron(0 0 1 1 ? 2200)", "outside 1970-2199"),
        ("cron(0 0 1 1 ? 2026-2025)", "runs backwards"),
        ("cron(0 0 ? * MOO *)", "not a valid value"),
        ("cron(0 0 1 JANUARY ? *)", "not a valid value"),
        ("cron(0 0 ? JAN MON-FUN *)", "not a valid value"),
        ("cron(0/0 * * * ? *)", "invalid step"),
        ("cron(0/x * * * ? *)", "invalid step"),
        ("cron(0,,5 * * * ? *)", "empty item"),
        ("cron(L * * * ? *)", "not a valid value"),  # L only in the day fields
        ("cron(0 0 ? * 2#6 *)", "must be 1-5"),
        ("cron(0 0 ? * 2#0 *)", "must be 1-5"),
        ("cron(0 0 ? * 9#1 *)", "outside 1-7"),
        ("cron(0 0 1,L * ? *)", "stand alone"),
        ("cron(0 0 32W * ? *)", "outside 1-31"),
        ("cron(0 0 ? * 1,L *)", "not a valid value"),
        ("cron(0 0 ? * 8L *)", "outside 1-7"),
        ("cron(0 0 1 ? ? *)", "not a valid value"),  # ? only in the day fields (and only one)
        ("cron(a b ? d e f)", "not a valid value"),
    ],
)
def test_invalid_cron_expressions_are_rejected(expression: str, message: str) -> None:
    # Given a malformed cron / When parsed / Then a ValueError says what is wrong
    with pytest.raises(ValueError, match="invalid cron expression") as info:
        parse(expression)
    assert message in str(info.value)


def test_cron_parse_expands_fields() -> None:
    # Given steps, ranges and names / When parsed / Then each field holds the values it stands for
    cron = parse("cron(0/20 9-11 ? JAN-MAR MON-FRI *)")
    assert isinstance(cron, Cron)
    assert cron.minutes == (0, 20, 40)
    assert cron.hours == (9, 10, 11)
    assert set(cron.months) == {1, 2, 3}
    assert cron.day_of_month is None
    assert cron.day_of_week is not None
    assert cron.day_of_week.days == frozenset({2, 3, 4, 5, 6})


# --------------------------------------------------------------------------- at


def test_at_fires_once_at_its_time() -> None:
    # Given a one-time schedule
    expression = "at(2024-02-29T12:30:00)"
    # When asked before and at/after its time / Then it fires at that time, and never again
    assert next_fire(expression, utc(2024, 2, 29, 12, 29, 59)) == utc(2024, 2, 29, 12, 30)
    assert next_fire(expression, utc(2024, 2, 29, 12, 30)) is None
    assert next_fire(expression, utc(2025, 1, 1)) is None


@pytest.mark.parametrize(
    "expression",
    [
        "at(2023-02-29T12:00:00)",  # not a leap year
        "at(2024-13-01T00:00:00)",
        "at(2024-01-01T24:00:00)",
        "at(2024-01-01 00:00:00)",
        "at(2024-01-01T00:00)",
        "at(2024-01-01T00:00:00Z)",
        "at()",
    ],
)
def test_invalid_at_expressions_are_rejected(expression: str) -> None:
    # Given a malformed or impossible date / When parsed / Then a ValueError names the problem
    with pytest.raises(ValueError, match="invalid at expression"):
        parse(expression)


# --------------------------------------------------------------------------- general


@pytest.mark.parametrize(
    "expression", ["", "every 5 minutes", "*/5 * * * *", "rate 5 minutes", "Rate(5 minutes)", "CRON(0 0 * * ? *)"]
)
def test_unknown_expression_kinds_are_rejected(expression: str) -> None:
    # Given something that is not rate(), cron() or at() / When parsed / Then it is refused
    with pytest.raises(ValueError, match="expected rate"):
        parse(expression)


def test_times_are_utc_whatever_the_input_zone() -> None:
    # Given a moment in UTC+2 and a naive moment (taken as UTC)
    plus_two = datetime(2024, 3, 1, 11, 30, tzinfo=timezone(timedelta(hours=2)))  # 09:30 UTC
    # When the next 10:00 is asked / Then it is 10:00 UTC the same day, in UTC
    result = next_fire("cron(0 10 * * ? *)", plus_two)
    assert result == utc(2024, 3, 1, 10, 0)
    assert result is not None and result.tzinfo == UTC
    assert next_fire("cron(0 10 * * ? *)", datetime(2024, 3, 1, 10, 30)) == utc(2024, 3, 2, 10, 0)
