"""Claiming due outbox rows: the only way a row goes from `pending` to `sending`.

One statement per claim and lane. On PostgreSQL it is
`WITH picked AS MATERIALIZED (SELECT … LIMIT n FOR UPDATE SKIP LOCKED) UPDATE … FROM picked`:
the materialised CTE runs the inner query exactly once, so a claim takes at
most n rows in time that follows n, not the backlog. (The plain
`UPDATE … WHERE id IN (SELECT … LIMIT n …)` was planned as a semi-join that
re-ran the subquery per row: it ignored the LIMIT, claimed every due row and
grew with the square of the backlog.) Dispatchers in several processes each
get different rows and never wait for each other. On SQLite the whole UPDATE
is atomic (one writer at a time). The inner query walks the
`(status, lane, due_at, id)` index.

Fencing: every claim writes a fresh `lease_token` (and bumps `claim_epoch`);
every later write of the dispatcher (a result, a renewal, a give-back) goes
through `update_claimed` (one token) or `update_jobs` (many rows, each under
its own token, in one statement), which lands only while the row is `sending`
under that token. A row whose claim lease ran out is given back by
`free_expired_claims` and reclaimed under a new token, so the old holder's
late result matches nothing and is discarded.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, Update, func, literal, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox.lanes import LANES
from bot.outbox.senders import Job
from models import ChatUser, OutboxMessage

PUSH_CHANNELS = ("telegram", "wechat")


# Earliest deadline first (a reminder whose class starts first), rows without one after them
# by due time: the order of the `(status, lane, deadline_at, due_at, id)` index (PostgreSQL keeps
# NULLs last in an ascending index, so the claim walks it without sorting).
SEND_ORDER = (OutboxMessage.deadline_at.asc().nulls_last(), OutboxMessage.due_at, OutboxMessage.id)


def due_query(channel: str, now: datetime, limit: int, *, lane: str | None = None) -> Select[tuple[int]]:
    """The ids of the next due rows of one channel (and lane), in sending order (the tick query)."""
    query = (
        select(OutboxMessage.id)
        .join(ChatUser, ChatUser.id == OutboxMessage.chat_user_id)
        .where(OutboxMessage.status == "pending", OutboxMessage.due_at <= now, ChatUser.channel == channel)
        .order_by(*SEND_ORDER)
        .limit(limit)
    )
    if lane is not None:
        query = query.where(OutboxMessage.lane == lane)
    return query


def new_token() -> str:
    return secrets.token_hex(16)


def claim_statement(
    dialect: str,
    *,
    channel: str,
    now: datetime,
    limit: int,
    lease_seconds: float,
    lane: str | None,
    token: str,
) -> Update:
    """The claim as one UPDATE (see the module docstring for why PostgreSQL's takes a CTE)."""
    inner = due_query(channel, now, limit, lane=lane)
    values = {
        "status": "sending",
        "locked_until": now + timedelta(seconds=lease_seconds),
        "lease_token": token,
        "claim_epoch": OutboxMessage.claim_epoch + 1,
    }
    if dialect == "postgresql":
        picked = (
            inner.with_for_update(of=OutboxMessage, skip_locked=True)
            .cte("picked")
            .prefix_with("MATERIALIZED")
        )
        where = [OutboxMessage.id == picked.c.id]
    else:
        where = [OutboxMessage.id.in_(inner.scalar_subquery()), OutboxMessage.status == "pending"]
    return (
        update(OutboxMessage)
        .where(*where)
        .values(**values)
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )


async def claim_due(
    db: AsyncSession,
    *,
    channel: str,
    now: datetime,
    limit: int,
    lease_seconds: float,
    lane: str | None = None,
    token: str | None = None,
) -> list[int]:
    """Mark up to `limit` due rows `sending` until now + lease under a new token; their ids."""
    if limit <= 0:
        return []
    statement = claim_statement(
        db.bind.dialect.name,
        channel=channel,
        now=now,
        limit=limit,
        lease_seconds=lease_seconds,
        lane=lane,
        token=token or new_token(),
    )
    return sorted((await db.execute(statement)).scalars())


async def claim_lanes(
    db: AsyncSession, *, channel: str, now: datetime, wants: dict[str, int], lease_seconds: float
) -> list[int]:
    """Up to `wants[lane]` due rows of each lane, the most urgent lane first, under one token."""
    token = new_token()
    ids: list[int] = []
    for lane in LANES:
        want = wants.get(lane, 0)
        if want > 0:
            ids += await claim_due(
                db, channel=channel, now=now, limit=want, lease_seconds=lease_seconds, lane=lane, token=token
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
            OutboxMessage.lane,
            OutboxMessage.lease_token,
            OutboxMessage.claim_epoch,
            OutboxMessage.delivery,
            OutboxMessage.unknown_outcomes,
            OutboxMessage.due_at,
            OutboxMessage.expires_at,
            OutboxMessage.deadline_at,
            ChatUser.id.label("user_id"),
            ChatUser.channel,
            ChatUser.external_id,
            ChatUser.reachable,
            ChatUser.last_inbound_at,
        )
        .join(ChatUser, ChatUser.id == OutboxMessage.chat_user_id)
        .where(OutboxMessage.id.in_(ids))
        .order_by(*SEND_ORDER)
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
            lane=row.lane,
            token=row.lease_token or "",
            epoch=row.claim_epoch,
            unknown_before=row.delivery == "unknown",
            unknown_outcomes=row.unknown_outcomes,
            due_at=row.due_at,
            expires_at=row.expires_at,
            deadline_at=row.deadline_at,
            chat_user_id=row.user_id,
            channel=row.channel,
            external_id=row.external_id,
            reachable=row.reachable,
            last_inbound_at=row.last_inbound_at,
            seq=next_seq(),
        )
        for row in rows.all()
    ]


