"""Claiming due outbox rows: the only way a row goes from `pending` to `sending`.

One statement per claim: `UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING id`.
On PostgreSQL the inner SELECT takes `FOR UPDATE SKIP LOCKED`, so dispatchers
in several processes each get different rows and never wait for each other;
on SQLite the whole UPDATE is atomic (one writer at a time). The inner query
walks the `(status, due_at)` index (replies: `(status, kind, due_at)`), so its
cost follows the number of due rows, not the size of the table.

A claim is held while the row stays `sending`: every later write of the
dispatcher (a result, a renewal, a give-back) goes through `update_claimed`,
the one fence that keeps it from overwriting a row somebody took back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, Update, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox.senders import Job
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


async def claim_batch(
    db: AsyncSession, *, channel: str, now: datetime, want: int, lease_seconds: float
) -> list[int]:
    """Up to `want` due rows of one channel, replies first: a waiting person goes before a broadcast."""
    ids = await claim_due(db, channel=channel, now=now, limit=want, lease_seconds=lease_seconds, kind="reply")
    if len(ids) < want:
        ids += await claim_due(
            db, channel=channel, now=now, limit=want - len(ids), lease_seconds=lease_seconds
        )
    return ids


async def load_jobs(db: AsyncSession, ids: list[int], next_seq: Callable[[], int]) -> list[Job]:
    """The claimed rows with what sending needs of their chat users, in sending order."""
    # Plain columns, not ORM objects: this runs beside the sends, so it must stay light.
    rows = await db.execute(
        select(
            OutboxMessage.id,
            OutboxMessage.idempotency_key,
            OutboxMessage.kind,
            OutboxMessage.text,
            OutboxMessage.choices,
            OutboxMessage.template,
            OutboxMessage.attempts,
            OutboxMessage.due_at,
            OutboxMessage.expires_at,
            ChatUser.id.label("user_id"),
            ChatUser.channel,
            ChatUser.external_id,
            ChatUser.reachable,
            ChatUser.last_inbound_at,
        )
        .join(ChatUser, ChatUser.id == OutboxMessage.chat_user_id)
        .where(OutboxMessage.id.in_(ids))
        .order_by(OutboxMessage.kind != "reply", OutboxMessage.due_at, OutboxMessage.id)
    )
    return [
        Job(
            id=row.id,
            key=row.idempotency_key,
            kind=row.kind,
            text=row.text,
            choices=list(row.choices or []),
            template=row.template,
            attempts=row.attempts,
            due_at=row.due_at,
            expires_at=row.expires_at,
            chat_user_id=row.user_id,
            channel=row.channel,
            external_id=row.external_id,
            reachable=row.reachable,
            last_inbound_at=row.last_inbound_at,
            seq=next_seq(),
        )
        for row in rows.all()
    ]


def update_claimed(ids: Iterable[int], **values: Any) -> Update:
    """An UPDATE of rows only while they are still claimed (`sending`): the fence of every later write."""
    return (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(list(ids)), OutboxMessage.status == "sending")
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def renew_claims(db: AsyncSession, ids: list[int], until: datetime) -> None:
    """Keep queued and on-the-wire rows claimed, so no other dispatcher frees them mid-send."""
    await db.execute(update_claimed(ids, locked_until=until))


async def release_claims(db: AsyncSession, ids: list[int], not_before: datetime | None = None) -> None:
    """Give claimed, unsent rows back to `pending`, due no earlier than `not_before` when given."""
    values: dict[str, Any] = {"status": "pending", "locked_until": None}
    if not_before is not None:
        # Later rows of a chat wait for its failed one, so the chat sees them in order.
        bound = literal(not_before, OutboxMessage.__table__.c.due_at.type)
        larger = func.greatest if db.bind.dialect.name == "postgresql" else func.max
        values["due_at"] = larger(OutboxMessage.due_at, bound)
    await db.execute(update_claimed(ids, **values))


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
