"""Who sees which hand-over: by the office it is routed to, plus the usual chat-user scope.

A county sees requests routed into the county; a city sees its counties and
the province queue (requests nobody could route), so an unbound user asking
before they sign up still reaches a person; the province sees all. Staff also
keep seeing requests of chat users already in their scope (a trainee enrolled
in one of their classes), and an institution operator sees only those.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, false, or_, select, true

from bot.auth import Principal
from bot.staff.scope import chat_user_scope
from models import ChatUser, Handover


def _routed(principal: Principal) -> ColumnElement[bool]:
    """Hand-overs routed to the principal's office (by region alone)."""
    if principal.is_province:
        return true()
    if principal.is_operator:
        return false()
    routed = Handover.region_code.like(f"{principal.prefix}%")
    if principal.role == "city_staff":
        return or_(routed, Handover.region_code.is_(None))
    return routed


def handover_scope(principal: Principal) -> ColumnElement[bool]:
    if principal.is_province:
        return true()
    users = Handover.chat_user_id.in_(select(ChatUser.id).where(chat_user_scope(principal)))
    return or_(_routed(principal), users)


def conversation_scope(principal: Principal) -> ColumnElement[bool]:
    """Chat users (on `ChatUser`) whose conversation the principal may read and answer."""
    if principal.is_province:
        return true()
    via_handover = exists(select(Handover.id).where(Handover.chat_user_id == ChatUser.id, _routed(principal)))
    return or_(chat_user_scope(principal), via_handover)
