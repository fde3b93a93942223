"""Named leases: one process at a time does a thing (refresh a token, dispatch a channel).

A lease is a row taken by one atomic UPDATE and given an expiry, so a crashed
holder blocks the others only until it expires. Times come from the services'
clock, like every other timestamp in the database.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot.clock import Clock
from models import Lease
from models.db import Database


async def acquire_lease(db: Database, clock: Clock, name: str, holder: str, ttl_seconds: float) -> bool:
    """Take (or extend) the lease when it is free, expired or already ours: one atomic UPDATE."""
    now = clock.now()
    take = (
        update(Lease)
        .where(
            Lease.name == name,
            Lease.holder.is_(None) | (Lease.holder == holder) | (Lease.expires_at < now),
        )
        .values(holder=holder, expires_at=now + timedelta(seconds=ttl_seconds))
    )
    async with db.session() as s:
        if (await s.execute(take)).rowcount:  # type: ignore[attr-defined]
            return True
        insert = sqlite_insert if db.is_sqlite else pg_insert
        created = await s.execute(
            insert(Lease)
            .values(name=name, holder=holder, expires_at=now + timedelta(seconds=ttl_seconds))
            .on_conflict_do_nothing(index_elements=["name"])
        )
        return bool(created.rowcount)  # type: ignore[attr-defined]


async def release_lease(db: Database, name: str, holder: str) -> None:
    async with db.session() as s:
        await s.execute(
            update(Lease)
            .where(Lease.name == name, Lease.holder == holder)
            .values(holder=None, expires_at=None)
        )


async def lease_holder(db: Database, name: str) -> str | None:
    async with db.session() as s:
        return (await s.execute(select(Lease.holder).where(Lease.name == name))).scalar_one_or_none()


async def hand_over(db: Database, clock: Clock, name: str, holder: str, seconds: float) -> None:
    """Give the lease up after `seconds`: long enough for what we sent to leave the platform's window."""
    async with db.session() as s:
        await s.execute(
            update(Lease)
            .where(Lease.name == name, Lease.holder == holder)
            .values(expires_at=clock.now() + timedelta(seconds=seconds))
        )
