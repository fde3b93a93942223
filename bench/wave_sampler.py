"""The live wave's backlog samples: the send rate achieved while a channel had work waiting.

The progress lines of a long run come from here; the verdict on capacity is
bench/wave_losses.py's, from each row's due time and arrival.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from bench.wave_clock import LoopClock
from bench.wave_outcome import CHANNELS, RATE_TOLERANCE
from models import ChatUser, OutboxMessage
from models.db import Database

SAMPLE_SECONDS = 10.0  # virtual seconds between backlog samples (the rate check)
BACKLOG_LIMIT = 2000  # the samples count the backlog up to this (enough to tell "more than a sample's worth")
PROGRESS_SECONDS = 300.0  # virtual seconds between progress lines (a long run is never silent)


async def _backlog(db: Database, now: datetime) -> dict[str, int]:
    """Rows due or on the wire per channel, counted up to BACKLOG_LIMIT."""
    counts: dict[str, int] = {}
    async with db.session() as s:
        for channel in CHANNELS:
            inner = (
                select(OutboxMessage.id)
                .join(ChatUser, ChatUser.id == OutboxMessage.chat_user_id)
                .where(
                    ChatUser.channel == channel,
                    (OutboxMessage.status == "sending")
                    | ((OutboxMessage.status == "pending") & (OutboxMessage.due_at <= now)),
                )
                .limit(BACKLOG_LIMIT)
                .subquery()
            )
            counts[channel] = int(await s.scalar(select(func.count()).select_from(inner)) or 0)
    return counts


class Sampler:
    """Backlog and arrivals every SAMPLE_SECONDS: the send rate achieved while a channel had work waiting.

    Every PROGRESS_SECONDS of virtual time it also prints a progress line
    (virtual time, sent and backlog per channel, the rate check so far, wall
    time), so a run that stalls or falls behind says so while it runs.
    """

    def __init__(
        self, db: Database, clock: LoopClock, counts: dict[str, Any], rates: dict[str, float] | None = None
    ) -> None:
        self.db, self.clock, self.counts = db, clock, counts
        self.rates = rates or {}
        self.samples: list[tuple[float, dict[str, int], dict[str, int]]] = []
        self.wall0 = time.perf_counter()
        self.next_progress: float | None = None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            backlog = await _backlog(self.db, self.clock.now())
            self.samples.append((loop.time(), backlog, {ch: f() for ch, f in self.counts.items()}))
            self._progress(loop.time(), backlog)
            await asyncio.sleep(SAMPLE_SECONDS)

    def _progress(self, now: float, backlog: dict[str, int]) -> None:
        if self.next_progress is None or now - self.next_progress > PROGRESS_SECONDS * 3:
            self.next_progress = now + PROGRESS_SECONDS  # the first sample, or after a jump over idle time
            return
        if now < self.next_progress or not any(backlog.values()):
            return
        self.next_progress = now + PROGRESS_SECONDS
        parts = []
        for channel, count in self.counts.items():
            achieved, seconds = self.achieved(channel, self.rates.get(channel, 0.0))
            check = "-" if achieved is None else f"{achieved:.2f}/s over {seconds:,.0f} s"
            more = "+" if backlog.get(channel, 0) >= BACKLOG_LIMIT else ""
            parts.append(f"{channel} sent {count():,} backlog {backlog.get(channel, 0):,}{more} rate {check}")
        void = [
            ch
            for ch, rate in self.rates.items()
            if (a := self.achieved(ch, rate)[0]) is not None and a < rate * (1 - RATE_TOLERANCE)
        ]
        verdict = f"k-check FAILING on {', '.join(void)}" if void else "k-check ok so far"
        print(
            f"    .. {self.clock.now():%H:%M} virtual, {time.perf_counter() - self.wall0:,.0f} s wall: "
            + "; ".join(parts)
            + f"; {verdict}",
            flush=True,
        )

    def backlogged(self, channel: str, rate: float) -> list[tuple[float, float, int]]:
        """The sample intervals that began with more than an interval's work: (start, end, sends)."""
        spans = []
        for (t0, b0, a0), (t1, b1, a1) in zip(self.samples, self.samples[1:], strict=False):
            span = t1 - t0
            # A jump makes a long interval: never one with a backlog (the loop was idle).
            if span > SAMPLE_SECONDS * 3 or b0[channel] < rate * span or b1[channel] == 0:
                continue
            spans.append((t0, t1, a1[channel] - a0[channel]))
        return spans

    def achieved(self, channel: str, rate: float) -> tuple[float | None, float]:
        """Sends per virtual second over the intervals that began with more than an interval's work."""
        spans = self.backlogged(channel, rate)
        seconds = sum(t1 - t0 for t0, t1, _ in spans)
        sent = sum(n for _, _, n in spans)
        return (sent / seconds if seconds else None), seconds
