"""Sessions from a weekly pattern over the 2026 calendar: holidays skipped, 调休 days worked."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

import pytest
from pydantic import ValidationError

from bot.attendance.schedule import ExplicitSession, WeeklyPattern, explicit_sessions, sessions_from_pattern


def days(weekdays: tuple[int, ...], start: date, end: date, **kw: object) -> list[date]:
    pattern = WeeklyPattern(weekdays=weekdays, start=time(8, 30), end=time(11, 30), **kw)  # type: ignore[arg-type]
    return [s.session_date for s in sessions_from_pattern(pattern, start, end).sessions]


def test_every_working_day_class_over_national_day_2026() -> None:
    got = days((0, 1, 2, 3, 4), date(2026, 9, 21), date(2026, 10, 16))
    # 中秋 (Fri 25 Sep) and 国庆 (1–7 Oct) are off; Sat 10 Oct is a make-up working day.
    assert date(2026, 9, 25) not in got
    assert not [d for d in got if date(2026, 10, 1) <= d <= date(2026, 10, 7)]
    assert date(2026, 10, 10) in got
    assert len(got) == 4 + 3 + 2 + 1 + 5  # 21–24 Sep, 28–30 Sep, 8–9 Oct, 10 Oct, 12–16 Oct


def test_spring_festival_2026_with_both_make_up_saturdays() -> None:
    got = days((0, 1, 2, 3, 4), date(2026, 2, 9), date(2026, 3, 6))
    assert date(2026, 2, 14) in got and date(2026, 2, 28) in got  # 调休上班
    assert not [d for d in got if date(2026, 2, 15) <= d <= date(2026, 2, 23)]
    assert len(got) == 5 + 1 + 4 + 1 + 5


def test_three_days_a_week_class_gets_no_make_up_day() -> None:
    got = days((0, 2, 4), date(2026, 9, 28), date(2026, 10, 16))
    assert date(2026, 10, 10) not in got  # which weekday a make-up Saturday replaces is not known
    assert date(2026, 10, 2) not in got and date(2026, 10, 5) not in got
    assert date(2026, 10, 9) in got


def test_weekend_class_keeps_saturdays_except_in_holidays() -> None:
    got = days((1, 3, 5), date(2026, 9, 19), date(2026, 10, 17))
    assert date(2026, 9, 19) in got  # an ordinary Saturday: a deliberate weekend class
    assert date(2026, 9, 26) not in got  # Sat inside the 中秋 holiday (25–27 Sep)
    assert date(2026, 10, 3) not in got  # Sat inside 国庆
    assert date(2026, 10, 10) in got and date(2026, 10, 17) in got
    assert date(2026, 10, 1) not in got  # a Thursday of 国庆


def test_class_that_includes_non_working_days() -> None:
    got = days((0, 1, 2, 3, 4), date(2026, 9, 28), date(2026, 10, 9), include_non_working_days=True)
    assert got == [
        date(2026, 9, 28),
        date(2026, 9, 29),
        date(2026, 9, 30),
        date(2026, 10, 1),
        date(2026, 10, 2),
        date(2026, 10, 5),
        date(2026, 10, 6),
        date(2026, 10, 7),
        date(2026, 10, 8),
        date(2026, 10, 9),
    ]


def test_a_year_without_official_arrangement_is_flagged() -> None:
    pattern = WeeklyPattern(weekdays=(0, 1, 2, 3, 4), start=time(9), end=time(12))
    plan = sessions_from_pattern(pattern, date(2026, 12, 21), date(2027, 1, 8))
    assert plan.calendar_certain is False
    certain = sessions_from_pattern(pattern, date(2026, 11, 2), date(2026, 11, 27))
    assert certain.calendar_certain is True and len(certain.sessions) == 20


def test_hours_and_times() -> None:
    pattern = WeeklyPattern(weekdays=(2,), start=time(13, 30), end=time(16, 0))
    plan = sessions_from_pattern(pattern, date(2026, 11, 23), date(2026, 11, 29))
    (s,) = plan.sessions
    assert s.hours == Decimal("2.50") and s.starts_at.isoformat() == "2026-11-25T13:30:00+08:00"
    credited = WeeklyPattern(weekdays=(2,), start=time(13, 30), end=time(16, 0), hours=Decimal(3))
    assert sessions_from_pattern(credited, date(2026, 11, 23), date(2026, 11, 29)).total_hours == 3


def test_bad_patterns_and_explicit_sessions() -> None:
    with pytest.raises(ValidationError):
        WeeklyPattern(weekdays=(7,), start=time(9), end=time(12))
    with pytest.raises(ValidationError):
        WeeklyPattern(weekdays=(1,), start=time(12), end=time(9))
    items = [
        ExplicitSession(date=date(2026, 11, 24), start=time(13), end=time(15)),
        ExplicitSession(date=date(2026, 11, 24), start=time(8, 30), end=time(11, 30), topic="安全用电"),
    ]
    plan = explicit_sessions(items)
    assert [s.hours for s in plan.sessions] == [Decimal("3.00"), Decimal("2.00")]
    with pytest.raises(ValueError, match="overlap"):
        explicit_sessions([*items, ExplicitSession(date=date(2026, 11, 24), start=time(14), end=time(16))])
