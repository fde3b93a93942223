"""Reads and small writes shared by the staff API and the console, always cut to a scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.audit import audit
from bot.auth import Principal, forbidden
from bot.errors import ApiError
from bot.handover.inbox import open_count as open_handovers
from bot.outbox import requeue
from bot.staff.scope import OutOfScope, chat_user_scope, claim_scope, class_scope, enrolled_in, trainee_scope
from models import (
    ChatUser,
    Claim,
    Enrollment,
    Institution,
    OutboxMessage,
    Trainee,
    TrainingClass,
)

FINAL_CLAIM_STATES = ("paid", "rejected")
# What the dead-letter page lists and may requeue: given up after retries, or refused for
# good (a bad request may succeed after a fix). Skipped rows are decisions, not failures.
DEAD_LETTER_STATUSES = ("dead", "failed")


def _recipient_name() -> Any:
    return func.coalesce(Trainee.name, Institution.name, ChatUser.display_name, ChatUser.external_id)


def _with_recipient(query: Any) -> Any:
    return query.outerjoin(Trainee, Trainee.id == ChatUser.trainee_id).outerjoin(
        Institution, Institution.id == ChatUser.institution_id
    )


# --- classes -------------------------------------------------------------------


async def classes_in_scope(
    db: AsyncSession, principal: Principal, *, limit: int, offset: int = 0
) -> list[dict[str, Any]]:
    """Classes newest first, with how many people are enrolled."""
    enrolled = (
        select(func.count(Enrollment.id))
        .where(Enrollment.class_id == TrainingClass.id, Enrollment.status.in_(("enrolled", "completed")))
        .scalar_subquery()
    )
    rows = (
        await db.execute(
            select(TrainingClass, Institution.name, enrolled)
            .join(Institution, Institution.id == TrainingClass.institution_id)
            .where(class_scope(principal))
            .order_by(TrainingClass.start_date.desc(), TrainingClass.id.desc())
            .limit(limit)
            .offset(offset)
        )
    ).all()
    return [{"klass": k, "institution": name, "enrolled": int(n)} for k, name, n in rows]


async def class_in_scope(db: AsyncSession, principal: Principal, class_id: int) -> TrainingClass | None:
    """The class, or None when it does not exist; raises OutOfScope outside the scope."""
    klass = await db.get(TrainingClass, class_id)
    if klass is None:
        return None
    if not principal.covers(region_code=klass.region_code, institution_id=klass.institution_id):
        raise OutOfScope(class_id)
    return klass


# --- trainees ------------------------------------------------------------------


async def trainees_in_scope(
    db: AsyncSession,
    principal: Principal,
    *,
    class_id: int | None = None,
    name: str | None = None,
    limit: int,
    offset: int = 0,
) -> tuple[int, list[Trainee]]:
    where = [trainee_scope(principal)]
    if class_id is not None:
        where.append(enrolled_in(TrainingClass.id == class_id))
    if name:
        where.append(Trainee.name.contains(name, autoescape=True))
    total = (await db.execute(select(func.count(Trainee.id)).where(*where))).scalar_one()
    rows = (
        await db.execute(
            select(Trainee).where(*where).order_by(Trainee.name, Trainee.id).limit(limit).offset(offset)
        )
    ).scalars()
    return int(total), list(rows)


async def classes_of(db: AsyncSession, trainee_ids: list[int]) -> dict[int, list[str]]:
    if not trainee_ids:
        return {}
    rows = await db.execute(
        select(Enrollment.trainee_id, TrainingClass.name)
        .join(TrainingClass, TrainingClass.id == Enrollment.class_id)
        .where(Enrollment.trainee_id.in_(trainee_ids))
        .order_by(TrainingClass.start_date)
    )
    out: dict[int, list[str]] = {}
    for trainee_id, name in rows:
        out.setdefault(trainee_id, []).append(name)
    return out


# --- claims board --------------------------------------------------------------


@dataclass(frozen=True)
class BoardRow:
    claim: Claim
    trainee: str
    id_card_masked: str
    class_name: str
    institution: str
    overdue_days: int | None  # days past the due date, None when not overdue
    days_left: int | None


# --- dead letters and requeue ---------------------------------------------------


async def dead_letters(
    db: AsyncSession, principal: Principal, *, limit: int, offset: int = 0
) -> tuple[int, list[dict[str, Any]]]:
    where = [OutboxMessage.status.in_(DEAD_LETTER_STATUSES), chat_user_scope(principal)]
    base = select(func.count(OutboxMessage.id)).join(ChatUser, ChatUser.id == OutboxMessage.chat_user_id)
    total = (await db.execute(base.where(*where))).scalar_one()
    query = _with_recipient(
        select(OutboxMessage, ChatUser.channel, _recipient_name().label("recipient")).join(
            ChatUser, ChatUser.id == OutboxMessage.chat_user_id
        )
    )
    rows = (
        await db.execute(query.where(*where).order_by(OutboxMessage.id.desc()).limit(limit).offset(offset))
    ).all()
    return int(total), [{"message": m, "channel": ch, "recipient": who} for m, ch, who in rows]


async def requeue_dead(
    db: AsyncSession, principal: Principal, ids: list[int], now: datetime, texts: Any
) -> list[int]:
    """Put failed messages back in the queue, all or none: 404 for an unknown id, 403 for one
    outside the caller's scope, 409 for one that is not dead or failed. The outbox's own
    `requeue` resets them to pending, due now, with a fresh attempt count."""
    wanted = sorted(set(ids))
    in_scope = chat_user_scope(principal).label("in_scope")
    rows = (
        await db.execute(
            select(OutboxMessage.id, OutboxMessage.status, in_scope)
            .join(ChatUser, ChatUser.id == OutboxMessage.chat_user_id)
            .where(OutboxMessage.id.in_(wanted))
        )
    ).all()
    found = {r[0]: r for r in rows}
    unknown = [i for i in wanted if i not in found]
    if unknown:
        raise ApiError(404, "not_found", texts.get("console.errors.message_not_found", ids=_ids(unknown)))
    outside = [i for i in wanted if not found[i][2]]
    if outside:
        raise forbidden(texts.get("console.errors.out_of_scope"))
    not_dead = [i for i in wanted if found[i][1] not in DEAD_LETTER_STATUSES]
    if not_dead:
        raise ApiError(
            409, "not_dead", texts.get("console.errors.not_dead", ids=_ids(not_dead)), ids=not_dead
        )
    done = await requeue(db, wanted, now=now)
    await audit(db, principal.actor, "outbox_requeue", "outbox", None, ids=done)
    return done


def _ids(ids: list[int]) -> str:
    return "、".join(map(str, ids[:20])) + ("…" if len(ids) > 20 else "")


# --- overview ------------------------------------------------------------------


async def overview(db: AsyncSession, principal: Principal, today: date) -> dict[str, int]:
    claims = (
        await db.execute(
            select(func.count(Claim.id), func.count(Claim.id).filter(Claim.due_on < today)).where(
                claim_scope(principal), Claim.state.not_in(FINAL_CLAIM_STATES)
            )
        )
    ).one()
    dead = (
        await db.execute(
            select(func.count(OutboxMessage.id))
            .join(ChatUser, ChatUser.id == OutboxMessage.chat_user_id)
            .where(OutboxMessage.status.in_(DEAD_LETTER_STATUSES), chat_user_scope(principal))
        )
    ).scalar_one()
    waiting = await open_handovers(db, principal)
    classes = (
        await db.execute(
            select(func.count(TrainingClass.id)).where(
                class_scope(principal), TrainingClass.status.in_(("approved", "running"))
            )
        )
    ).scalar_one()
    return {
        "open_claims": int(claims[0]),
        "overdue_claims": int(claims[1] or 0),
        "dead_letters": int(dead),
        "handoffs": int(waiting),
        "active_classes": int(classes),
    }
