"""What became of each message of a broadcast, read from its outbox rows.

The dispatcher records `status` and `delivery` on every row (see
`models.outbox.OutboxMessage`); staff read them as one of seven results.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.broadcasts.audience import PUSH_CHANNELS
from models import Broadcast, ChatUser, Institution, OutboxMessage, Trainee

# Result categories of one delivery, in display order.
RESULTS = ("queued", "sent", "sent_template", "outside_window", "unreachable", "failed", "cancelled")
OPEN_STATUSES = ("pending", "sending")


def result_of(status: str, delivery: str | None) -> str:
    """One delivery's result as staff read it, from the outbox row's status and delivery."""
    if status in OPEN_STATUSES:
        return "queued"
    if status == "cancelled":
        return "cancelled"
    if delivery == "unreachable":
        return "unreachable"
    if status == "sent":
        return "sent_template" if delivery == "template" else "sent"
    if status == "skipped":
        if delivery == "outside_window":
            return "outside_window"
        # "no_push" (a channel nothing can reach later) is unreachable too; "expired" failed.
        return "unreachable" if delivery in (None, "no_push") else "failed"
    return "failed"


def _result_conditions(result: str) -> ColumnElement[bool]:
    s, d = OutboxMessage.status, OutboxMessage.delivery
    not_unreachable = or_(d.is_(None), d != "unreachable")
    return {
        "queued": s.in_(OPEN_STATUSES),
        "cancelled": s == "cancelled",
        "unreachable": and_(
            s.not_in((*OPEN_STATUSES, "cancelled")),
            or_(d == "unreachable", and_(s == "skipped", or_(d.is_(None), d == "no_push"))),
        ),
        "sent": and_(s == "sent", or_(d.is_(None), d.not_in(("template", "unreachable")))),
        "sent_template": and_(s == "sent", d == "template"),
        "outside_window": and_(s == "skipped", d == "outside_window"),
        "failed": or_(
            and_(s.in_(("failed", "dead")), not_unreachable),
            and_(s == "skipped", d.not_in(("outside_window", "unreachable", "no_push"))),
        ),
    }[result]


async def progress(db: AsyncSession, broadcast: Broadcast) -> dict[str, Any]:
    """Counts per channel and result, read from the outbox rows themselves."""
    rows = (
        await db.execute(
            select(ChatUser.channel, OutboxMessage.status, OutboxMessage.delivery, func.count())
            .join(ChatUser, ChatUser.id == OutboxMessage.chat_user_id)
            .where(OutboxMessage.broadcast_id == broadcast.id)
            .group_by(ChatUser.channel, OutboxMessage.status, OutboxMessage.delivery)
        )
    ).all()
    totals = dict.fromkeys(RESULTS, 0)
    by_channel: dict[str, dict[str, int]] = {}
    for channel, status, delivery, count in rows:
        result = result_of(status, delivery)
        totals[result] += count
        by_channel.setdefault(channel, dict.fromkeys(RESULTS, 0))[result] += count
    rows_total = sum(totals.values())
    status = broadcast.status
    if status == "sending" and totals["queued"] == 0:
        status = "done"
    return {
        "status": status,
        "recipients": broadcast.recipients if broadcast.recipients is not None else rows_total,
        "finished": rows_total - totals["queued"],
        "results": totals,
        "by_channel": {ch: by_channel[ch] for ch in PUSH_CHANNELS if ch in by_channel},
    }


async def deliveries(
    db: AsyncSession, broadcast: Broadcast, *, result: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[int, list[dict[str, Any]]]:
    """One line per recipient: who, on which channel, and what became of the message."""
    where = [OutboxMessage.broadcast_id == broadcast.id]
    if result is not None:
        where.append(_result_conditions(result))
    total = (await db.execute(select(func.count(OutboxMessage.id)).where(*where))).scalar_one()
    rows = (
        await db.execute(
            select(
                OutboxMessage.id,
                OutboxMessage.status,
                OutboxMessage.delivery,
                OutboxMessage.attempts,
                OutboxMessage.sent_at,
                OutboxMessage.last_error,
                ChatUser.channel,
                ChatUser.display_name,
                Trainee.name,
                Institution.name,
            )
            .join(ChatUser, ChatUser.id == OutboxMessage.chat_user_id)
            .outerjoin(Trainee, Trainee.id == ChatUser.trainee_id)
            .outerjoin(Institution, Institution.id == ChatUser.institution_id)
            .where(*where)
            .order_by(OutboxMessage.id)
            .limit(limit)
            .offset(offset)
        )
    ).all()
    items = [
        {
            "id": r[0],
            "recipient": r[8] or r[9] or r[7] or "",
            "channel": r[6],
            "result": result_of(r[1], r[2]),
            "status": r[1],
            "delivery": r[2],
            "attempts": r[3],
            "sent_at": r[4],
            # Platform errors can be long; the first line says enough on a list.
            "error": (r[5] or "").splitlines()[0][:200] if r[5] else None,
        }
        for r in rows
    ]
    return int(total), items
