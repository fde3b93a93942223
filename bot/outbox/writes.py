"""Final results of sends, written in groups: one transaction and one UPDATE for many rows.

A row's final state (sent, skipped, failed, dead) used to take a transaction
of its own: a session, a fenced UPDATE built for one id, the transcript's
INSERT and a commit, per message. That was most of the dispatcher's CPU per
send. Here the results that come in within `LINGER_SECONDS` of each other are
written together: per kind of result one UPDATE fenced by `(id, lease_token)`
pairs (`RETURNING` says which landed; a row claimed by another holder since
matches nothing and its late result is discarded, as before), one INSERT of
the transcript lines and one bump per quota counter.

What this costs: a send's task ends when its result is written, so a chat's
next message and the run's end still wait for it (order and a clean stop are
as before); a SIGKILL loses the results of the last `LINGER_SECONDS`, whose
rows are sent again once their claims run out (at-least-once, as for the
sends on the wire).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox.claims import update_jobs
from bot.outbox.quotas import bump
from bot.outbox.senders import Job
from models import Message, OutboxMessage
from models.db import Database

LINGER_SECONDS = 0.1  # how long a result waits for others to share its transaction
MAX_GROUP = 200  # results written at once at most (bounds one statement's parameters)


@dataclass
class Final:
    """One row's final state, as `ResultHandling._finish` decided it."""

    job: Job
    status: str
    values: dict[str, Any]  # columns besides status, token and lock (delivery, last_error)
    attempt: bool  # counts as an attempt (attempts + 1)
    transcript: bool  # a transcript line goes with it (a sent non-reply)
    counter: str | None  # the daily quota counter it uses (WeChat's), if any
    done: asyncio.Future[bool] = field(default_factory=lambda: asyncio.get_running_loop().create_future())

    def group(self) -> tuple[Any, ...]:
        return (self.status, self.attempt, tuple(sorted(self.values.items())))


class ResultWriter:
    """One per channel run: collects final results and writes each group in one transaction."""

    def __init__(
        self, db: Database, channel: str, now: Callable[[], datetime], day: Callable[[datetime], date]
    ) -> None:
        self.db = db
        self.channel = channel
        self.now = now
        self.day = day
        self._waiting: list[Final] = []
        self._writing: asyncio.Task[None] | None = None
        self._full = asyncio.Event()

    async def write(self, final: Final) -> bool:
        """Whether the result landed (False: the row was claimed by another holder meanwhile)."""
        self._waiting.append(final)
        if len(self._waiting) >= MAX_GROUP:
            self._full.set()
        if self._writing is None or self._writing.done():
            self._writing = asyncio.get_running_loop().create_task(self._write_all())
        return await final.done

    async def _write_all(self) -> None:
        while self._waiting:
            if len(self._waiting) < MAX_GROUP:
                self._full.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), LINGER_SECONDS)
            finals, self._waiting = self._waiting[:MAX_GROUP], self._waiting[MAX_GROUP:]
            try:
                landed = await self._write(finals)
            except Exception as exc:  # each send's task sees the failure (its row stays claimed)
                for final in finals:
                    if not final.done.done():
                        final.done.set_exception(exc)
                continue
            for final in finals:
                if not final.done.done():
                    final.done.set_result(final.job.id in landed)

    async def _write(self, finals: list[Final]) -> set[int]:
        now = self.now()
        groups: dict[tuple[Any, ...], list[Final]] = {}
        for final in finals:
            groups.setdefault(final.group(), []).append(final)
        landed: set[int] = set()
        async with self.db.session() as db:
            for group in groups.values():
                landed |= await _update_group(db, group, now)
            mine = [f for f in finals if f.job.id in landed]
            lines = [
                {
                    "chat_user_id": f.job.chat_user_id,
                    "direction": "out",
                    "text": f.job.text,
                    "choices": list(f.job.choices),
                    "created_at": now,
                }
                for f in mine
                if f.transcript
            ]
            if lines:
                await db.execute(insert(Message), lines)
            counts: dict[str, int] = {}
            for f in mine:
                if f.counter is not None:
                    counts[f.counter] = counts.get(f.counter, 0) + 1
            for counter, n in counts.items():
                await bump(db, self.channel, self.day(now), counter, by=n)
        return landed


async def _update_group(db: AsyncSession, group: list[Final], now: datetime) -> set[int]:
    """One fenced UPDATE for results of one kind: a row lands only under the token it was claimed with."""
    first = group[0]
    values: dict[str, Any] = {
        "status": first.status,
        "locked_until": None,
        "lease_token": None,
        **first.values,
    }
    if first.attempt:
        values["attempts"] = OutboxMessage.attempts + 1  # the row's own count: it is ours while fenced
    if first.status == "sent":
        values["sent_at"] = now
    result = await db.execute(update_jobs([f.job for f in group], **values).returning(OutboxMessage.id))
    return set(result.scalars())
