"""The one source of "now".

Reminders, deadlines and check-in windows all depend on the time; tests swap
in a `FrozenClock` instead of patching datetime.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

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
