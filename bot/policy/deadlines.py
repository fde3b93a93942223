"""Statutory deadlines of 吉人社规〔2024〕3号 (第十四条, 第十六条, 第十七条, 第二十七条).

The rules and day counts live in `config/policy/deadlines.yaml`; this module
only knows how to count. Working days come from `WorkCalendar` (调休
included); the rectification month follows Civil Code art. 202.
"""

from __future__ import annotations

import calendar as stdcalendar
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot.policy.calendar import WorkCalendar, get_calendar
from bot.policy.params import Policy, get_policy


class UnknownEvent(KeyError):
    """No deadline is defined for this event id."""


# The event ids of the contract's deadline table, in the order of the claim's life.
EVENTS: tuple[str, ...] = tuple(get_policy().deadlines)


@dataclass(frozen=True, slots=True)
class Deadline:
    event: str
    from_date: date
    deadline: date
    working_days: int | None
    article: str
    calendar_certain: bool
    name: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "from": self.from_date.isoformat(),
            "deadline": self.deadline.isoformat(),
            "working_days": self.working_days,
            "article": self.article,
            "calendar_certain": self.calendar_certain,
            "name": self.name,
        }


def add_months(d: date, months: int) -> date:
    """The corresponding day `months` later, or that month's last day (Civil Code art. 202)."""
    index = d.year * 12 + (d.month - 1) + months
    year, month = divmod(index, 12)
    last = stdcalendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(d.day, last))


def compute_deadline(
    event: str,
    from_date: date,
    *,
    policy: Policy | None = None,
    calendar: WorkCalendar | None = None,
) -> Deadline:
    """The last day for `event` counted from `from_date` (see the contract's deadline table).

    Raises UnknownEvent for an id not in config, ValueError/OverflowError when
    the count runs off the calendar (year 1 or 9999).
    """
    pol = policy or get_policy()
    rule = pol.deadlines.get(event)
    if rule is None:
        raise UnknownEvent(event)
    cal = calendar or get_calendar()
    working_days: int | None = rule.count
    if rule.rule == "working_days_after":
        deadline, certain = cal.add_working_days(from_date, rule.count)
    elif rule.rule == "working_days_before":
        deadline, certain = cal.add_working_days(from_date, -rule.count)
    elif rule.rule == "working_days_including":
        # `from_date` is the first day of the period when it is a working day:
        # count from the day before it.
        deadline, certain = cal.add_working_days(from_date - timedelta(days=1), rule.count)
    else:  # calendar_months: no working days involved, so nothing uncertain either.
        deadline, certain, working_days = add_months(from_date, rule.count), True, None
    return Deadline(event, from_date, deadline, working_days, rule.article, certain, rule.name)
