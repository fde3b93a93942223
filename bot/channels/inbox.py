"""The durable inbox of the messenger channels: dedupe, hand-over to the outbox, recovery.

Every platform delivery is recorded (`InboundUpdate`) before the engine
sees it, under the key the platform repeats on a retry. That one row makes
three guarantees:

- a retry triggers nothing twice: a later delivery of the same key finds the
  row and only repeats an answer (the engine also dedupes its own turn by
  `platform_msg_id` and hands back the first answer unchanged);
- an answer that must go out later (WeChat took too long; every Telegram
  reply) is enqueued in the outbox in the same transaction that marks the row
  `queued`, with idempotency keys derived from the delivery;
- a crash loses nothing: the engine commits its turn, and only then are the
  replies enqueued. If the process dies in between (or mid-turn), the row stays
  `received`/`async`, and the recovery sweep (`recover`, a scheduled job)
  runs the turn again - the engine returns the stored answer, or runs the
  turn afresh if it never committed - and enqueues the replies.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.channels.render import merge_for_wechat
from bot.identity import mask_personal
from bot.outbox import enqueue, kick
from bot.outbox.config import delivery_config
from handlers.base import Reply
from models import ChatUser, InboundUpdate, Message, OutboxMessage

if TYPE_CHECKING:
    from bot.engine import Engine, TurnResult
    from bot.scheduler import Scheduler
    from bot.services import Services

log = logging.getLogger(__name__)

FINAL = ("queued", "done", "failed")


@dataclass(frozen=True)
class Inbound:
    """A snapshot of an inbox row (no ORM session attached)."""

    id: int
    channel: str
    dedupe_key: str
    external_id: str
    kind: str
    text: str | None
    platform_msg_id: str | None
    status: str
    attempts: int


def _snapshot(row: InboundUpdate) -> Inbound:
    return Inbound(
        row.id,
        row.channel,
        row.dedupe_key,
        row.external_id,
        row.kind,
        row.text,
        row.platform_msg_id,
        row.status,
        row.attempts,
    )


async def _record(
    db: AsyncSession,
    *,
    channel: str,
    key: str,
    external_id: str,
    kind: str,
    status: str,
    now: datetime,
    text: str | None = None,
    platform_msg_id: str | None = None,
) -> bool:
    """Insert the dedupe row of a delivery unless its key is known; whether this was the first time."""
    insert = pg_insert if db.bind.dialect.name == "postgresql" else sqlite_insert
    created = await db.execute(
        insert(InboundUpdate)
        .values(
            channel=channel,
            dedupe_key=key[:160],
            external_id=external_id,
            kind=kind,
            # Masked at the door: a crash recovery re-runs the masked text (a bind attempt in
            # it then asks for the number again) rather than keeping the raw delivery for days.
            text=None if text is None else mask_personal(text),
            platform_msg_id=platform_msg_id,
            status=status,
            attempts=0,
            received_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["channel", "dedupe_key"])
    )
    return bool(created.rowcount)  # type: ignore[attr-defined]


async def accept(
    services: Services,
    *,
    channel: str,
    key: str,
    external_id: str,
    kind: str,
    text: str | None = None,
    platform_msg_id: str | None = None,
    status: str = "received",
) -> tuple[Inbound, bool]:
    """Record a delivery; (the row, True) the first time, (the existing row, False) on a retry."""
    now = services.clock.now()
    async with services.db.session() as db:
        created = await _record(
            db,
            channel=channel,
            key=key,
            external_id=external_id,
            kind=kind,
            status=status,
            now=now,
            text=text,
            platform_msg_id=platform_msg_id,
        )
        row = (
            await db.execute(
                select(InboundUpdate).where(
                    InboundUpdate.channel == channel, InboundUpdate.dedupe_key == key[:160]
                )
            )
        ).scalar_one()
        return _snapshot(row), created


async def transition(services: Services, row_id: int, to: str, *, expect: tuple[str, ...]) -> bool:
    """Move a row to `to` if it is in one of `expect` (atomic compare-and-set); whether it moved."""
    async with services.db.session() as db:
        return await _transition(db, row_id, to, expect, services.clock.now())


async def _transition(db: AsyncSession, row_id: int, to: str, expect: tuple[str, ...], now: datetime) -> bool:
    result = await db.execute(
        update(InboundUpdate)
        .where(InboundUpdate.id == row_id, InboundUpdate.status.in_(expect))
        .values(status=to, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def enqueue_replies(
    services: Services, row: Inbound, replies: list[Reply], chat_user_id: int, *, kick_now: bool = True
) -> bool:
    """Put a turn's replies in the outbox and mark the row `queued`, in one transaction.

    WeChat gets the turn as one message (numbered choices at the end, like a
    passive reply); Telegram gets one message per reply, each with its buttons.
    False when another delivery of the same update already did it.
    """
    now = services.clock.now()
    async with services.db.session() as db:
        if not await _transition(db, row.id, "queued", ("received", "answered", "async"), now):
            return False
        # Someone who just wrote to us can be reached again (they unblocked the bot).
        await db.execute(
            update(ChatUser)
            .where(ChatUser.id == chat_user_id, ChatUser.reachable.is_(False))
            .values(reachable=True)
            .execution_options(synchronize_session=False)
        )
        for number, (text, choices) in enumerate(outgoing(services, row.channel, replies)):
            await enqueue(
                db,
                key=f"reply:{row.channel}:{row.dedupe_key}:{number}",
                chat_user_id=chat_user_id,
                kind="reply",
                text=text,
                choices=choices,
                due_at=now,
            )
    if kick_now:
        kick(services)
    return True


def outgoing(services: Services, channel: str, replies: list[Reply]) -> list[tuple[str, list[str]]]:
    if not replies:
        return []
    if channel == "wechat":
        return [merge_for_wechat(replies, services.texts)]
    return [(r.text, list(r.choices)) for r in replies]


async def record_notice(services: Services, engine: Engine, channel: str, external_id: str, text: str) -> int:
    """A channel's own answer (e.g. "only text, please") in the transcript; the chat user's id."""
    async with services.db.session() as db:
        user = await engine.get_user(db, channel, external_id, lock=False)
        db.add(Message(chat_user_id=user.id, direction="out", text=text, created_at=services.clock.now()))
        return user.id


async def set_reachable(
    services: Services, engine: Engine, *, channel: str, external_id: str, key: str, reachable: bool
) -> bool:
    """Follow / unfollow / block, applied once per delivery in the same transaction as its dedupe row.

    Unreachable users' pending messages are skipped at once, so reminders and
    broadcast results say so immediately rather than at their due time.
    """
    now = services.clock.now()
    async with services.db.session() as db:
        if not await _record(
            db, channel=channel, key=key, external_id=external_id, kind="member", status="done", now=now
        ):
            return False
        user = await engine.get_user(db, channel, external_id, lock=True)
        user.reachable = reachable
        if not reachable:
            await db.execute(
                update(OutboxMessage)
                .where(OutboxMessage.chat_user_id == user.id, OutboxMessage.status == "pending")
                .values(
                    status="skipped",
                    delivery="unreachable",
                    last_error="the user unsubscribed or blocked the bot",
                )
                .execution_options(synchronize_session=False)
            )
        return True


# -- recovery ---------------------------------------------------------------
def engine_of(services: Services) -> Engine:
    """The app's engine (its per-user locks matter), or a new one in a process without an app."""
    engine = services.extra.get("engine")
    if engine is None:
        from bot.engine import Engine

        engine = services.extra["engine"] = Engine(services)
    return engine  # type: ignore[no-any-return]


