"""The embedded SQLite on the event loop: another process's write lock never freezes the server.

What must hold: while some other connection (the console, a second `serve`, a
backup tool) holds SQLite's write lock, a turn waits for it without blocking
the event loop, then completes and is recorded once; and one process's own
writers never meet in SQLite (one connection, on the loop, no helper thread).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, text

from bot.settings import Settings
from models import Message, sqlite_inline
from models.db import Database


def _statement_threads() -> int:
    """Threads other than the WAL checkpointer (models.sqlite_checkpoint), which runs no statement
    of a request."""
    return sum(1 for t in threading.enumerate() if t.name != "sqlite-checkpoint")


def _path(settings: Settings) -> Path:
    return Path(settings.db_url.split(":///", 1)[1])


async def test_a_turn_waits_for_another_writer_without_freezing_the_loop(
    client: TestClient, settings: Settings
) -> None:
    if not settings.is_sqlite:
        pytest.skip("SQLite only")
    assert (await client.post("/api/v1/chat", json={"user_id": "u1", "text": "你好"})).status == 200
    other = sqlite3.connect(_path(settings), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process's write lock, as far as SQLite can tell
    try:
        turn = asyncio.ensure_future(client.post("/api/v1/chat", json={"user_id": "u1", "text": "签到"}))
        ticks = 0
        while ticks < 50:  # the loop keeps running while the turn waits for the lock
            await asyncio.sleep(0.005)
            ticks += 1
        assert not turn.done()
    finally:
        other.execute("COMMIT")
        other.close()
    resp = await turn
    assert resp.status == 200 and (await resp.json())["replies"]
    db = client.app["services"].db
    async with db.session() as session:
        inbound = (
            await session.execute(select(func.count(Message.id)).where(Message.direction == "in"))
        ).scalar_one()
    assert inbound == 2


async def test_one_processs_writers_queue_in_order_and_readers_never_wait(db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite only")
    threads = _statement_threads()
    db = Database(db_url)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE probe (x INTEGER)"))
        waits = sqlite_inline.lock_waits
        order: list[int] = []

        async def write(i: int) -> None:
            async with db.session() as session:
                await session.execute(text("INSERT INTO probe VALUES (:x)"), {"x": i})
                await asyncio.sleep(0)  # a transaction that yields while holding the lock
                order.append(i)

        await asyncio.gather(*(write(i) for i in range(20)))
        assert order == list(range(20))  # one at a time, first come first served
        assert sqlite_inline.lock_waits == waits  # none of them met another in SQLite
        # A long writer (an import) holds its transaction: a reader is not held up by it.
        async with db.session() as writer:
            await writer.execute(text("INSERT INTO probe VALUES (99)"))
            async with db.session() as reader:
                seen = (await reader.execute(text("SELECT count(*) FROM probe"))).scalar_one()
            assert seen == 20  # the committed rows, not the open transaction's
        async with db.session() as session:
            busy = (await session.execute(text("PRAGMA busy_timeout"))).scalar_one()
        assert busy < 50  # SQLite never sleeps on the loop for long; the wait is ours, async
        assert _statement_threads() == threads  # no aiosqlite thread was started
    finally:
        await db.dispose()
