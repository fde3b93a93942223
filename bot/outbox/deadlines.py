"""Rows with a deadline (a check-in reminder is worth nothing once the class began): the drop rule.

A row is not sent when its deadline is nearer than the channel's send time
(`channels.<ch>.send_seconds`): it would arrive after the moment it was
for. It is skipped with delivery "too_late", counted in
`bot_outbox_dropped_late` and logged, and the console shows the count per
class and day (`bot.attendance.planning.dropped_by_class`). The check runs
where a row could still go out: on the pending rows (the attendance tick's
sweep), when a row is claimed, and right before its send starts.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.ops import metrics
from models import ChatUser, OutboxMessage

log = logging.getLogger(__name__)

TOO_LATE = "too_late"
TOO_LATE_REASON = "could no longer arrive before its deadline (the class had begun or was about to)"


def too_late(deadline_at: datetime | None, now: datetime, send_seconds: float) -> bool:
    return deadline_at is not None and deadline_at - now < timedelta(seconds=send_seconds)


def note_dropped(channel: str, kind: str, row_id: int, deadline_at: datetime | None, count: int = 1) -> None:
    metrics.dropped_late(channel, kind, count)
    log.warning(
        "outbox %s: %s row %s not sent: too late for its deadline %s", channel, kind, row_id, deadline_at
    )


async def drop_pending_too_late(db: AsyncSession, now: datetime, send_seconds: dict[str, float]) -> int:
    """Pending rows of each channel that can no longer arrive in time become skipped "too_late"."""
    dropped = 0
    for channel, seconds in send_seconds.items():
        users = select(ChatUser.id).where(ChatUser.channel == channel)
        result = await db.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.status == "pending",
                OutboxMessage.deadline_at.is_not(None),
                OutboxMessage.deadline_at < now + timedelta(seconds=seconds),
                OutboxMessage.chat_user_id.in_(users),
            )
            .values(status="skipped", delivery=TOO_LATE, last_error=TOO_LATE_REASON)
            .returning(OutboxMessage.id, OutboxMessage.kind)
            .execution_options(synchronize_session=False)
        )
        rows = result.all()
        kinds: dict[str, int] = {}
        for _, kind in rows:
            kinds[kind] = kinds.get(kind, 0) + 1
        for kind, count in kinds.items():
            metrics.dropped_late(channel, kind, count)
        if rows:
            log.warning("outbox %s: %d pending rows dropped: too late to arrive", channel, len(rows))
        dropped += len(rows)
    return dropped
