"""What staff read: open requests in their scope (oldest first), one conversation, the count.

Shared by the staff API and the console, so both show the same list. A chat
user is named by their record (trainee, institution), else the name the
platform gave, else the channel id; never by an ID-card number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.auth import Principal
from bot.handover.scope import conversation_scope, handover_scope
from bot.staff.scope import OutOfScope
from models import ChatUser, Handover, HandoverReply, Institution, Message, Trainee
from models.handover import OPEN_STATES


def _name() -> Any:
    return func.coalesce(Trainee.name, Institution.name, ChatUser.display_name, ChatUser.external_id)


def _with_names(query: Any) -> Any:
    return query.outerjoin(Trainee, Trainee.id == ChatUser.trainee_id).outerjoin(
        Institution, Institution.id == ChatUser.institution_id
    )


@dataclass
class InboxRow:
    handover: Handover
    user: ChatUser
    name: str
    last_text: str | None


async def open_count(db: AsyncSession, principal: Principal) -> int:
    """Open requests in the principal's scope (the console's header count)."""
    query = select(func.count(Handover.id)).where(Handover.state.in_(OPEN_STATES), handover_scope(principal))
    return int((await db.execute(query)).scalar_one())


async def open_requests(
    db: AsyncSession, principal: Principal, *, limit: int, offset: int = 0
) -> tuple[int, list[InboxRow]]:
    """Open requests in scope, the longest-waiting first."""
    where = [Handover.state.in_(OPEN_STATES), handover_scope(principal)]
    total = int((await db.execute(select(func.count(Handover.id)).where(*where))).scalar_one())
    last_text = (
        select(Message.text)
        .where(Message.chat_user_id == ChatUser.id, Message.direction == "in")
        .order_by(Message.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    query = _with_names(
        select(Handover, ChatUser, _name(), last_text).join(ChatUser, ChatUser.id == Handover.chat_user_id)
    )
    rows = (
        await db.execute(
            query.where(*where).order_by(Handover.opened_at, Handover.id).limit(limit).offset(offset)
        )
    ).all()
    return total, [InboxRow(h, u, str(name), last) for h, u, name, last in rows]


async def find_user(db: AsyncSession, channel: str, external_id: str) -> ChatUser | None:
    query = select(ChatUser).where(ChatUser.channel == channel, ChatUser.external_id == external_id)
    return (await db.execute(query)).scalar_one_or_none()


async def user_in_scope(db: AsyncSession, principal: Principal, user: ChatUser | None) -> ChatUser | None:
    """`user` when the principal may read and answer it; None when unknown; OutOfScope otherwise."""
    if user is None:
        return None
    allowed = (
        await db.execute(select(ChatUser.id).where(ChatUser.id == user.id, conversation_scope(principal)))
    ).first()
    if allowed is None:
        raise OutOfScope(user.id)
    return user


async def display_name(db: AsyncSession, user: ChatUser) -> str:
    query = _with_names(select(_name()).select_from(ChatUser)).where(ChatUser.id == user.id)
    return str((await db.execute(query)).scalar_one())


@dataclass
class Line:
    id: int
    direction: str
    text: str
    at: datetime
    staff: str | None
    delivery: str | None


async def transcript(db: AsyncSession, chat_user_id: int, *, after: int = 0, limit: int = 500) -> list[Line]:
    """The latest messages after id `after`, oldest first, staff replies marked with their author."""
    rows = (
        await db.execute(
            select(Message, HandoverReply.staff_name, HandoverReply.delivery)
            .outerjoin(HandoverReply, HandoverReply.message_id == Message.id)
            .where(Message.chat_user_id == chat_user_id, Message.id > after)
            .order_by(Message.id.desc())
            .limit(limit)
        )
    ).all()
    return [Line(m.id, m.direction, m.text, m.created_at, staff, d) for m, staff, d in reversed(rows)]


async def latest(db: AsyncSession, chat_user_id: int) -> Handover | None:
    """The user's most recent hand-over, open or not (what the conversation page shows)."""
    query = (
        select(Handover).where(Handover.chat_user_id == chat_user_id).order_by(Handover.id.desc()).limit(1)
    )
    return (await db.execute(query)).scalar_one_or_none()
