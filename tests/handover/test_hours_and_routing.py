"""Working hours on the PRC calendar (调休 included) and reading the place a user names."""

from __future__ import annotations

from datetime import datetime

from bot.clock import LOCAL_TZ
from bot.handover.config import load_config
from bot.handover.hours import Hours
from bot.handover.routing import RegionNames


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=LOCAL_TZ)  # type: ignore[misc]


HOURS = Hours(load_config().working_hours, LOCAL_TZ)


def test_open_on_working_days_only_including_a_tiaoxiu_saturday() -> None:
    assert HOURS.is_open(at(2026, 11, 23, 9, 0))  # a Monday
    assert not HOURS.is_open(at(2026, 11, 23, 8, 29))
    assert not HOURS.is_open(at(2026, 11, 23, 17, 0))
    assert not HOURS.is_open(at(2026, 11, 28, 10, 0))  # an ordinary Saturday
    assert HOURS.is_open(at(2026, 10, 10, 10, 0))  # Saturday worked after National Day (调休)
    assert not HOURS.is_open(at(2026, 10, 1, 10, 0))  # National Day


def test_next_open_skips_the_national_day_holiday() -> None:
    assert HOURS.next_open(at(2026, 9, 30, 18, 0)) == at(2026, 10, 8, 8, 30)
    assert HOURS.next_open(at(2026, 11, 23, 7, 0)) == at(2026, 11, 23, 8, 30)
    moment = at(2026, 11, 23, 10, 15)
    assert HOURS.next_open(moment) == moment


def test_working_minutes_count_only_office_time() -> None:
    assert HOURS.working_minutes(at(2026, 11, 23, 9, 0), at(2026, 11, 23, 10, 0)) == 60
    # Friday 16:30 to Monday 9:00: 30 minutes on Friday, 30 on Monday.
    assert HOURS.working_minutes(at(2026, 11, 27, 16, 30), at(2026, 11, 30, 9, 0)) == 60
    # Across the holiday (10.1–10.7): 9.30 evening to 10.8 at 9:00 is half an hour.
    assert HOURS.working_minutes(at(2026, 9, 30, 18, 0), at(2026, 10, 8, 9, 0)) == 30
    assert HOURS.working_minutes(at(2026, 11, 23, 10, 0), at(2026, 11, 23, 9, 0)) == 0


def test_the_most_specific_place_named_wins() -> None:
    names = RegionNames()
    assert names.find("我在长春市南关区") == "220102"
    assert names.find("二道江区的") == "220503"
    assert names.find("长春二道区") == "220105"
    assert names.find("吉林市") == "220200"
    assert names.find("我是延边的") == "222400"
    assert names.find("前郭") == "220721"
    assert names.find("不知道") is None
    assert names.find("") is None
