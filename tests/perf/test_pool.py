"""The connection pool: a cut connection costs no request, and no blanket reset ROLLBACK on SQLite.

What must hold: a connection the server cut (a restart, a failover) does not
fail the next request, and a connection handed back inside a transaction never
carries it (or its SQLite write lock) to the next user.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from models.db import Database


async def _kill_other_backends(url: str) -> None:
    """Cut every other connection to the database, as a server restart would."""
    killer = Database(url)
    try:
        async with killer.engine.connect() as conn:
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
    finally:
        await killer.dispose()


async def _select_one(db: Database) -> int:
    async with db.session() as session:
        return int((await session.execute(text("SELECT 1"))).scalar_one())


async def test_a_connection_cut_by_the_server_is_replaced_unseen(pg_url: str) -> None:
    db = Database(pg_url, pool_size=2)
    try:
        assert await _select_one(db) == 1
        await _kill_other_backends(pg_url)
        # The pooled connection is dead; it is found so on checkout and replaced: no error reaches anyone.
        assert await _select_one(db) == 1
        assert await _select_one(db) == 1
    finally:
        await db.dispose()


async def test_sqlite_connection_returned_inside_a_transaction_is_rolled_back(db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL keeps the pool's own reset")
    db = Database(db_url)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE probe (x INTEGER)"))
        async with db.engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            await driver.execute("BEGIN IMMEDIATE")
            await driver.execute("INSERT INTO probe VALUES (1)")
        # Handed back mid-transaction: the write is undone and the lock gone.
        async with db.session() as session:
            await session.execute(text("INSERT INTO probe VALUES (2)"))
        async with db.session() as session:
            rows = (await session.execute(text("SELECT x FROM probe ORDER BY x"))).scalars().all()
        assert rows == [2]
    finally:
        await db.dispose()
