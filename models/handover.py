"""Hand-overs to a person (转人工): one request per conversation, and what staff sent in it.

A conversation has at most one open hand-over (state waiting or held); the
service keeps that under the chat user's row lock (turns) or the hand-over's
own row lock (staff actions). `opened_at` is the first request's time and is
never moved by a repeated 转人工, so the inbox orders by how long people wait.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

# waiting: asked for a person, nobody has taken it yet; held: a member of staff holds it
# (the bot steps aside); closed: staff finished it; returned: given back to the bot
# (the user said 取消/菜单, staff handed it back, or no staff reply in time).
HANDOVER_STATES = ("waiting", "held", "closed", "returned")
OPEN_STATES = ("waiting", "held")


class Handover(Base):
    __tablename__ = "handovers"
    __table_args__ = (
        CheckConstraint(f"state IN {HANDOVER_STATES}", name="state"),
        Index("ix_handovers_open", "state", "opened_at", "id"),
        Index("ix_handovers_user", "chat_user_id", "state"),
        Index("ix_handovers_region", "region_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_user_id: Mapped[int] = mapped_column(ForeignKey("chat_users.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(10), default="waiting")
    # GB/T 2260 code the request is routed to; None is the province queue.
    region_code: Mapped[str | None] = mapped_column(String(6))
    # Where the region came from: "bound" (the trainee or institution record), "named"
    # (the user wrote it), None (unrouted).
    region_source: Mapped[str | None] = mapped_column(String(8))
    # The bot asked "您在哪个市县？" and reads the next message as the answer (asked once).
    asking_region: Mapped[bool] = mapped_column(Boolean, default=False)
    opened_at: Mapped[datetime]
    last_request_at: Mapped[datetime]
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id", ondelete="SET NULL"))
    # Display name of the holder (also the admin token, which has no account row).
    holder_name: Mapped[str | None] = mapped_column(String(100))
    held_at: Mapped[datetime | None]
    last_staff_reply_at: Mapped[datetime | None]
    last_user_message_at: Mapped[datetime | None]
    # Last acknowledgement sent to the user outside working hours while held.
    acked_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    # user / staff / close / timeout
    ended_reason: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class HandoverReply(Base):
    """A message the hand-over sent (a staff reply, the closing note, the hand-back apology).

    The text itself is a `Message` (direction "out") so the transcript has one
    source; this row adds who wrote it and how it went. Web users have no push:
    their rows wait (`web_pending`) for the next /api/v1/chat response.
    """

    __tablename__ = "handover_replies"
    __table_args__ = (
        Index("ix_handover_replies_handover", "handover_id"),
        Index("ix_handover_replies_pending", "chat_user_id", "web_pending"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    handover_id: Mapped[int] = mapped_column(ForeignKey("handovers.id", ondelete="CASCADE"))
    chat_user_id: Mapped[int] = mapped_column(ForeignKey("chat_users.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), unique=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id", ondelete="SET NULL"))
    # None for the bot's own notes (the hand-back apology).
    staff_name: Mapped[str | None] = mapped_column(String(100))
    # queued / sent / outside_window / unreachable, as the reply endpoint answered.
    delivery: Mapped[str] = mapped_column(String(16))
    web_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
