"""Working hours of the offices that answer 转人工, on the PRC working-day calendar.

The same hours decide what the bot promises ("预计 N 分钟内回复" or "下班时间")
and when the hand-back clock runs: a request held on Friday evening is not
given back to the bot over the weekend, because nobody was expected to answer.
Working days come from `bot.policy.calendar` so a 调休 Saturday counts.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from bot.handover.config import WorkingHours
from bot.policy.calendar import WorkCalendar, get_calendar

# A hand-back clock never needs to look further than this many days ahead or back.
MAX_SCAN_DAYS = 60


class Hours:
    def __init__(self, hours: WorkingHours, tz: Any, calendar: WorkCalendar | None = None) -> None:
        self.hours = hours
        self.tz = tz
        self.calendar = calendar or get_calendar()

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        if not self.calendar.is_working_day(day):
            return None
        start = datetime.combine(day, self.hours.start, self.tz)
        end = datetime.combine(day, self.hours.end, self.tz)
        return start, end

    def is_open(self, moment: datetime) -> bool:
        window = self._window(moment.astimezone(self.tz).date())
        return window is not None and window[0] <= moment < window[1]

    def next_open(self, moment: datetime) -> datetime:
        """`moment` itself during working hours, else when the next working period starts."""
        local = moment.astimezone(self.tz)
        for offset in range(MAX_SCAN_DAYS):
            window = self._window(local.date() + timedelta(days=offset))
            if window is None:
                continue
            start, end = window
            if local < end:
                return max(start, local)
        return local

    def working_minutes(self, since: datetime, until: datetime) -> float:
        """Minutes of working time between two moments (0 when `until` is not later)."""
        if until <= since:
            return 0.0
        first = since.astimezone(self.tz).date()
        last = until.astimezone(self.tz).date()
        total = 0.0
        day = first
        scanned = 0
        while day <= last and scanned < MAX_SCAN_DAYS:
            window = self._window(day)
            if window is not None:
                start, end = max(window[0], since), min(window[1], until)
                if end > start:
                    total += (end - start).total_seconds() / 60
            day += timedelta(days=1)
            scanned += 1
        return total