async def recover(services: Services) -> int:
    """Run again the deliveries a crash left unanswered, and send their replies through the outbox."""
    config = delivery_config(services).inbox
    now = services.clock.now()
    cutoff = now - timedelta(seconds=config.recover_after_seconds)
    async with services.db.session() as db:
        rows = [
            _snapshot(r)
            for r in (
                await db.execute(
                    select(InboundUpdate)
                    .where(
                        InboundUpdate.status.in_(("received", "async")),
                        InboundUpdate.received_at < cutoff,
                    )
                    .order_by(InboundUpdate.id)
                    .limit(200)
                )
            ).scalars()
        ]
    engine = engine_of(services)
    recovered = 0
    for row in rows:
        recovered += await _recover_one(services, engine, row, config.max_attempts)
    if recovered:
        log.warning("inbox: recovered %d deliveries left unanswered by a crash", recovered)
    return recovered


async def _recover_one(services: Services, engine: Engine, row: Inbound, max_attempts: int) -> int:
    async with services.db.session() as db:
        await db.execute(
            update(InboundUpdate)
            .where(InboundUpdate.id == row.id)
            .values(attempts=InboundUpdate.attempts + 1, updated_at=services.clock.now())
        )
    if row.text is None:
        await transition(services, row.id, "done", expect=("received", "async"))
        return 0
    try:
        result: TurnResult = await engine.handle(
            row.channel, row.external_id, row.text, platform_msg_id=row.platform_msg_id
        )
    except Exception:
        log.exception("inbox: recovering delivery %s failed (attempt %d)", row.id, row.attempts + 1)
        if row.attempts + 1 >= max_attempts:
            await _give_up(services, engine, row)
        return 0
    return int(await enqueue_replies(services, row, result.replies, result.chat_user_id))


async def _give_up(services: Services, engine: Engine, row: Inbound) -> None:
    """The turn keeps failing: tell the user we got the message, so they are not left waiting."""
    apology = services.texts.get("menu.internal_error")
    async with services.db.session() as db:
        if not await _transition(db, row.id, "failed", ("received", "async"), services.clock.now()):
            return
        user = await engine.get_user(db, row.channel, row.external_id, lock=False)
        await enqueue(
            db,
            key=f"reply:{row.channel}:{row.dedupe_key}:failed",
            chat_user_id=user.id,
            kind="reply",
            text=apology,
            due_at=services.clock.now(),
        )
        db.add(Message(chat_user_id=user.id, direction="out", text=apology, created_at=services.clock.now()))
    kick(services)


async def purge(services: Services) -> int:
    """Forget dedupe records older than the retention: platforms only retry within minutes."""
    days = delivery_config(services).inbox.retention_days
    cutoff = services.clock.now() - timedelta(days=days)
    async with services.db.session() as db:
        result = await db.execute(
            delete(InboundUpdate)
            .where(InboundUpdate.received_at < cutoff, InboundUpdate.status.in_((*FINAL, "answered")))
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def sweep(services: Services) -> None:
    await recover(services)
    await purge(services)


def register(scheduler: Scheduler) -> None:
    seconds = delivery_config(scheduler.services).inbox.recover_interval_seconds
    scheduler.add("channel-inbox-recovery", sweep, "interval", seconds=seconds)
