"""The connection pool: a cut connection costs no request, and no blanket reset ROLLBACK on SQLite.

What must hold: a connection the server cut (a restart, a failover) does not
fail the next request, and a connection handed back inside a transaction never
carries it (or its SQLite write lock) to the next user.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text

from models import ChatUser
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


def _kill_other_backends_blocking(url: str) -> None:
    """The same cut, done without yielding to the event loop: the pool cannot have seen it yet."""
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    sql = (
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    subprocess.run(["psql", dsn, "-qAtc", sql], check=True, capture_output=True, timeout=30)


async def test_a_turn_on_a_connection_cut_unseen_is_retried_once(pg_url: str) -> None:
    if shutil.which("psql") is None:
        pytest.skip("needs the psql client")
    db = Database(pg_url, pool_size=1)
    now = datetime.now(UTC)
    try:
        async with db.turn() as store:
            first = await store.lock_user("web", "cut-unseen", now)
        _kill_other_backends_blocking(pg_url)
        async with db.turn() as store:
            again = await store.lock_user("web", "cut-unseen", now)
        assert again.id == first.id
        async with db.session() as session:
            n = (
                await session.execute(select(func.count()).where(ChatUser.external_id == "cut-unseen"))
            ).scalar_one()
        assert n == 1
    finally:
        await db.dispose()
