"""Statutory deadlines across 春节, 劳动节, 国庆 and a year the calendar does not know."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from bot.policy.deadlines import EVENTS, UnknownEvent, add_months, compute_deadline

from .conftest import load_cases

CASES = load_cases("deadlines.yaml")["cases"]


@pytest.mark.parametrize("case", CASES, ids=[f"{c['event']}-{c['from']}" for c in CASES])
def test_deadline(case: dict[str, Any]) -> None:
    result = compute_deadline(case["event"], case["from"])
    assert result.deadline == case["deadline"], case.get("days")
    assert result.working_days == case["working_days"]
    assert result.article == case["article"]
    assert result.calendar_certain is case["certain"]
    body = result.to_dict()
    assert body["from"] == case["from"].isoformat() and body["deadline"] == case["deadline"].isoformat()


def test_the_contract_events_are_all_there() -> None:
    assert set(EVENTS) == {
        "class_application",
        "class_review",
        "claim_submission",
        "claim_review",
        "publicity_start",
        "publicity_end",
        "payment",
        "rectification",
    }


def test_unknown_event() -> None:
    with pytest.raises(UnknownEvent):
        compute_deadline("tax_return", date(2026, 1, 5))


def test_deadlines_never_land_on_a_day_off() -> None:
    from bot.policy import get_calendar

    cal = get_calendar()
    day = date(2025, 1, 1)
    while day.year < 2027:
        for event in EVENTS:
            if event == "rectification":
                continue
            assert cal.is_working_day(compute_deadline(event, day).deadline), (event, day)
        day = date.fromordinal(day.toordinal() + 3)


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 1, 30), 1, date(2024, 2, 29)),
        (date(2025, 5, 31), 1, date(2025, 6, 30)),
        (date(2025, 12, 31), 1, date(2026, 1, 31)),
        (date(2025, 8, 15), 1, date(2025, 9, 15)),
        (date(2025, 11, 30), 3, date(2026, 2, 28)),
    ],
)
def test_month_period_ends_on_the_corresponding_day(start: date, months: int, end: date) -> None:
    assert add_months(start, months) == end
