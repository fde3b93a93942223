"""Everything that must reach a person later goes through these rows.

The rows are the truth: APScheduler only wakes the dispatcher, which claims
due rows (FOR UPDATE SKIP LOCKED on PostgreSQL), so a restart loses nothing
and two processes never send one row twice. The idempotency key makes every
producer safe to run again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

OUTBOX_STATUSES = ("pending", "sending", "sent", "failed", "dead", "cancelled", "skipped")
OUTBOX_KINDS = (
    "reply",
    "reminder",
    "nudge",
    "attendance_warning",
    "claim_update",
    "institution_reminder",
    "staff_alert",
    "broadcast",
)
BROADCAST_STATUSES = ("scheduled", "sending", "done", "cancelled")


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(f"status IN {OUTBOX_STATUSES}", name="status"),
        CheckConstraint(f"kind IN {OUTBOX_KINDS}", name="kind"),
        CheckConstraint("attempts >= 0", name="attempts"),
        # The dispatcher's query: due rows by time. Keeping it on an index keeps
        # the cost per tick flat as sent rows pile up.
        Index("ix_outbox_due", "status", "due_at"),
        Index("ix_outbox_user", "chat_user_id"),
        Index("ix_outbox_broadcast", "broadcast_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    chat_user_id: Mapped[int] = mapped_column(ForeignKey("chat_users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    text: Mapped[str] = mapped_column(Text)
    choices: Mapped[list[str]] = mapped_column(default=list)
    # Data for a WeChat template message when the 48-hour window is closed:
    # {"template": "<key in config>", "fields": {...}}; None means skip outside the window.
    template: Mapped[dict[str, Any] | None] = mapped_column()
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # How it went out: "message", "template", or why it did not ("outside_window", "unreachable").
    delivery: Mapped[str | None] = mapped_column(String(24))
    locked_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    broadcast_id: Mapped[int | None] = mapped_column(ForeignKey("broadcasts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Broadcast(Base):
    """A notice from staff to an audience, fanned out into outbox rows."""

    __tablename__ = "broadcasts"
    __table_args__ = (
        CheckConstraint(f"status IN {BROADCAST_STATUSES}", name="status"),
        CheckConstraint("target IN ('trainees', 'institutions')", name="target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500))
    target: Mapped[str] = mapped_column(String(16), default="trainees")
    # Filters: region, institution_id, class_id, group, claim_state, channel.
    audience: Mapped[dict[str, Any]] = mapped_column(default=dict)
    send_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default="scheduled")
    recipients: Mapped[int | None] = mapped_column(Integer)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
