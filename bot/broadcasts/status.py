"""A broadcast's stored status following its delivery: done the moment nothing is left to send.

The broadcast job closes finished notices on its interval; between two runs
a notice whose every row is delivered would still read "sending" and offer
取消. `settle` closes it on the spot, by one conditional UPDATE, whenever
someone looks (the detail page, the API, a cancel), so the stored status is
what the outbox rows say.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.broadcasts.results import OPEN_STATUSES
from models import Broadcast, OutboxMessage


def open_rows(broadcast_id: Any) -> Any:
    """SQL: the broadcast still has rows that may be delivered."""
    return exists(
        select(OutboxMessage.id).where(
            OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.status.in_(OPEN_STATUSES)
        )
    )


async def settle(db: AsyncSession, broadcast: Broadcast, now: datetime) -> Broadcast:
    """A sending broadcast whose every row is finished is stored as done now."""
    if broadcast.status != "sending":
        return broadcast
    changed = await db.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast.id, Broadcast.status == "sending", ~open_rows(Broadcast.id))
        .values(status="done", finished_at=now)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount == 1:  # type: ignore[attr-defined]
        await db.refresh(broadcast)
    return broadcast
