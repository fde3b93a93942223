"""A reply wakes its channel's holder in whatever process that runs: PostgreSQL LISTEN/NOTIFY.

A reply enqueued by a turn in one process is sent by the holder of its
channel's lease, often another process. Without a word from the enqueuer the
holder finds it at its next reply poll (`lanes.reply_poll_seconds`, a quarter
of a second, more on a busy database); with one it claims the reply as soon
as the enqueueing transaction commits. NOTIFY is delivered on commit only, so
a rolled-back reply wakes nobody. The poll stays as the fallback: on SQLite
(one process, where `kick` wakes the dispatcher directly) and while the
listening connection is down (it is opened again at the next run).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from models.db import Database

log = logging.getLogger(__name__)

REPLY_CHANNEL = "outbox_reply"


async def notify_reply(db: AsyncSession) -> None:
    """Tell every dispatcher, once this transaction commits, that a reply is due."""
    if db.bind.dialect.name == "postgresql":
        await db.execute(text("SELECT pg_notify(:channel, '')"), {"channel": REPLY_CHANNEL})


class ReplyListener:
    """One connection per process kept listening for `notify_reply`; `on_reply` runs on each."""

    def __init__(self, db: Database, on_reply: Callable[[], None]) -> None:
        self.db = db
        self.on_reply = on_reply
        self._conn: AsyncConnection | None = None
        self._driver: Any = None

    @property
    def listening(self) -> bool:
        return self._driver is not None and not self._driver.is_closed()

    async def start(self) -> None:
        """Listen, unless already listening or on SQLite; a failure leaves the poll to do the work."""
        if self.db.is_sqlite or self.listening:
            return
        await self.close()
        try:
            conn = await self.db.engine.connect()
            raw = await conn.get_raw_connection()
            driver = raw.driver_connection
            await driver.add_listener(REPLY_CHANNEL, self._heard)
        except Exception:
            log.warning("outbox: cannot listen for replies; polling for them instead", exc_info=True)
            return
        self._conn, self._driver = conn, driver

    def _heard(self, *_: Any) -> None:
        self.on_reply()

    async def close(self) -> None:
        conn, driver = self._conn, self._driver
        self._conn = self._driver = None
        if driver is not None and not driver.is_closed():
            try:
                await driver.remove_listener(REPLY_CHANNEL, self._heard)
            except Exception:
                log.debug("outbox: reply listener already gone", exc_info=True)
        if conn is not None:
            try:
                await conn.close()
            except Exception:
                log.debug("outbox: closing the reply listener's connection failed", exc_info=True)
