"""The connection pool without pre-ping and without a blanket reset ROLLBACK.

What must still hold: a dead connection does not break the service for long,
and a connection handed back inside a transaction never carries it (or its
SQLite write lock) to the next user.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

import models.db as db_module
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


async def test_idle_connection_cut_by_the_server_is_replaced(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(pg_url, pool_size=2)
    try:
        assert await _select_one(db) == 1
        await _kill_other_backends(pg_url)
        # The pooled connection is now dead; after enough idle time it is
        # checked on checkout and silently replaced.
        monkeypatch.setattr(db_module, "IDLE_PING_SECONDS", 0.0)
        assert await _select_one(db) == 1
    finally:
        await db.dispose()


async def test_busy_connection_cut_costs_one_transaction(pg_url: str) -> None:
    db = Database(pg_url, pool_size=2)
    try:
        assert await _select_one(db) == 1
        await _kill_other_backends(pg_url)
        # A connection in constant use is not pinged: the first transaction on
        # it fails, and that failure invalidates the pool, so the next works.
        with pytest.raises(DBAPIError) as failed:
            await _select_one(db)
        assert failed.value.connection_invalidated
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
