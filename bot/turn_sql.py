"""The turn's fixed statements run straight on the embedded SQLite driver.

Issue 17: after the ORM left the hot path, SQLAlchemy's Core execution (a
greenlet hop, the compiled-cache lookup, parameter and result processing per
statement) was still a third of a SQLite turn's CPU, for five statements that
take SQLite itself tens of microseconds. Each statement here is compiled once
by SQLAlchemy for the SQLite dialect, with its bind and result processors (the
same conversions SQLAlchemy applies: datetimes, JSON, booleans), and then run
on the inline connection (models.sqlite_inline) the turn already holds: in its
transaction, behind the same process write lock and lock retry, and with
driver errors raised as SQLAlchemy's own (so the API still answers 503 for a
locked or missing database). Any other database (PostgreSQL, an in-memory
SQLite on aiosqlite) runs the same statements through SQLAlchemy.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement

from models.base import UTCDateTime
from models.sqlite_inline import InlineConnection

# A turn binds the same `now` to several statements (the user's last inbound, the
# transcript rows, the state's update time); its SQLite text is worked out once.
# One cell for every UTCDateTime column: they convert alike. Keyed by identity
# (datetimes are immutable); None is converted each time, as it is cheap.
_last_time: list[Any] = [None, None]


def _remembering_time(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def run(value: Any) -> Any:
        last = _last_time
        if value is last[0] and value is not None:
            return last[1]
        out = process(value)
        last[0], last[1] = value, out
        return out

    return run


class Compiled:
    """One statement as SQLite runs it: its SQL, parameter order and value conversions."""

    __slots__ = ("binds", "defaults", "keys", "names", "prefetch", "results", "sql")

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql: str = compiled.string
        # Python-side column defaults and expanding IN lists are SQLAlchemy's execution to
        # fill in: such statements (the first-contact INSERT of a user) keep going through it.
        self.prefetch = bool(
            compiled.insert_prefetch
            or compiled.update_prefetch
            or compiled.post_compile_params
            or compiled.literal_execute_params
        )
        self.names: tuple[str, ...] = tuple(compiled.positiontup or ())
        # Values bound in the statement itself (literals); the rest come with each call.
        self.defaults: dict[str, Any] = {
            name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required
        }
        # (position, conversion) for the values that have one; applied to every value,
        # None included, as SQLAlchemy does (JSON's None is stored as its 'null').
        processors = dict(compiled._bind_processors)
        for name, bind in compiled.binds.items():
            if name in processors and type(bind.type) is UTCDateTime:
                processors[name] = _remembering_time(processors[name])
        self.binds: tuple[tuple[int, Callable[[Any], Any]], ...] = tuple(
            (i, processors[name]) for i, name in enumerate(self.names) if processors.get(name) is not None
        )
        columns = compiled._result_columns
        self.keys: tuple[str, ...] = tuple(column.keyname for column in columns)
        results = [column.type._cached_result_processor(dialect, None) for column in columns]
        self.results: tuple[tuple[int, Callable[[Any], Any]], ...] = tuple(
            (i, process) for i, process in enumerate(results) if process is not None
        )

    def parameters(self, values: dict[str, Any]) -> list[Any]:
        defaults = self.defaults
        out = [values[name] if name in values else defaults[name] for name in self.names]
        for i, process in self.binds:
            out[i] = process(out[i])
        return out

    def row(self, raw: Sequence[Any]) -> tuple[Any, ...]:
        if not self.results:
            return tuple(raw)
        out = list(raw)
        for i, process in self.results:
            out[i] = process(out[i])
        return tuple(out)


_COMPILED: dict[int, tuple[ClauseElement, Compiled]] = {}


def _compiled(statement: ClauseElement, dialect: Dialect) -> Compiled:
    # Keyed by identity (a cache key would cost what SQLAlchemy's own lookup costs): the
    # statement is kept with its compiled form, so no other object can take its id.
    found = _COMPILED.get(id(statement))
    if found is None:
        found = _COMPILED[id(statement)] = (statement, Compiled(statement, dialect))
    return found[1]


def inline_driver(conn: AsyncConnection) -> InlineConnection | None:
    """The turn connection's inline SQLite driver, or None when it is another database."""
    if conn.dialect.name != "sqlite":
        return None
    driver = getattr(conn.sync_connection.connection, "driver_connection", None)
    return driver if isinstance(driver, InlineConnection) else None


class Statements:
    """Runs the turn store's statements: on the inline driver when there is one, else through
    SQLAlchemy; rows come back as tuples (or dicts by column key) either way."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.driver = inline_driver(conn)
        if self.driver is not None:
            # SQLAlchemy's view of the transaction: the turn commits through it, and an ORM
            # session made later joins it (for SQLite, beginning sends nothing).
            conn.sync_connection.begin()

    def _fast(self, statement: ClauseElement) -> Compiled | None:
        if self.driver is None:
            return None
        compiled = _compiled(statement, self.conn.dialect)
        return None if compiled.prefetch else compiled

    async def _run(self, compiled: Compiled, values: dict[str, Any] | list[dict[str, Any]]) -> Any:
        assert self.driver is not None
        cursor = self.driver.cursor()
        try:
            if isinstance(values, list):
                await cursor.executemany(compiled.sql, [compiled.parameters(v) for v in values])
                return []
            await cursor.execute(compiled.sql, compiled.parameters(values))
            return (await cursor.fetchall()) if compiled.keys else []
        except sqlite3.Error as error:
            raise DBAPIError.instance(
                compiled.sql, None, error, sqlite3.Error, hide_parameters=True, dialect=self.conn.dialect
            ) from error
        finally:
            await cursor.close()

    async def execute(self, statement: ClauseElement, values: dict[str, Any] | list[dict[str, Any]]) -> None:
        compiled = self._fast(statement)
        if compiled is None:
            await self.conn.execute(statement, values)
        else:
            await self._run(compiled, values)

    async def rows(self, statement: ClauseElement, values: dict[str, Any]) -> list[tuple[Any, ...]]:
        compiled = self._fast(statement)
        if compiled is None:
            return [tuple(row) for row in (await self.conn.execute(statement, values)).all()]
        return [compiled.row(r) for r in await self._run(compiled, values)]

    async def mappings(self, statement: ClauseElement, values: dict[str, Any]) -> list[dict[str, Any]]:
        compiled = self._fast(statement)
        if compiled is None:
            return [dict(row) for row in (await self.conn.execute(statement, values)).mappings().all()]
        keys = compiled.keys
        return [dict(zip(keys, compiled.row(r), strict=True)) for r in await self._run(compiled, values)]
