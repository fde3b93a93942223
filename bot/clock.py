"""The one source of "now".

Reminders, deadlines and check-in windows all depend on the time; tests swap
in a `FrozenClock` instead of patching datetime.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from bot.settings import Settings

LOCAL_TZ = ZoneInfo("Asia/Shanghai")


class Clock:
    def __init__(self, tz: ZoneInfo = LOCAL_TZ) -> None:
        self.tz = tz

    def now(self) -> datetime:
        """Aware local time (Asia/Shanghai by default)."""
        return datetime.now(UTC).astimezone(self.tz)

    def today(self) -> date:
        return self.now().date()


class FrozenClock(Clock):
    """A clock that moves only when told to."""

    def __init__(self, at: datetime, tz: ZoneInfo = LOCAL_TZ) -> None:
        super().__init__(tz)
        if at.tzinfo is None:
            at = at.replace(tzinfo=tz)
        self._now = at

    def now(self) -> datetime:
        return self._now.astimezone(self.tz)

    def set(self, at: datetime) -> None:
        self._now = at if at.tzinfo else at.replace(tzinfo=self.tz)

    def advance(self, delta: timedelta) -> None:
        self._now += delta


class ShiftedClock(Clock):
    """Real time moved to start at a chosen moment (`BOT_NOW`): it keeps ticking from there.

    For demos and staging: reminders, check-in windows and deadlines behave as
    they would at that time of day, without freezing the process.
    """

    def __init__(self, start: datetime, tz: ZoneInfo = LOCAL_TZ) -> None:
        super().__init__(tz)
        self.start = start if start.tzinfo else start.replace(tzinfo=tz)
        self._origin = time.monotonic()

    def now(self) -> datetime:
        return (self.start + timedelta(seconds=time.monotonic() - self._origin)).astimezone(self.tz)


def parse_bot_now(value: str, tz: ZoneInfo) -> datetime:
    """`BOT_NOW`: an ISO date-time (local time unless it has an offset), or a date (09:00 that day)."""
    text = value.strip()
    try:
        at = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"BOT_NOW must look like 2026-11-23T09:00 (got {value!r})") from exc
    if len(text) == 10:  # a date alone: a class morning
        at = at.replace(hour=9)
    return at if at.tzinfo else at.replace(tzinfo=tz)


def make_clock(settings: Settings) -> Clock:
    """The process clock: real time, or shifted to `BOT_NOW` where the settings allow it."""
    if settings.bot_now:
        return ShiftedClock(parse_bot_now(settings.bot_now, settings.tz), settings.tz)
    return Clock(settings.tz)