def update_claimed(ids: Iterable[int], token: str, **values: Any) -> Update:
    """An UPDATE of rows only while they are claimed under `token`: the fence of every later write."""
    return (
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(list(ids)),
            OutboxMessage.status == "sending",
            OutboxMessage.lease_token == token,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def update_jobs(jobs: Iterable[Job], **values: Any) -> Update:
    """`update_claimed` for many claims at once: each row only under its own job's token, one statement."""
    return (
        update(OutboxMessage)
        .where(
            tuple_(OutboxMessage.id, OutboxMessage.lease_token).in_([(job.id, job.token) for job in jobs]),
            OutboxMessage.status == "sending",
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )


async def renew_claims(db: AsyncSession, jobs: Iterable[Job], until: datetime) -> set[int]:
    """Keep queued and on-the-wire rows claimed, so no other dispatcher frees them; the ids still ours."""
    jobs = list(jobs)
    if not jobs:
        return set()
    result = await db.execute(update_jobs(jobs, locked_until=until).returning(OutboxMessage.id))
    return set(result.scalars())


async def release_claims(db: AsyncSession, jobs: Iterable[Job], not_before: datetime | None = None) -> None:
    """Give claimed, unsent rows back to `pending`, due no earlier than `not_before` when given."""
    values: dict[str, Any] = {"status": "pending", "locked_until": None, "lease_token": None}
    if not_before is not None:
        # Later rows of a chat wait for its failed one, so the chat sees them in order.
        bound = literal(not_before, OutboxMessage.__table__.c.due_at.type)
        larger = func.greatest if db.bind.dialect.name == "postgresql" else func.max
        values["due_at"] = larger(OutboxMessage.due_at, bound)
    jobs = list(jobs)
    if jobs:
        await db.execute(update_jobs(jobs, **values))


async def free_expired_claims(db: AsyncSession, now: datetime) -> int:
    """Rows whose dispatcher died mid-send go back to `pending` (at-least-once, never lost).

    Only rows whose lease ran out: a live holder renews its claims well before
    that. Clearing the token fences the old holder off: if it was only slow,
    its late result matches nothing and is discarded.
    """
    result = await db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == "sending", OutboxMessage.locked_until < now)
        .values(status="pending", locked_until=None, lease_token=None)
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
