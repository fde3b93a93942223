"""Pace of one channel: an overall rate and a minimum spacing per chat, in monotonic time.

The dispatcher asks when a chat may next be sent to and records each send;
a 429 or a quota error pauses the whole channel (and the 429's chat longer). Only the process
holding the channel's lease sends, so this in-memory state is the global pace.
"""

from __future__ import annotations

import time
from collections.abc import Callable

# How much lateness (in overall intervals) a send may make up for: enough for timer jitter,
# too little for a burst (at most a quarter of a message more in any second).
LATE_CREDIT = 0.25


class Pacer:
    def __init__(
        self, rate_per_second: float, per_chat_interval: float, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.interval = 1.0 / rate_per_second
        self.per_chat = per_chat_interval
        self.now = now
        self._next_global = 0.0
        self._next_chat: dict[str, float] = {}
        self._paused_until = 0.0

    def chat_ready_at(self, chat: str) -> float:
        return self._next_chat.get(chat, 0.0)

    def ready_at(self, chat: str) -> float:
        """The earliest moment a message to `chat` respects both limits."""
        return max(self._next_global, self.chat_ready_at(chat))

    def take(self, chat: str, scheduled: float | None = None) -> None:
        """Record a send that starts now, meant for the slot `scheduled`.

        A send that starts a little late (timer granularity, a busy loop) keeps
        the overall pace by counting from its slot; after a long stall the pace
        restarts from now, so the backlog is never sent in a burst. The spacing
        per chat always counts from the actual start.
        """
        now = self.now()
        anchor = now if scheduled is None else max(scheduled, now - self.interval * LATE_CREDIT)
        self._next_global = max(self._next_global, anchor + self.interval)
        self._next_chat[chat] = max(self._next_chat.get(chat, 0.0), now + self.per_chat)
        if len(self._next_chat) > 50_000:
            self._forget(now)

    def pause_chat(self, chat: str, seconds: float) -> None:
        self._next_chat[chat] = max(self.chat_ready_at(chat), self.now() + seconds)

    def pause_all(self, seconds: float) -> None:
        """A flood limit or a quota: no send starts on the channel for `seconds`."""
        until = self.now() + seconds
        self._next_global = max(self._next_global, until)
        self._paused_until = max(self._paused_until, until)

    def paused_for(self) -> float:
        """Seconds left of a pause (0 when none): a send that was waiting must not start inside it."""
        return max(0.0, self._paused_until - self.now())

    def _forget(self, now: float) -> None:
        self._next_chat = {c: t for c, t in self._next_chat.items() if t > now}
