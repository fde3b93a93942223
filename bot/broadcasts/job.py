"""The broadcast job: fan out scheduled notices when due, stop stray rows, close finished ones.

Kept apart from `bot.broadcasts.sending` (what staff do to one notice) because
this runs unattended on the scheduler over every broadcast at once; it only
reuses `fan_out`, so a notice sent now and one sent by the job fan out alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.broadcasts.config import get_config
from bot.broadcasts.results import OPEN_STATUSES
from bot.broadcasts.sending import fan_out
from models import Broadcast, OutboxMessage


def register(scheduler: Any) -> None:
    scheduler.add("broadcasts", run_due, "interval", seconds=get_config().job.interval_seconds)


async def close_finished(db: AsyncSession, now: datetime) -> int:
    """Mark sending broadcasts with nothing left in the queue as done."""
    open_rows = exists(
        select(OutboxMessage.id).where(
            OutboxMessage.broadcast_id == Broadcast.id, OutboxMessage.status.in_(OPEN_STATUSES)
        )
    )
    result = await db.execute(
        update(Broadcast)
        .where(Broadcast.status == "sending", ~open_rows)
        .values(status="done", finished_at=now)
        .execution_options(synchronize_session=False)
    )
    return max(result.rowcount or 0, 0)


async def sweep_cancelled(db: AsyncSession) -> int:
    """A row a failed attempt put back to pending after its broadcast was cancelled stops here."""
    cancelled = select(Broadcast.id).where(Broadcast.status == "cancelled")
    result = await db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.broadcast_id.in_(cancelled), OutboxMessage.status == "pending")
        .values(status="cancelled", locked_until=None)
        .execution_options(synchronize_session=False)
    )
    return max(result.rowcount or 0, 0)


async def due_broadcasts(db: AsyncSession, now: datetime) -> list[int]:
    return list(
        (
            await db.execute(
                select(Broadcast.id)
                .where(Broadcast.status == "scheduled", Broadcast.send_at <= now)
                .order_by(Broadcast.send_at, Broadcast.id)
            )
        ).scalars()
    )


async def run_due(services: Any) -> dict[str, int]:
    """The job: fan out what is due, stop stray rows of cancelled ones, close finished ones.

    Each broadcast fans out in its own transaction, so one bad audience does not
    hold back the others; running this twice or on two processes at once adds
    nothing (the status claim and the outbox keys).
    """
    now = services.clock.now()
    fanned = 0
    async with services.db.session() as db:
        due = await due_broadcasts(db, now)
    for broadcast_id in due:
        async with services.db.session() as db:
            if await fan_out(db, broadcast_id, now, services.texts) is not None:
                fanned += 1
    async with services.db.session() as db:
        swept = await sweep_cancelled(db)
        closed = await close_finished(db, now)
    return {"fanned_out": fanned, "swept": swept, "closed": closed}
