"""The hand-over's life: requested, routed, claimed, answered, closed or given back.

One place for every state change, used by the 转人工 handler, the engine's
step-aside hook, the staff API, the console and the hand-back job, so each
change is audited the same way. Staff actions lock the chat user's row first,
as a conversation turn does, so a reply and the user's own message never
interleave; the hand-over row then holds the state.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.audit import audit
from bot.auth import Principal
from bot.handover import delivery
from bot.handover.config import HandoverConfig, handover_config
from bot.handover.hours import Hours
from bot.handover.routing import bound_region
from bot.outbox import kick
from bot.services import Services
from models import ChatUser, Handover, HandoverReply
from models.handover import OPEN_STATES

SYSTEM_ACTOR = "system:handover"


class NoOpenRequest(Exception):
    """A staff action that needs an open request found none (a 409)."""


def hours_of(services: Services) -> Hours:
    hours = services.extra.get("handover.hours")
    if not isinstance(hours, Hours):
        hours = services.extra["handover.hours"] = Hours(
            handover_config(services).working_hours, services.clock.tz
        )
    return hours


async def open_handover(db: AsyncSession, chat_user_id: int, *, lock: bool = False) -> Handover | None:
    query = (
        select(Handover)
        .where(Handover.chat_user_id == chat_user_id, Handover.state.in_(OPEN_STATES))
        .order_by(Handover.id.desc())
        .limit(1)
    )
    if lock:
        query = query.with_for_update()
    return (await db.execute(query)).scalar_one_or_none()


async def lock_user(db: AsyncSession, chat_user_id: int) -> ChatUser | None:
    """The chat user's row, locked as a turn locks it (no-op on SQLite, which has one writer)."""
    query = (
        select(ChatUser)
        .where(ChatUser.id == chat_user_id)
        .with_for_update()
        .execution_options(populate_existing=True)  # the locked row's values, not a stale copy
    )
    return (await db.execute(query)).scalar_one_or_none()


def office_name(services: Services, config: HandoverConfig, region_code: str | None) -> str:
    name = config.region_name(region_code)
    if name is None:
        return services.texts.get("handover.office_province")
    return services.texts.get("handover.office_region", region=name)


def clock_time(value: time) -> str:
    """8:30, as people write it (no leading zero)."""
    return f"{value.hour}:{value.minute:02d}"


def local_moment(services: Services, moment: datetime) -> str:
    local = moment.astimezone(services.clock.tz)
    return services.texts.get(
        "handover.date_format", month=local.month, day=local.day, time=clock_time(local.time())
    )


def promise(services: Services, handover: Handover, now: datetime) -> str:
    """What the user is told once the request is routed: who answers, and when."""
    config = handover_config(services)
    hours = hours_of(services)
    common = {
        "office": office_name(services, config, handover.region_code),
        "start": clock_time(config.working_hours.start),
        "end": clock_time(config.working_hours.end),
    }
    if hours.is_open(now):
        return services.texts.get("handover.promise_open", minutes=config.reply_within_minutes, **common)
    next_open = local_moment(services, hours.next_open(now))
    return services.texts.get("handover.promise_closed", next_open=next_open, **common)


async def _audit(db: AsyncSession, actor: str, action: str, handover: Handover, **detail: Any) -> None:
    await audit(db, actor, action, "handover", handover.id, chat_user_id=handover.chat_user_id, **detail)


def _end(handover: Handover, user: ChatUser, state: str, reason: str, now: datetime) -> None:
    handover.state = state
    handover.ended_reason = reason
    handover.ended_at = now
    handover.asking_region = False


async def start(
    db: AsyncSession, user: ChatUser, now: datetime, *, region: str | None, source: str | None, ask: bool
) -> Handover:
    """A new open request (the caller checked there is none)."""
    handover = Handover(
        chat_user_id=user.id,
        state="waiting",
        region_code=region,
        region_source=source,
        asking_region=ask,
        opened_at=now,
        last_request_at=now,
        last_user_message_at=now,
        created_at=now,
    )
    db.add(handover)
    await db.flush()
    await _audit(db, f"chat_user:{user.id}", "handover_request", handover, region_code=region, source=source)
    return handover


async def set_region(db: AsyncSession, handover: Handover, region: str | None, source: str | None) -> None:
    handover.region_code, handover.region_source, handover.asking_region = region, source, False
    await _audit(db, SYSTEM_ACTOR, "handover_route", handover, region_code=region, source=source)


