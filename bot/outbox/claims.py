"""Claiming due outbox rows: the only way a row goes from `pending` to `sending`.

One statement per claim: `UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING id`.
On PostgreSQL the inner SELECT takes `FOR UPDATE SKIP LOCKED`, so dispatchers
in several processes each get different rows and never wait for each other;
on SQLite the whole UPDATE is atomic (one writer at a time). The inner query
walks the `(status, due_at)` index (replies: `(status, kind, due_at)`), so its
cost follows the number of due rows, not the size of the table.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models import ChatUser, OutboxMessage

PUSH_CHANNELS = ("telegram", "wechat")


def due_query(channel: str, now: datetime, limit: int, *, kind: str | None = None) -> Select[tuple[int]]:
    """The ids of the next due rows of one channel, oldest first (the dispatcher's tick query)."""
    query = (
        select(OutboxMessage.id)
        .join(ChatUser, ChatUser.id == OutboxMessage.chat_user_id)
        .where(OutboxMessage.status == "pending", OutboxMessage.due_at <= now, ChatUser.channel == channel)
        .order_by(OutboxMessage.due_at, OutboxMessage.id)
        .limit(limit)
    )
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    return query


async def claim_due(
    db: AsyncSession,
    *,
    channel: str,
    now: datetime,
    limit: int,
    lease_seconds: float,
    kind: str | None = None,
) -> list[int]:
    """Mark up to `limit` due rows `sending` until now + lease and return their ids."""
    inner = due_query(channel, now, limit, kind=kind)
    if db.bind.dialect.name == "postgresql":
        inner = inner.with_for_update(of=OutboxMessage, skip_locked=True)
    result = await db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(inner.scalar_subquery()), OutboxMessage.status == "pending")
        .values(status="sending", locked_until=now + timedelta(seconds=lease_seconds))
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(result.scalars())


async def free_expired_claims(db: AsyncSession, now: datetime) -> int:
    """Rows whose dispatcher died mid-send go back to `pending` (at-least-once, never lost)."""
    result = await db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == "sending", OutboxMessage.locked_until < now)
        .values(status="pending", locked_until=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def skip_unpushable(db: AsyncSession, now: datetime) -> int:
    """Due rows for web or console users: nothing can reach them later, so they are skipped."""
    users = select(ChatUser.id).where(ChatUser.channel.not_in(PUSH_CHANNELS))
    result = await db.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == "pending",
            OutboxMessage.due_at <= now,
            OutboxMessage.chat_user_id.in_(users),
        )
        .values(status="skipped", delivery="no_push", last_error="this channel cannot receive messages later")
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
