"""Broadcast notices: sending now or later, fan-out into the outbox, cancel, listing.

The fan-out is one `INSERT … SELECT … ON CONFLICT DO NOTHING` per broadcast,
in the same transaction that moves it from scheduled to sending: a crash
leaves either nothing (the job tries again) or every row, and the keys
`broadcast:{id}:{chat_user_id}` make a second attempt add nothing. The
dispatcher paces delivery; cancelling marks the rows still pending as
cancelled, so a row already handed to a platform is never sent twice.
Who receives a notice is `bot.broadcasts.audience`; what became of each
message, `bot.broadcasts.results`; the periodic job, `bot.broadcasts.job`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, case, cast, func, literal, null, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.audit import audit
from bot.auth import Principal, forbidden
from bot.broadcasts.audience import (
    Audience,
    api_error,
    check_audience,
    dialect_of,
    parse_audience,
    recipients_query,
)
from bot.broadcasts.config import get_config
from bot.broadcasts.status import open_rows, settle
from bot.outbox import kick
from bot.texts import Texts
from models import Broadcast, ChatUser, OutboxMessage
from models.base import JSONType, UTCDateTime

FALLBACKS = ("template", "skip")


@dataclass
class NoticeInput:
    title: str
    text: str
    link: str | None
    send_at: datetime
    wechat_fallback: str
    audience: Audience


def _parse_send_at(raw: Any, now: datetime, texts: Texts) -> datetime:
    cfg = get_config().notice
    if raw is None or raw == "":
        return now
    if not isinstance(raw, str):
        raise api_error(400, "invalid_send_at", texts, "send_at_format")
    try:
        when = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise api_error(400, "invalid_send_at", texts, "send_at_format") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=now.tzinfo)
    if when < now - timedelta(seconds=cfg.past_tolerance_seconds):
        raise api_error(400, "invalid_send_at", texts, "send_at_past")
    if when > now + timedelta(days=cfg.max_schedule_days):
        raise api_error(400, "invalid_send_at", texts, "send_at_far", days=cfg.max_schedule_days)
    return max(when, now)


def parse_notice(body: dict[str, Any], now: datetime, texts: Texts) -> NoticeInput:
    """A notice from a request body (API or console form); 400 naming the first bad field."""
    cfg = get_config().notice
    title, text, link = body.get("title"), body.get("text"), body.get("link")
    if not isinstance(title, str) or not title.strip():
        raise api_error(400, "invalid_title", texts, "title_missing")
    if len(title.strip()) > cfg.max_title_chars:
        raise api_error(400, "invalid_title", texts, "title_long", n=cfg.max_title_chars)
    if not isinstance(text, str) or not text.strip():
        raise api_error(400, "invalid_text", texts, "text_missing")
    if len(text.strip()) > cfg.max_text_chars:
        raise api_error(400, "invalid_text", texts, "text_long", n=cfg.max_text_chars)
    if link is not None and link != "":
        if not isinstance(link, str):
            raise api_error(400, "invalid_link", texts, "link")
        link = link.strip()
        if (
            not link.startswith(("https://", "http://"))
            or len(link) > cfg.max_link_chars
            or any(c.isspace() for c in link)
            or len(link.split("://", 1)[1]) < 3
        ):
            raise api_error(400, "invalid_link", texts, "link")
    else:
        link = None
    fallback = body.get("wechat_fallback") or "template"
    if fallback not in FALLBACKS:
        raise api_error(400, "invalid_wechat_fallback", texts, "fallback")
    return NoticeInput(
        title=title.strip(),
        text=text.strip(),
        link=link,
        send_at=_parse_send_at(body.get("send_at"), now, texts),
        wechat_fallback=fallback,
        audience=parse_audience(body.get("target"), body.get("audience"), texts),
    )


def render_notice(broadcast: Broadcast, texts: Texts) -> str:
    message = texts.get("broadcasts.notice", title=broadcast.title, text=broadcast.text)
    if broadcast.link:
        message += "\n" + texts.get("broadcasts.link", link=broadcast.link)
    return message


def _scope_principal(broadcast: Broadcast) -> Principal:
    scope = broadcast.scope
    return Principal(
        role=scope["role"], region_code=scope["region_code"], institution_id=scope.get("institution_id")
    )


def _audience_of(broadcast: Broadcast) -> Audience:
    return Audience(target=broadcast.target, **broadcast.audience)


async def create_broadcast(
    db: AsyncSession, principal: Principal, notice: NoticeInput, now: datetime, texts: Texts
) -> Broadcast:
    """Record a notice; one due now is fanned out in the same transaction."""
    await check_audience(db, principal, notice.audience, texts)
    broadcast = Broadcast(
        title=notice.title,
        text=notice.text,
        link=notice.link,
        target=notice.audience.target,
        audience=notice.audience.filters(),
        send_at=notice.send_at,
        status="scheduled",
        wechat_fallback=notice.wechat_fallback,
        scope=principal.scope(),
        created_by=principal.staff_id,
        created_by_actor=principal.actor,
        created_at=now,
    )
    db.add(broadcast)
    await db.flush()
    await audit(
        db,
        principal.actor,
        "broadcast_create",
        "broadcast",
        broadcast.id,
        target=broadcast.target,
        audience=broadcast.audience,
        send_at=broadcast.send_at.isoformat(),
    )
    if notice.send_at <= now:
        # Sending now to nobody is a mistake to report; the exception rolls everything back.
        if not await fan_out(db, broadcast.id, now, texts):
            raise api_error(400, "empty_audience", texts, "empty_audience")
        await db.refresh(broadcast)
    return broadcast


async def fan_out(db: AsyncSession, broadcast_id: int, now: datetime, texts: Texts) -> int | None:
    """Claim a scheduled broadcast and insert its outbox rows; None when another run claimed it."""
    claimed = await db.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id, Broadcast.status == "scheduled")
        .values(status="sending", started_at=now)
    )
    if claimed.rowcount != 1:
        return None
    broadcast = await db.get(Broadcast, broadcast_id, populate_existing=True)
    assert broadcast is not None
    principal, audience = _scope_principal(broadcast), _audience_of(broadcast)
    message = render_notice(broadcast, texts)
    template: dict[str, Any] | None = None
    if broadcast.wechat_fallback == "template":
        template = {
            "template": get_config().notice.wechat_template,
            "fields": {
                "title": broadcast.title,
                "date": broadcast.send_at.astimezone(now.tzinfo).strftime("%Y-%m-%d %H:%M"),
                "text": broadcast.text,
                "link": broadcast.link or "",
            },
        }
    insert = pg_insert if dialect_of(db) == "postgresql" else sqlite_insert
    key = literal(f"broadcast:{broadcast.id}:") + cast(ChatUser.id, String)
    columns = [
        "idempotency_key",
        "chat_user_id",
        "kind",
        "text",
        "choices",
        "template",
        "due_at",
        "status",
        "attempts",
        "delivery",
        "broadcast_id",
        "created_at",
        "lane",  # bot.outbox.lanes: broadcasts go after replies and reminders
    ]
    # Reachable accounts queue for delivery; those a platform already refused are
    # recorded as unreachable at once, so the results add up to the audience.
    reachable = ChatUser.reachable.is_(True)
    rows = recipients_query(
        audience,
        principal,
        dialect_of(db),
        key,
        ChatUser.id,
        literal("broadcast"),
        literal(message),
        literal([], JSONType),
        literal(template, JSONType) if template is not None else null(),
        literal(broadcast.send_at, UTCDateTime()),
        case((reachable, literal("pending")), else_=literal("skipped")),
        literal(0),
        case((reachable, null()), else_=literal("unreachable")),
        literal(broadcast.id),
        literal(now, UTCDateTime()),
        literal("broadcast"),
    )
    await db.execute(
        insert(OutboxMessage)
        .from_select(columns, rows)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    # Counted from the rows rather than this run's inserts, so a repeated run cannot zero it.
    total = (
        await db.execute(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.broadcast_id == broadcast.id)
        )
    ).scalar_one()
    broadcast.recipients = total
    if total == 0:
        broadcast.status, broadcast.finished_at = "done", now
    await audit(db, "system", "broadcast_fan_out", "broadcast", broadcast.id, recipients=total)
    await db.flush()
    return total


def visible_to(principal: Principal, broadcast: Broadcast) -> bool:
    """Staff see the broadcasts sent within their scope (their own and their subordinates')."""
    return principal.covers_scope(broadcast.scope) or (
        principal.staff_id is not None and broadcast.created_by == principal.staff_id
    )


async def get_visible(
    db: AsyncSession, principal: Principal, broadcast_id: int, texts: Texts, now: datetime | None = None
) -> Broadcast:
    """The broadcast if the caller may see it; with `now`, its status settled first (`settle`)."""
    broadcast = await db.get(Broadcast, broadcast_id)
    if broadcast is None:
        raise api_error(404, "broadcast_not_found", texts, "broadcast_not_found")
    if not visible_to(principal, broadcast):
        raise forbidden(texts.get("console.errors.out_of_scope"))
    if now is not None:
        await settle(db, broadcast, now)
    return broadcast


async def list_visible(
    db: AsyncSession, principal: Principal, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> list[Broadcast]:
    """Newest first. Filtering by scope happens in Python on a bounded window of rows: a
    broadcast's scope is JSON, and staff lists are short."""
    query = select(Broadcast).order_by(Broadcast.id.desc())
    if status is not None:
        query = query.where(Broadcast.status == status)
    visible: list[Broadcast] = []
    skipped = 0
    batch_offset = 0
    batch = 500
    while len(visible) < limit:
        rows = list((await db.execute(query.limit(batch).offset(batch_offset))).scalars())
        for b in rows:
            if not visible_to(principal, b):
                continue
            if skipped < offset:
                skipped += 1
                continue
            visible.append(b)
            if len(visible) == limit:
                break
        if len(rows) < batch:
            break
        batch_offset += batch
    return visible


async def cancel(
    db: AsyncSession, principal: Principal, broadcast_id: int, now: datetime, texts: Texts
) -> Broadcast:
    """Stop a scheduled or running broadcast; what a platform already has is not recalled."""
    broadcast = await get_visible(db, principal, broadcast_id, texts, now)
    if broadcast.status == "cancelled":
        return broadcast
    # Only while something is left to stop: a scheduled notice, or a sending one with rows
    # still queued. Once every row is delivered the notice is done and cancel is a 409,
    # decided in this one statement so a delivery finishing meanwhile cannot slip between.
    changed = await db.execute(
        update(Broadcast)
        .where(
            Broadcast.id == broadcast_id,
            or_(
                Broadcast.status == "scheduled",
                (Broadcast.status == "sending") & open_rows(Broadcast.id),
            ),
        )
        .values(status="cancelled", cancelled_at=now)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:
        await settle(db, broadcast, now)
        raise api_error(409, "broadcast_finished", texts, "broadcast_finished")
    stopped = await cancel_pending_rows(db, broadcast_id)
    await audit(db, principal.actor, "broadcast_cancel", "broadcast", broadcast_id, stopped=stopped)
    refreshed = await db.get(Broadcast, broadcast_id, populate_existing=True)
    assert refreshed is not None
    return refreshed


async def cancel_pending_rows(db: AsyncSession, broadcast_id: int) -> int:
    """Rows still waiting become cancelled; a row the dispatcher holds (sending) finishes."""
    result = await db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.status == "pending")
        .values(status="cancelled", locked_until=None)
    )
    return max(result.rowcount or 0, 0)


def to_json(broadcast: Broadcast, tz: Any) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return value.astimezone(tz).isoformat() if value is not None else None

    return {
        "id": broadcast.id,
        "title": broadcast.title,
        "text": broadcast.text,
        "link": broadcast.link,
        "target": broadcast.target,
        "audience": broadcast.audience,
        "send_at": iso(broadcast.send_at),
        "status": broadcast.status,
        "recipients": broadcast.recipients,
        "wechat_fallback": broadcast.wechat_fallback,
        "created_by": broadcast.created_by_actor,
        "created_at": iso(broadcast.created_at),
        "started_at": iso(broadcast.started_at),
        "finished_at": iso(broadcast.finished_at),
        "cancelled_at": iso(broadcast.cancelled_at),
    }


def start_delivery(app: Any, broadcast: Broadcast) -> None:
    """A notice fanned out just now: wake the dispatcher rather than wait for its next tick.

    Only where the scheduler runs (in `serve`): there the dispatcher is this process's
    delivery engine; without it (tests, one-off tools) the rows wait for whoever dispatches.
    """
    if broadcast.status == "sending" and app.get("scheduler") is not None:
        kick(app["services"])
