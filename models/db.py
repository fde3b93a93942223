"""Engine, sessions and migrations for SQLite (embedded) and PostgreSQL.

One `Database` per process. SQLite gets WAL, foreign keys and a busy timeout
so that the console and the server can share the embedded file.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar, Token
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from models import sqlite_inline
from models.schema_head import at_head
from models.sqlite_checkpoint import Checkpointer

if TYPE_CHECKING:
    from alembic.config import Config

    from bot.turn_store import TurnStore

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

log = logging.getLogger(__name__)


class DatabaseUnavailable(Exception):
    """The database cannot be used now (its SQLite file is gone); the API answers 503."""


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # imported only when migrations run (models.schema_head)

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """aiosqlite's connections (not on the loop): SQLite's own busy handler may wait 10 s."""
    cur = dbapi_conn.cursor()
    for pragma in sqlite_inline.pragmas(10_000):
        cur.execute(pragma)
    cur.close()


# --- issue 17: the pool on the hot path -----------------------------------
# The reset-on-return cost SQLite a ROLLBACK, though every transaction here
# already ends in COMMIT or ROLLBACK: roll back on return only a connection
# still inside a transaction. (asyncpg's adapter already skips it when no
# transaction is open.)
# PostgreSQL: a chat turn skips the pool's pre-ping, which cost three round
# trips (BEGIN, ";", ROLLBACK) on every checkout: a connection the server cut
# (a restart, a failover, pg_terminate_backend) then fails the turn's first
# statement, which is retried once on a new connection (bot.turn_store). Every
# other session keeps the ping (issue 12: a cut connection costs the next
# request nothing), done in `_listen_pool` so that a turn can opt out.
_PG_POOL: dict[str, Any] = {
    "pool_pre_ping": False,
    # asyncpg prepares each statement once per connection and reuses it.
    "connect_args": {"prepared_statement_cache_size": 256},
}
# Set while a chat turn checks out its connection: no pre-ping for it.
_NO_PING: ContextVar[bool] = ContextVar("no_pre_ping", default=False)
_SQLITE_POOL: dict[str, Any] = {"pool_reset_on_return": None}
# Readers (the console, health checks) beside the writers, who queue for one write lock.
_INLINE_POOL: dict[str, Any] = {"pool_size": 5, "max_overflow": 10}


def _listen_pool(engine: AsyncEngine, *, is_sqlite: bool) -> None:
    pool = engine.sync_engine.pool

    if not is_sqlite:

        @event.listens_for(pool, "checkout")
        def _checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
            driver = getattr(dbapi_conn, "driver_connection", None)
            is_closed = getattr(driver, "is_closed", None)
            if is_closed is not None and is_closed():
                # The pool discards it and checks out (or connects) another.
                raise DisconnectionError("the server closed this pooled connection")
            if _NO_PING.get():
                return
            try:
                dbapi_conn.ping()
            except Exception as exc:
                raise DisconnectionError("the pooled connection did not answer") from exc

    if is_sqlite:

        @event.listens_for(pool, "reset")
        def _reset(dbapi_conn: Any, _record: Any, state: Any) -> None:
            if state.terminate_only or not state.asyncio_safe:
                return  # being discarded, or collected outside the event loop
            driver = getattr(dbapi_conn, "driver_connection", dbapi_conn)
            if getattr(driver, "in_transaction", True):
                dbapi_conn.rollback()


# --- end issue 17 -----------------------------------------------------------


class Database:
    def __init__(self, url: str, *, echo: bool = False, pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.sqlite_path: Path | None = None
        # The WAL index (-shm) as last seen: (inode, length); see check_shared_memory.
        self._shm_seen: tuple[int, int] = (0, 0)
        self._shm_path = ""
        # Statement parameters hold user text: never in an error message or a log line.
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if self.is_sqlite:
            path = url.split(":///", 1)[-1]
            if path and path != ":memory:" and not path.startswith("file:"):
                self.sqlite_path = Path(path)
                self._shm_path = str(self.sqlite_path) + "-shm"
                self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
                # Created owner-only (0600): it holds names, phones and conversations.
                os.close(os.open(self.sqlite_path, os.O_CREAT | os.O_RDWR, 0o600))
        else:
            kwargs.update(pool_size=pool_size, max_overflow=pool_size, **_PG_POOL)
        inline = self.sqlite_path is not None
        self.checkpointer: Checkpointer | None = None
        if self.is_sqlite:
            kwargs.update(_SQLITE_POOL)
        if inline:
            # Connections driven on the event loop (models.sqlite_inline); the process's
            # writers queue for one write lock there, never in SQLite's busy handler.
            self.checkpointer = Checkpointer(str(self.sqlite_path), before=self.check_shared_memory)
            creator = sqlite_inline.connector(str(self.sqlite_path), self.checkpointer)
            kwargs.update(async_creator=creator, **_INLINE_POOL)
        self.engine: AsyncEngine = create_async_engine(url, **kwargs)
        if self.is_sqlite and not inline:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        _listen_pool(self.engine, is_sqlite=self.is_sqlite)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction: committed on success, rolled back on error."""
        self.check_present()
        async with self.sessionmaker() as session, session.begin():
            yield session

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[TurnStore]:
        """A chat turn's connection, with its Core bookkeeping (bot.turn_store); committed on success.

        Commit as you go: the first statement begins the transaction, so that a
        connection found dead there can be rolled back and replaced (TurnStore).
        """
        from bot.turn_store import TurnStore

        self.check_present()
        token: Token[bool] | None = _NO_PING.set(True)
        try:
            async with self.engine.connect() as conn:
                _NO_PING.reset(token)  # only the turn's own checkout skips the ping
                token = None
                store = TurnStore(conn)
                try:
                    yield store
                    await conn.commit()
                finally:
                    await store.close()
        finally:
            if token is not None:
                _NO_PING.reset(token)

    async def migrate(self) -> None:
        """Bring the schema to the newest migration (safe to run on every start)."""
        async with self.engine.begin() as conn:
            if not self.is_sqlite:
                # Two processes starting together must not both run the migrations.
                await conn.execute(text("SELECT pg_advisory_xact_lock(727274001)"))
            await conn.run_sync(self._upgrade)

    def _upgrade(self, conn: Connection) -> None:
        if at_head(conn, MIGRATIONS_DIR / "versions"):
            return  # nothing to do, and Alembic is not even imported
        from alembic import command

        cfg = alembic_config(self.url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")

    def check_present(self) -> None:
        """Refuse to work on a SQLite file that was deleted under us.

        The open connection would keep writing to the unlinked file and every
        check-in acknowledged from then on would be lost at the next restart.
        """
        if self.sqlite_path is None:
            return
        # Every turn asks, so one system call when all is well (a missing file is not writable).
        if not os.access(self.sqlite_path, os.W_OK):
            if not self.sqlite_path.exists():
                raise DatabaseUnavailable(f"the SQLite database file {self.sqlite_path} is missing")
            # Refused here, clearly, rather than met inside SQLite (WAL's shared memory
            # on a read-only file has crashed the process with SIGBUS).
            raise DatabaseUnavailable(f"the SQLite database file {self.sqlite_path} is read-only")
        self.check_shared_memory()

    def check_shared_memory(self) -> None:
        """Give back the WAL index its length when something truncated it under us.

        SQLite memory-maps the `-shm` file; once it is cut shorter (`: > bot.sqlite3-shm`,
        a restore that copies files over a running server) the next read of a mapped
        page is a SIGBUS that kills the process with nothing logged (reproduced; issue
        12). Extended back, the pages read as zeros, which SQLite takes for an index to
        rebuild from the WAL file, as on a first open. A truncation during a request is
        still fatal; `serve` enables faulthandler so that at least the signal is logged.
        """
        assert self.sqlite_path is not None
        shm = self._shm_path
        try:
            st = os.stat(shm)
        except FileNotFoundError:
            self._shm_seen = (0, 0)  # unlinked: our mapping keeps the old file alive
            return
        inode, length = self._shm_seen
        if st.st_ino != inode or st.st_size >= length:
            self._shm_seen = (st.st_ino, st.st_size)
            return
        log.error(
            "the SQLite shared-memory file %s was truncated from %d to %d bytes under the "
            "running server; restoring its length (SQLite rebuilds the index from the WAL)",
            shm,
            length,
            st.st_size,
        )
        try:
            os.truncate(shm, length)
        except OSError as exc:
            raise DatabaseUnavailable(f"the SQLite shared-memory file {shm} was truncated") from exc

    async def ping(self) -> bool:
        try:
            self.check_present()
            async with asyncio.timeout(3):
                async with self.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.checkpointer is not None:
            self.checkpointer.stop()
