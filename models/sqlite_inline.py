"""The embedded SQLite driven on the event loop itself, without aiosqlite's thread.

A turn's statements take tens of microseconds in SQLite; through aiosqlite each
one costs two thread hops and a queue, most of a turn's database time (issue 17).
This is an aiosqlite-shaped connection (SQLAlchemy's aiosqlite dialect takes it
through `create_async_engine(async_creator=...)`) whose coroutines run the
stdlib `sqlite3` calls inline: they never suspend, except to wait for a lock.

Waiting for a lock must never block the loop. SQLite's own busy handler sleeps
inside the call, so the connection's busy timeout is kept to a few
milliseconds; when another process holds the write lock the statement fails at
once with "database is locked" and is retried after an `asyncio.sleep` with a
growing backoff, up to the same overall deadline the blocking handler had.
Within one process, writers never meet in SQLite at all: a connection takes
the process's write lock (an asyncio lock, FIFO, shared by the Database's
connections) before its transaction's first write and gives it back at COMMIT
or ROLLBACK, so the engine, the inbox, the outbox and the jobs queue for it in
order; readers never wait (WAL). Writers take SQLite's lock with BEGIN
IMMEDIATE, at their first write: met there, another process's lock is waited for
before the transaction has written anything, so retrying that statement is safe.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from models.sqlite_checkpoint import FALLBACK_PAGES, Checkpointer

# Milliseconds SQLite itself may spin on a lock inside one (loop-blocking) call.
BUSY_TIMEOUT_MS = 2
# The whole wait for another process's lock, as the old 10 s busy timeout allowed.
LOCK_DEADLINE_S = 10.0
FIRST_BACKOFF_S = 0.001
MAX_BACKOFF_S = 0.05


def pragmas(busy_timeout_ms: int) -> tuple[str, ...]:
    """Every SQLite connection's settings; only how long SQLite itself may wait differs."""
    return (
        "PRAGMA foreign_keys=ON",
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=NORMAL",
        f"PRAGMA busy_timeout={busy_timeout_ms}",
    )


PRAGMAS = pragmas(BUSY_TIMEOUT_MS)


# Statements before which sqlite3 opens a transaction (its legacy rule), and BEGIN itself.
_WRITE_STARTS = ("INSERT", "UPDATE", "DELETE", "REPLACE", "BEGIN")
# How often a statement met another process's lock (for tests and the bench).
lock_waits = 0


def _writes(sql: str) -> bool:
    return sql.lstrip()[:7].upper().startswith(_WRITE_STARTS)


class WriteLock:
    """One per Database: its connections' transactions run one at a time, in order."""

    def __init__(self) -> None:
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _for_loop(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            self._lock, self._loop = asyncio.Lock(), loop
        return self._lock

    async def acquire(self) -> asyncio.Lock:
        lock = self._for_loop()
        try:
            async with asyncio.timeout(LOCK_DEADLINE_S):
                await lock.acquire()
        except TimeoutError:
            raise sqlite3.OperationalError("database is locked") from None
        return lock


def _locked(error: sqlite3.OperationalError) -> bool:
    text = str(error).lower()
    return "database is locked" in text or "database table is locked" in text


async def _retry_locked(call: Callable[[], Any]) -> Any:
    """Run `call` now; while another process holds the lock, try again after an async sleep."""
    try:
        return call()
    except sqlite3.OperationalError as error:
        if not _locked(error):
            raise
    global lock_waits
    lock_waits += 1
    deadline = time.monotonic() + LOCK_DEADLINE_S
    delay = FIRST_BACKOFF_S
    while True:
        await asyncio.sleep(delay)
        try:
            return call()
        except sqlite3.OperationalError as error:
            if not _locked(error) or time.monotonic() >= deadline:
                raise
        delay = min(delay * 2, MAX_BACKOFF_S)


class InlineCursor:
    """aiosqlite's Cursor surface over a sqlite3 cursor."""

    __slots__ = ("_cursor", "_owner")

    def __init__(self, cursor: sqlite3.Cursor, owner: InlineConnection) -> None:
        self._cursor = cursor
        self._owner = owner

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        cursor = self._cursor
        await self._owner.before(sql)
        try:
            if parameters is None:
                await _retry_locked(lambda: cursor.execute(sql))
            else:
                await _retry_locked(lambda: cursor.execute(sql, parameters))
        finally:
            self._owner.after()
        return self

    async def executemany(self, sql: str, seq_of_parameters: Iterable[Sequence[Any]]) -> InlineCursor:
        rows = list(seq_of_parameters)
        await self._owner.before(sql)
        try:
            await _retry_locked(lambda: self._cursor.executemany(sql, rows))
        finally:
            self._owner.after()
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size) if size is not None else self._cursor.fetchmany()

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()

    async def nextset(self) -> None:
        return None

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class InlineConnection:
    """aiosqlite's Connection surface over a sqlite3 connection used on the loop's thread."""

    def __init__(self, conn: sqlite3.Connection, write_lock: WriteLock) -> None:
        self._conn: sqlite3.Connection | None = conn
        self._write_lock = write_lock
        self._held: asyncio.Lock | None = None

    async def before(self, sql: str) -> None:
        """Queue for the process's write lock before a transaction's first write."""
        if self._held is None and _writes(sql):
            self._held = await self._write_lock.acquire()

    def after(self) -> None:
        """Give the write lock back once no transaction is open (committed, or never begun)."""
        if self._held is not None and not (self._conn is not None and self._conn.in_transaction):
            held, self._held = self._held, None
            held.release()

    @property
    def _connection(self) -> sqlite3.Connection | None:
        """aiosqlite's name for the open connection (SQLAlchemy checks it before a rollback)."""
        return self._conn

    def _open(self) -> sqlite3.Connection:
        if self._conn is None:
            raise ValueError("no active connection")
        return self._conn

    @property
    def in_transaction(self) -> bool:
        return self._conn is not None and self._conn.in_transaction

    @property
    def isolation_level(self) -> str | None:
        return self._open().isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._open().isolation_level = value

    def cursor(self) -> InlineCursor:
        return InlineCursor(self._open().cursor(), self)

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        conn = self._open()
        try:
            await _retry_locked(conn.commit)
        finally:
            self.after()

    async def rollback(self) -> None:
        try:
            self._open().rollback()
        finally:
            self.after()

    async def create_function(self, *args: Any, **kw: Any) -> None:
        self._open().create_function(*args, **kw)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Close (also aiosqlite's forced close, used when SQLAlchemy terminates a connection)."""
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.close()
        self.after()


def connector(url_path: str, checkpointer: Checkpointer | None = None) -> Callable[[], Any]:
    """The `async_creator` for a SQLite file path: inline connections sharing one write lock,
    their WAL checkpointed by `checkpointer`'s thread rather than inside their commits."""
    write_lock = WriteLock()
    pragmas = PRAGMAS
    if checkpointer is not None:
        pragmas = (*PRAGMAS, f"PRAGMA wal_autocheckpoint={FALLBACK_PAGES}")

    async def connect() -> InlineConnection:
        # check_same_thread off only so the pool may close it from a finalizer; every
        # statement runs on the event loop's thread.
        conn = sqlite3.connect(
            url_path or ":memory:", isolation_level="IMMEDIATE", check_same_thread=False, uri=False
        )
        for pragma in pragmas:
            await _retry_locked(lambda p=pragma: conn.execute(p))
        if checkpointer is not None:
            checkpointer.start()
        return InlineConnection(conn, write_lock)

    return connect
