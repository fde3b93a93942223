"""Channel pauses every process honours: a flood limit (429 `retry_after`) or a used-up quota.

A platform's flood limit is per bot, not per process: when Telegram says
"retry after 3 s", no process may call it for 3 s, and a process that takes
the channel over after a crash must wait out what its predecessor was told.
So a pause lives where every process sees it: the `leases` table (a lease
named `pause:<channel>` that nobody renews), or Redis when `REDIS_URL` is set.
A pause never shortens one already in place.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.clock import Clock
from models import Lease
from models.db import Database


class PauseStore(Protocol):
    async def pause(self, channel: str, seconds: float, reason: str) -> None: ...

    async def paused_until(self, channel: str) -> datetime | None: ...


class DbPauses:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def pause(self, channel: str, seconds: float, reason: str) -> None:
        now = self.clock.now()
        until = now + timedelta(seconds=seconds)
        name = f"pause:{channel}"
        async with self.db.session() as s:
            lengthened = await s.execute(
                update(Lease)
                .where(Lease.name == name, Lease.expires_at.is_(None) | (Lease.expires_at < until))
                .values(holder=reason[:80], expires_at=until)
            )
            if lengthened.rowcount:  # type: ignore[attr-defined]
                return
            insert = sqlite_insert if self.db.is_sqlite else pg_insert
            await s.execute(
                insert(Lease)
                .values(name=name, holder=reason[:80], expires_at=until)
                .on_conflict_do_nothing(index_elements=["name"])
            )

    async def paused_until(self, channel: str) -> datetime | None:
        async with self.db.session() as s:
            row = (
                await s.execute(
                    select(Lease.holder, Lease.expires_at).where(Lease.name == f"pause:{channel}")
                )
            ).first()
        if row is None or not row.holder or row.expires_at is None or row.expires_at <= self.clock.now():
            return None
        return row.expires_at  # type: ignore[no-any-return]


class RedisPauses:
    """The same in Redis: a key per channel whose expiry is the end of the pause."""

    # Set the key unless it already outlives the new pause (never shorten a pause).
    PAUSE = (
        "local left = redis.call('pttl', KEYS[1]) "
        "if left < tonumber(ARGV[1]) then redis.call('set', KEYS[1], ARGV[2], 'px', ARGV[1]) end return 0"
    )

    def __init__(self, redis: Any, clock: Clock) -> None:
        self.redis = redis
        self.clock = clock

    @staticmethod
    def key(channel: str) -> str:
        return f"trainee-bot:pause:{channel}"

    async def pause(self, channel: str, seconds: float, reason: str) -> None:
        await self.redis.eval(self.PAUSE, 1, self.key(channel), max(1, int(seconds * 1000)), reason[:80])

    async def paused_until(self, channel: str) -> datetime | None:
        left = int(await self.redis.pttl(self.key(channel)))
        if left <= 0:
            return None
        return self.clock.now() + timedelta(milliseconds=left)


def pause_store(db: Database, clock: Clock, redis: Any) -> PauseStore:
    return RedisPauses(redis, clock) if redis is not None else DbPauses(db, clock)
