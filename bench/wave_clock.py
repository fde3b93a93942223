"""A fast clock for running the real service: an event loop whose time runs k times real time.

The service reads time in two ways: `services.clock.now()` (datetimes: due
times, deadlines, leases, quotas) and the event loop's monotonic time (the
dispatcher's pacing, heartbeats, sleeps, HTTP timeouts). Both must run at the
same speed, and so must the fakes' rate limits, or "30 messages a second"
would mean different things to the bot and to the platform. So the one
source is the loop: `ScaledLoop.time()` is k x real time (its selector sleeps
1/k of what the loop asks), and `LoopClock` derives "now" from it.

A loop that waits for nothing (no row due for hours) may `jump` its time
forward: the night between the evening run and the morning wave costs no
wall time, while every second of sending is lived at k x real time, so
the machine must keep up (the bench checks that it did).
"""

from __future__ import annotations

import asyncio
import selectors
import time
from datetime import datetime, timedelta
from typing import Any

from bot.clock import LOCAL_TZ, Clock


class _ScaledSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    """Sleeps 1/k of the (virtual) timeout the loop asks for."""

    def __init__(self, speed: float) -> None:
        super().__init__()
        self.speed = speed

    def select(self, timeout: float | None = None) -> Any:
        if timeout is not None and timeout > 0:
            timeout = timeout / self.speed
        return super().select(timeout)


class ScaledLoop(asyncio.SelectorEventLoop):
    """An asyncio loop whose `time()` runs `speed` times faster than real time, and can jump."""

    def __init__(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._real0 = time.monotonic()
        self._offset = 0.0
        self.jumped = 0.0  # virtual seconds skipped by `jump` (idle time not lived)
        super().__init__(selector=_ScaledSelector(speed))

    def time(self) -> float:
        return self._offset + (time.monotonic() - self._real0) * self.speed

    def jump(self, seconds: float) -> None:
        """Move time forward at once (only while nothing is in progress: timers due meanwhile fire now)."""
        if seconds > 0:
            self._offset += seconds
            self.jumped += seconds


class LoopClock(Clock):
    """The service's clock on the loop's time: `start` at the moment it was made."""

    def __init__(self, start: datetime, loop: asyncio.AbstractEventLoop, tz: Any = LOCAL_TZ) -> None:
        super().__init__(tz)
        self.start = start if start.tzinfo else start.replace(tzinfo=tz)
        self.loop = loop
        self.origin = loop.time()

    def now(self) -> datetime:
        return (self.start + timedelta(seconds=self.loop.time() - self.origin)).astimezone(self.tz)

    def at(self, moment: datetime) -> float:
        """The loop time of a moment (for the fakes' arrival records)."""
        return self.origin + (moment - self.start).total_seconds()

    async def jump_to(self, moment: datetime) -> None:
        """Skip idle time up to `moment` (nothing happens in between: the caller checked)."""
        ahead = (moment - self.now()).total_seconds()
        if ahead > 0 and isinstance(self.loop, ScaledLoop):
            self.loop.jump(ahead)
        await asyncio.sleep(0)


def run(coro: Any, speed: float) -> Any:
    """Run `coro` to completion on a fresh `ScaledLoop`."""
    with asyncio.Runner(loop_factory=lambda: ScaledLoop(speed)) as runner:
        return runner.run(coro)
