"""Gauges counted from the database at scrape time (the same truth from every process)."""

from __future__ import annotations

from datetime import datetime

from prometheus_client.core import Metric
from sqlalchemy import func, select

from bot.ops.metrics import gauge
from bot.services import Services
from models import ChatUser, OutboxMessage
from models.handover import OPEN_STATES, Handover

# The statuses that say "still to do" or "needs a person"; sent/skipped/cancelled rows only
# grow, and the send counters already tell their rate.
DEPTH_STATUSES = ("pending", "sending", "failed", "dead")


async def database_gauges(services: Services) -> list[Metric]:
    now = services.clock.now()
    async with services.db.session() as db:
        depth = (
            await db.execute(
                select(
                    ChatUser.channel,
                    OutboxMessage.lane,
                    OutboxMessage.kind,
                    OutboxMessage.status,
                    func.count(),
                )
                .join(ChatUser, ChatUser.id == OutboxMessage.chat_user_id)
                .where(OutboxMessage.status.in_(DEPTH_STATUSES))
                .group_by(ChatUser.channel, OutboxMessage.lane, OutboxMessage.kind, OutboxMessage.status)
            )
        ).all()
        waiting = (
            await db.execute(
                select(ChatUser.channel, func.count(), func.min(Handover.opened_at))
                .join(ChatUser, ChatUser.id == Handover.chat_user_id)
                .where(Handover.state.in_(OPEN_STATES))
                .group_by(ChatUser.channel)
            )
        ).all()
    # `lane` is the row's sending lane (reply, reminder, broadcast: the order the claim walks);
    # `kind` says what it is (nudge, check_in_reminder, notice, ...) inside that lane.
    outbox = gauge(
        "bot_outbox_depth",
        "Outbox rows by channel, lane, kind and status (pending, sending, failed, dead)",
        ["channel", "lane", "kind", "status"],
        (((channel, lane, kind, status), float(n)) for channel, lane, kind, status, n in depth),
    )
    queue = gauge(
        "bot_handover_queue_length",
        "Chat users waiting for a person (转人工) by channel",
        ["channel"],
        (((channel,), float(n)) for channel, n, _ in waiting),
    )
    wait = gauge(
        "bot_handover_oldest_wait_seconds",
        "How long the longest-waiting 转人工 request has waited, by channel",
        ["channel"],
        (((channel,), _age(now, oldest)) for channel, _, oldest in waiting),
    )
    return [outbox, queue, wait]


def _age(now: datetime, since: datetime | None) -> float:
    if since is None:
        return 0.0
    return max(0.0, (now - since).total_seconds())
