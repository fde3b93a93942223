"""Throw-away PostgreSQL databases for the benches (chat, turn CPU, outbox soak), and the soak's vacuum."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from models.db import Database


class Scratch:
    """A throw-away PostgreSQL database."""

    def __init__(self, base: str, prefix: str = "soak") -> None:
        self.base = base
        self.name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        head = base.rsplit("/", 1)[0]
        if head.startswith("postgresql://"):  # the service's driver, whichever form the base was given in
            head = "postgresql+asyncpg://" + head.split("://", 1)[1]
        self.url = f"{head}/{self.name}"

    async def _admin(self, sql: str, connect_timeout: float = 60.0) -> None:
        import asyncpg

        dsn = self.base.replace("postgresql+asyncpg://", "postgresql://")
        conn = await asyncpg.connect(dsn, timeout=connect_timeout)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def make(self, connect_timeout: float = 60.0) -> str:
        """Creates the empty database and returns its URL; served processes migrate it themselves."""
        await self._admin(f'CREATE DATABASE "{self.name}"', connect_timeout)
        return self.url

    async def create(self) -> Database:
        db = Database(await self.make())
        await db.migrate()
        return db

    async def vacuum_while(self, every: float, stop: asyncio.Event, seen: dict[str, int]) -> None:
        """What autovacuum does in production, on a server that has it off (a shared test server).

        Every outbox row is written four or five times (claim, renewals, result) and each
        lease several times a second: without vacuum their dead versions pile up in the
        indexes the dispatcher's claims, renewals and lease checks walk, and every such
        query grows with the rows sent so far. Records the most
        dead row versions seen in the outbox table (`seen["dead"]`).
        """
        import asyncpg

        conn = await asyncpg.connect(self.url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            if every <= 0 or await conn.fetchval("SHOW autovacuum") == "on":
                seen["vacuum"] = 0
                await stop.wait()
                return
            seen["vacuum"] = 1
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), every)
                dead = await conn.fetchval(
                    "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'outbox'"
                )
                seen["dead"] = max(seen.get("dead", 0), int(dead or 0))
                await conn.execute("VACUUM (ANALYZE) outbox, leases, messages, chat_users")
                seen["vacuums"] = seen.get("vacuums", 0) + 1
        finally:
            await conn.close()

    async def drop(self) -> None:
        await self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