async def give_back_by_user(db: AsyncSession, user: ChatUser, handover: Handover, now: datetime) -> None:
    _end(handover, user, "returned", "user", now)
    await _audit(db, f"chat_user:{user.id}", "handover_return", handover, reason="user")


# --- staff actions ---------------------------------------------------------------


async def _claim(db: AsyncSession, principal: Principal, handover: Handover, now: datetime) -> None:
    previous = handover.holder_name
    handover.state = "held"
    handover.holder_id = principal.staff_id
    handover.holder_name = principal.name
    handover.held_at = now
    handover.asking_region = False
    await _audit(db, principal.actor, "handover_claim", handover, previous_holder=previous)


async def claim(services: Services, db: AsyncSession, principal: Principal, user: ChatUser) -> Handover:
    """Take the conversation: the bot steps aside until it is closed or given back."""
    now = services.clock.now()
    handover = await open_handover(db, user.id, lock=True)
    if handover is None:
        raise NoOpenRequest(user.id)
    await _claim(db, principal, handover, now)
    return handover


async def reply(
    services: Services, db: AsyncSession, principal: Principal, user: ChatUser, text: str
) -> HandoverReply:
    """A staff member writes to the user; writing to someone who did not ask opens a held request."""
    now = services.clock.now()
    handover = await open_handover(db, user.id, lock=True)
    if handover is None:
        region = await bound_region(db, user)
        handover = await start(db, user, now, region=region, source="bound" if region else None, ask=False)
    if handover.state == "waiting":
        await _claim(db, principal, handover, now)
    handover.last_staff_reply_at = now
    sent = await delivery.send(services, db, user, handover, text, now, principal)
    await _audit(
        db, principal.actor, "handover_reply", handover, message_id=sent.message_id, delivery=sent.delivery
    )
    return sent


async def hand_back(services: Services, db: AsyncSession, principal: Principal, user: ChatUser) -> Handover:
    """Staff give the conversation back to the bot; the user is told so."""
    return await _staff_end(
        services, db, principal, user, "returned", "staff", "handed_back_by_staff", "hand_back"
    )


async def close(services: Services, db: AsyncSession, principal: Principal, user: ChatUser) -> Handover:
    """Staff finish the request; the user receives a short closing note."""
    return await _staff_end(services, db, principal, user, "closed", "close", "closed_note", "close")


async def _staff_end(
    services: Services,
    db: AsyncSession,
    principal: Principal,
    user: ChatUser,
    state: str,
    reason: str,
    note_key: str,
    action: str,
) -> Handover:
    """End the open request in `state`, tell the user (`note_key`) and audit it as `handover_<action>`."""
    now = services.clock.now()
    handover = await open_handover(db, user.id, lock=True)
    if handover is None:
        raise NoOpenRequest(user.id)
    _end(handover, user, state, reason, now)
    note = services.texts.get(f"handover.{note_key}")
    await delivery.send(services, db, user, handover, note, now, principal)
    await _audit(db, principal.actor, f"handover_{action}", handover)
    return handover


# --- the hand-back clock -----------------------------------------------------------


def overdue(services: Services, handover: Handover, now: datetime) -> bool:
    """Held with no staff reply for the configured working minutes."""
    if handover.state != "held":
        return False
    since = max(t for t in (handover.held_at, handover.last_staff_reply_at, handover.opened_at) if t)
    minutes = hours_of(services).working_minutes(since, now)
    return minutes >= handover_config(services).hand_back_after_minutes


async def hand_back_overdue(services: Services) -> int:
    """Give every overdue held conversation back to the bot with an apology; how many."""
    now = services.clock.now()
    async with services.db.session() as db:
        held = list(
            (
                await db.execute(select(Handover).where(Handover.state == "held").order_by(Handover.id))
            ).scalars()
        )
    due = [h.chat_user_id for h in held if overdue(services, h, now)]
    done = 0
    for chat_user_id in due:
        async with services.db.session() as db:
            user = await lock_user(db, chat_user_id)
            handover = await open_handover(db, chat_user_id, lock=True)
            if user is None or handover is None or not overdue(services, handover, now):
                continue  # a reply or the user's 取消 came in between
            _end(handover, user, "returned", "timeout", now)
            apology = services.texts.get("handover.handed_back")
            await delivery.send(services, db, user, handover, apology, now, None)
            await _audit(db, SYSTEM_ACTOR, "handover_timeout", handover)
            done += 1
    if done:
        kick(services)
    return done
