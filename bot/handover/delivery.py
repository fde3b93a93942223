"""Getting a hand-over's message to the trainee on their own channel.

Staff replies, the closing note and the hand-back apology all go the same
way: the text is written to the transcript at once (a `Message` marked with
its `HandoverReply`), then handed to the outbox as a row of kind "reply"
(replies jump the queue; the transcript already has them). Web and console
users cannot be pushed to: their rows wait for the user's next turn, which
returns them before its own replies. What cannot be delivered is said so at
once rather than queued to fail later: WeChat refuses free text 48 hours
after the user's last message (a template is used when one is configured),
and an unsubscribed or blocked account is unreachable.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.auth import Principal
from bot.outbox import enqueue
from bot.outbox.config import delivery_config, templates_config
from bot.services import Services
from models import ChatUser, Handover, HandoverReply, Message

# Channels nothing can push to: their messages ride on the user's next turn.
PULL_CHANNELS = ("web", "console")
# The WeChat template a reply falls back to outside the 48-hour window (config/wechat_templates.yaml).
REPLY_TEMPLATE = "handover_reply"


def _wechat_route(services: Services, user: ChatUser, text: str, now: datetime) -> tuple[str, Any]:
    """("queued", template or None) when WeChat will take it, else ("outside_window", None)."""
    wechat = delivery_config(services).channels.wechat
    window = timedelta(hours=wechat.service_window_hours) - timedelta(
        minutes=wechat.service_window_margin_minutes
    )
    template = {"template": REPLY_TEMPLATE, "fields": {"text": text}}
    in_window = user.last_inbound_at is not None and now < user.last_inbound_at + window
    has_template = templates_config(services).render(template, text) is not None
    if in_window:
        return "queued", template if has_template else None
    if has_template:
        return "queued", template
    return "outside_window", None


async def send(
    services: Services,
    db: AsyncSession,
    user: ChatUser,
    handover: Handover,
    text: str,
    now: datetime,
    staff: Principal | None,
) -> HandoverReply:
    """Record `text` as said to the user and start its delivery; the caller commits and kicks."""
    template: Any = None
    pending = False
    if user.channel in PULL_CHANNELS:
        delivery, pending = "queued", True
    elif not user.reachable:
        delivery = "unreachable"
    elif user.channel == "wechat":
        delivery, template = _wechat_route(services, user, text, now)
    else:
        delivery = "queued"
    message = Message(chat_user_id=user.id, direction="out", text=text, choices=[], created_at=now)
    db.add(message)
    await db.flush()
    if delivery == "queued" and not pending:
        await enqueue(
            db,
            key=f"handover:{handover.id}:{message.id}",
            chat_user_id=user.id,
            kind="reply",
            text=text,
            due_at=now,
            template=template,
        )
    reply = HandoverReply(
        handover_id=handover.id,
        chat_user_id=user.id,
        message_id=message.id,
        staff_id=staff.staff_id if staff else None,
        staff_name=staff.name if staff else None,
        delivery=delivery,
        web_pending=pending,
        created_at=now,
    )
    db.add(reply)
    await db.flush()
    return reply


async def take_pending(db: AsyncSession, chat_user_id: int) -> list[str]:
    """Texts waiting for a web or console user, oldest first; they count as delivered now."""
    rows = (
        await db.execute(
            select(HandoverReply.id, Message.text)
            .join(Message, Message.id == HandoverReply.message_id)
            .where(HandoverReply.chat_user_id == chat_user_id, HandoverReply.web_pending.is_(True))
            .order_by(HandoverReply.id)
        )
    ).all()
    if not rows:
        return []
    await db.execute(
        update(HandoverReply)
        .where(HandoverReply.id.in_([r[0] for r in rows]))
        .values(web_pending=False, delivery="sent")
        .execution_options(synchronize_session=False)
    )
    return [str(r[1]) for r in rows]
