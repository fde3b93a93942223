"""Bind attempts limited per target and per source, counted in the database.

The per-chat-account lock (`ChatUser.bind_failures`) alone does not stop a
guesser: a web `user_id` is whatever the caller sends, so each guess can come
from a "new" account. Two more counters close that: one per *target* (the
trainee record, or the ID number's hash when it matches no record), so a
record cannot be guessed at from any number of accounts; one per *source*
(the client address for the web channel, the chat account otherwise). The
rows are shared by every process and survive a restart.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import BindThrottle, ChatUser

# Set by a channel that knows better than the chat account where a message came from
# (the web chat API: the client address). Read by the binding service in the same task.
BIND_SOURCE: contextvars.ContextVar[str | None] = contextvars.ContextVar("bind_source", default=None)


@dataclass(frozen=True)
class Limits:
    """Failures allowed in a window before a lock (the window is also the lock's length)."""

    failures: int
    window: timedelta


# A trainee's record: 10 wrong pairs a day, from anywhere, then a day's lock (the owner can
# still bind at once with a code from the institution). The middle four digits of a mobile
# whose masked form is known are 10^4 guesses: at 10 a day, years.
TARGET = Limits(failures=10, window=timedelta(days=1))
# One client address (or chat account, on top of its own 5-try lock): 20 failures an hour.
SOURCE = Limits(failures=20, window=timedelta(hours=1))


def source_key(user: ChatUser) -> str:
    source = BIND_SOURCE.get()
    return f"source:{source}"[:160] if source else f"source:{user.channel}:{user.external_id}"[:160]


def source_key_for(source: str) -> str:
    return f"source:{source}"[:160]


def target_key(trainee_id: int | None, id_hash: str | None = None) -> str:
    return f"trainee:{trainee_id}" if trainee_id is not None else f"id:{id_hash}"[:160]


async def locked(db: AsyncSession, keys: list[str], now: datetime) -> datetime | None:
    """The latest lock among `keys` still in force, or None."""
    rows = (await db.execute(select(BindThrottle.locked_until).where(BindThrottle.key.in_(keys)))).scalars()
    until = [u for u in rows if u is not None and u > now]
    return max(until) if until else None


async def fail(db: AsyncSession, key: str, limits: Limits, now: datetime) -> datetime | None:
    """Count one failure (atomically, across processes); the lock it set, if any."""
    insert = pg_insert if db.bind.dialect.name == "postgresql" else sqlite_insert
    await db.execute(
        insert(BindThrottle)
        .values(key=key, failures=0, window_started_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    row = (
        await db.execute(select(BindThrottle).where(BindThrottle.key == key).with_for_update())
    ).scalar_one()
    if row.window_started_at <= now - limits.window:
        row.failures, row.window_started_at = 0, now
    row.failures += 1
    if row.failures >= limits.failures:
        row.failures, row.window_started_at = 0, now
        row.locked_until = now + limits.window
        return row.locked_until
    return None


async def clear(db: AsyncSession, key: str) -> None:
    """The right pair was given: the target's own owner should not stay counted against."""
    await db.execute(
        update(BindThrottle)
        .where(BindThrottle.key == key)
        .values(failures=0, locked_until=None)
        .execution_options(synchronize_session=False)
    )
