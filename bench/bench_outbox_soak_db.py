"""The soak bench's throw-away PostgreSQL databases (bench/bench_outbox_soak.py), and their vacuum."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from models.db import Database


class Scratch:
    """A throw-away PostgreSQL database."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.name = f"soak_{uuid.uuid4().hex[:10]}"
        self.url = f"{base.rsplit('/', 1)[0]}/{self.name}"

    async def _admin(self, sql: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(self.base.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def create(self) -> Database:
        await self._admin(f'CREATE DATABASE "{self.name}"')
        db = Database(self.url)
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
