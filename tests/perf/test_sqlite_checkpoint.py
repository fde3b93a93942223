"""The embedded SQLite's WAL is checkpointed by a thread, never inside a turn's commit.

What must hold (issue 17): the commits made on the event loop leave checkpoints
to the thread (SQLite's own runs only as a distant fallback); the thread copies
the WAL back into the database file, so a copy of that file alone holds every
committed row and the WAL starts over instead of growing; disposing of the
Database ends the thread.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, text

from models import ChatUser, Message
from models.db import Database, DatabaseUnavailable
from models.sqlite_checkpoint import FALLBACK_PAGES, Checkpointer

ROUNDS = 2
COMMITS = 40
ROWS = 25
TEXT = "签到" * 2000  # 4,000 characters, about 12 KB: a WAL page or three per row
NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


def _checkpoint_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "sqlite-checkpoint"]


async def _write_round(db: Database, user_id: int) -> None:
    for _ in range(COMMITS):
        async with db.engine.begin() as conn:
            await conn.execute(
                insert(Message),
                [
                    {
                        "chat_user_id": user_id,
                        "direction": "in",
                        "text": TEXT,
                        "choices": [],
                        "created_at": NOW,
                    }
                    for _ in range(ROWS)
                ],
            )


async def _settled(db: Database) -> tuple[int, int, int]:
    """The thread's report once a pass begun after the last commit found everything copied."""
    checkpointer = db.checkpointer
    assert checkpointer is not None
    passes_before = checkpointer.passes  # one may be under way: the one after it began later
    for _ in range(500):
        last = checkpointer.last
        if (
            checkpointer.passes > passes_before + 1
            and last is not None
            and not last[0]
            and last[1] == last[2]
        ):
            return last
        await asyncio.sleep(0.02)
    raise AssertionError(f"the WAL was not checkpointed: {checkpointer.last}")


@pytest.fixture
def path(tmp_path: Path, sqlite_template: Path) -> Path:
    """A migrated database file of its own."""
    path = tmp_path / "bot.sqlite3"
    shutil.copy(sqlite_template, path)
    return path


async def test_the_thread_copies_the_wal_back_and_it_starts_over(tmp_path: Path, path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{path}")
    assert db.checkpointer is not None
    db.checkpointer.interval = 0.02
    wal = Path(f"{path}-wal")
    try:
        async with db.engine.begin() as conn:
            # The loop's own commits never reach SQLite's automatic checkpoint at 1,000 pages.
            assert (await conn.execute(text("PRAGMA wal_autocheckpoint"))).scalar() == FALLBACK_PAGES
            user_id = (
                await conn.execute(
                    insert(ChatUser)
                    .values(channel="web", external_id="cp", created_at=NOW)
                    .returning(ChatUser.id)
                )
            ).scalar_one()
        assert len(_checkpoint_threads()) == 1
        sizes = []
        for _ in range(ROUNDS):
            await _write_round(db, user_id)
            await _settled(db)
            sizes.append(wal.stat().st_size)
        written = COMMITS * ROWS * len(TEXT.encode())
        # The second round reused the WAL from its start: it did not grow by another round.
        assert sizes[-1] < 1.5 * written, sizes
        # The database file alone (what a plain file copy backs up) holds every row.
        copy = tmp_path / "copy.sqlite3"
        shutil.copy(path, copy)
        with sqlite3.connect(copy) as plain:
            (count,) = plain.execute("SELECT count(*) FROM messages").fetchone()
        assert count == ROUNDS * COMMITS * ROWS
    finally:
        await db.dispose()
    assert _checkpoint_threads() == []


async def test_a_disposed_database_checkpoints_again_when_used_again(path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        for _ in range(2):
            async with db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            assert db.checkpointer is not None and db.checkpointer.running
            await db.dispose()
            assert _checkpoint_threads() == []
    finally:
        await db.dispose()


def test_an_in_memory_database_has_no_checkpoint_thread() -> None:
    assert Database("sqlite+aiosqlite:///:memory:").checkpointer is None


def test_a_failing_checkpoint_is_reported_once_and_retried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    checkpointer = Checkpointer(str(tmp_path / "x.sqlite3"))
    closed = sqlite3.connect(":memory:")
    closed.close()  # every statement on it fails, as on a file pulled from under us
    for _ in range(3):
        checkpointer.checkpoint(closed)
    assert checkpointer.passes == 0
    assert sum("WAL checkpoint" in r.getMessage() for r in caplog.records) == 1


def test_no_pass_reads_the_wal_index_before_the_databases_check_of_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A checkpoint reads the memory-mapped -shm file: cut short under the server, it must get
    its length back first (Database.check_shared_memory), else the read is a SIGBUS."""
    path = tmp_path / "x.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (x)")
    checks: list[int] = []

    def check() -> None:
        checks.append(checkpointer.passes)
        if len(checks) <= 2:
            raise DatabaseUnavailable("the SQLite shared-memory file was truncated")

    checkpointer = Checkpointer(str(path), 0.005, before=check)
    checkpointer.start()
    try:
        for _ in range(400):
            if checkpointer.passes >= 2:
                break
            threading.Event().wait(0.005)
    finally:
        checkpointer.stop()
    assert checks[:3] == [0, 0, 0]  # no pass while the check failed
    assert checkpointer.passes >= 2
    assert sum("WAL checkpoint" in r.getMessage() for r in caplog.records) == 1
