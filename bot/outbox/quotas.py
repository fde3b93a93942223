"""Per channel and local day, how many messages went out of each kind: the platforms' daily quotas, shared.

WeChat counts template messages (and customer-service messages) per account
and Beijing day, whichever process sent them; so does this table
(`models.DeliveryCount`), bumped in the transaction that records a send. The
reminder plan reads it to tell, before the wave, whether the day's demand
still fits the quota (`bot.attendance.planning`).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox.config import DeliveryConfig
from models import DeliveryCount

COUNTED = ("message", "template")  # `OutboxMessage.delivery` values of a sent row


async def bump(db: AsyncSession, channel: str, day: date, counter: str, by: int = 1) -> None:
    """Add `by` to one counter, atomically in the database (two processes may bump it at once)."""
    insert = pg_insert if db.bind.dialect.name == "postgresql" else sqlite_insert
    table = DeliveryCount.__table__
    statement = insert(table).values(channel=channel, day=day, counter=counter, value=by)
    await db.execute(
        statement.on_conflict_do_update(
            index_elements=["channel", "day", "counter"], set_={"value": table.c.value + by}
        )
    )


async def used(db: AsyncSession, channel: str, day: date) -> dict[str, int]:
    rows = await db.execute(
        select(DeliveryCount.counter, DeliveryCount.value).where(
            DeliveryCount.channel == channel, DeliveryCount.day == day
        )
    )
    return {counter: int(value) for counter, value in rows.all()}


def daily_quota(config: DeliveryConfig, channel: str, counter: str) -> int | None:
    """The platform's daily limit of one kind of message on a channel (None: no such limit)."""
    if channel != "wechat":
        return None
    wechat = config.channels.wechat
    return wechat.template_daily_quota if counter == "template" else wechat.service_daily_quota
