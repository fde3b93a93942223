"""Chat identities, their conversation state and the transcript."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

CHANNELS = ("wechat", "telegram", "web", "console")


class ChatUser(Base):
    """One account on one channel (a WeChat openid, a Telegram chat, a web id).

    Its row is also the per-user lock: every turn takes it FOR UPDATE, so two
    messages of one user never interleave, even across processes.
    """

    __tablename__ = "chat_users"
    __table_args__ = (
        UniqueConstraint("channel", "external_id"),
        CheckConstraint(f"channel IN {CHANNELS}", name="channel"),
        CheckConstraint("bind_failures >= 0", name="bind_failures"),
        Index("ix_chat_users_trainee", "trainee_id"),
        Index("ix_chat_users_institution", "institution_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    display_name: Mapped[str | None] = mapped_column(String(100))
    trainee_id: Mapped[int | None] = mapped_column(ForeignKey("trainees.id", ondelete="SET NULL"))
    # Set when this account belongs to an institution operator, who then
    # receives the institution's deadline reminders.
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id", ondelete="SET NULL"))
    bound_at: Mapped[datetime | None]
    bind_failures: Mapped[int] = mapped_column(Integer, default=0)
    bind_locked_until: Mapped[datetime | None]
    reminders_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # A fixed local time of day for check-in reminders; None means the class default.
    reminder_time: Mapped[time | None] = mapped_column(Time)
    # False once the platform says we cannot reach them (unsubscribed, blocked the bot).
    reachable: Mapped[bool] = mapped_column(Boolean, default=True)
    last_inbound_at: Mapped[datetime | None]
    # Answers given in the eligibility conversation, reused by later flows.
    profile: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConversationState(Base):
    """Where a user is in a flow; saved after every turn so a restart resumes it."""

    __tablename__ = "conversation_states"

    chat_user_id: Mapped[int] = mapped_column(
        ForeignKey("chat_users.id", ondelete="CASCADE"), primary_key=True
    )
    flow: Mapped[str | None] = mapped_column(String(40))
    step: Mapped[str | None] = mapped_column(String(60))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The choices last offered, so "2" or a button label answers them on any channel.
    last_choices: Mapped[list[str]] = mapped_column(default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(Base):
    """The transcript, both directions; also the durable dedupe of platform retries.

    An inbound message carries the platform's id (WeChat MsgId, Telegram
    update id); the unique key makes a redelivery a no-op, and its stored
    replies are what a retry gets back.
    """

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("chat_user_id", "platform_msg_id"),
        CheckConstraint("direction IN ('in', 'out')", name="direction"),
        Index("ix_messages_user_id", "chat_user_id", "id"),
        Index("ix_messages_reply_to", "in_reply_to_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chat_user_id: Mapped[int] = mapped_column(ForeignKey("chat_users.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))
    text: Mapped[str] = mapped_column(Text)
    choices: Mapped[list[str]] = mapped_column(default=list)
    platform_msg_id: Mapped[str | None] = mapped_column(String(128))
    in_reply_to_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    intent: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
