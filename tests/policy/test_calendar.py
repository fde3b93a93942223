"""Working days: the official arrangement, the override file, and the weekends-only fallback."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.policy.calendar import CALENDAR_DIR, CalendarError, WorkCalendar, get_calendar, load_calendar


def test_official_arrangement_with_make_up_days() -> None:
    cal = get_calendar()
    assert not cal.is_working_day(date(2026, 2, 17))  # 春节
    assert cal.is_working_day(date(2026, 2, 14))  # Saturday worked for 春节
    assert cal.is_working_day(date(2026, 2, 28))
    assert not cal.is_working_day(date(2025, 10, 8))  # 国庆中秋
    assert cal.is_working_day(date(2025, 9, 28))  # Sunday worked
    assert not cal.is_working_day(date(2025, 5, 5))  # 劳动节
    assert cal.is_working_day(date(2025, 4, 27))
    assert cal.is_working_day(date(2026, 11, 23)) and not cal.is_working_day(date(2026, 11, 22))


def test_known_years_are_certain_and_2027_is_not() -> None:
    cal = get_calendar()
    assert cal.is_certain(2025) and cal.is_certain(2026)
    assert not cal.is_certain(2027)
    # Weekends only: 2027-01-01 is a Friday and counts as a working day until the notice is out.
    assert cal.is_working_day(date(2027, 1, 1)) and not cal.is_working_day(date(2027, 1, 2))


def test_start_day_is_not_counted() -> None:
    cal = get_calendar()
    assert cal.add_working_days(date(2026, 11, 23), 1) == (date(2026, 11, 24), True)
    assert cal.add_working_days(date(2026, 11, 23), -1) == (date(2026, 11, 20), True)
    with pytest.raises(ValueError):
        cal.add_working_days(date(2026, 11, 23), 0)


def test_working_days_between() -> None:
    cal = get_calendar()
    assert cal.working_days_between(date(2026, 2, 10), date(2026, 3, 2)) == (10, True)
    assert cal.working_days_between(date(2026, 3, 2), date(2026, 2, 10)) == (-10, True)
    assert cal.working_days_between(date(2026, 3, 2), date(2026, 3, 2)) == (0, True)
    # Across the year end into the unknown 2027.
    assert cal.working_days_between(date(2026, 12, 25), date(2027, 1, 8)) == (10, False)
    # 2025: 261 weekdays - 18 weekday holidays + 5 make-up days = 248 (1 January is a holiday anyway).
    assert cal.working_days_between(date(2024, 12, 31), date(2025, 12, 31)) == (248, True)


def test_missing_years_warns_for_next_year(caplog: pytest.LogCaptureFixture) -> None:
    cal = get_calendar()
    assert cal.missing_years(date(2026, 11, 21)) == [2027]
    assert cal.missing_years(date(2025, 6, 1)) == []
    with caplog.at_level("WARNING"):
        assert cal.warn_missing(date(2026, 11, 21)) == [2027]
    assert "2027" in caplog.text


def test_shipped_override_file_invents_nothing() -> None:
    cal = load_calendar(CALENDAR_DIR)
    assert not cal.is_certain(2027)


OVERRIDE = """
warn_years_ahead: 1
years:
  2031:
    source: test notice (not an official arrangement)
    holidays:
      - 2031-01-01
      - {from: 2031-01-22, to: 2031-01-28}
    workdays:
      - 2031-01-19
"""


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "holidays.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_override_file_adds_a_year(tmp_path: Path) -> None:
    cal = load_calendar(_write(tmp_path, OVERRIDE))
    assert cal.is_certain(2031)
    assert not cal.is_working_day(date(2031, 1, 1))  # Wednesday off
    assert not cal.is_working_day(date(2031, 1, 24))  # inside the range
    assert cal.is_working_day(date(2031, 1, 19))  # Sunday worked
    # 2031-01-20 Mon(1) 21 Tue(2), 22..28 off, 29 Wed(3) 30(4) 31(5)
    assert cal.add_working_days(date(2031, 1, 19), 5) == (date(2031, 1, 31), True)
    assert cal.missing_years(date(2030, 12, 1)) == [2030]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("years: {2031: {source: x, holidays: [2030-12-31]}}", "outside the year"),
        ("years: {2031: {source: x, holidays: [2031-01-04], workdays: [2031-01-04]}}", "both"),
        ("years: {2031: {source: x, workdays: [2031-01-06]}}", "weekend"),
        ("years: {2031: {holidays: [2031-01-01]}}", "source"),
        ("years: {2031: {source: x, holidays: [{from: 2031-02-05, to: 2031-02-01}]}}", "range"),
        ("years: [", ""),
    ],
)
def test_bad_override_files_stop_the_service(tmp_path: Path, text: str, words: str) -> None:
    with pytest.raises(CalendarError) as info:
        load_calendar(_write(tmp_path, text))
    assert words in str(info.value)


def test_lookups_are_cached_per_year() -> None:
    cal = WorkCalendar()
    cal.is_working_day(date(2026, 5, 1))
    table = cal._tables[2026]
    cal.add_working_days(date(2026, 5, 1), 30)
    assert cal._tables[2026] is table
