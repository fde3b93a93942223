"""What the messenger channels must remember across processes and restarts.

- `InboundUpdate`: every platform delivery we accepted, keyed the way the
  platform identifies a retry (WeChat MsgId, or FromUserName + CreateTime for
  events; Telegram update_id). It is both the durable dedupe and the inbox
  that a crash cannot empty: a row stuck in `received` is re-run later.
- `AccessToken`: the one WeChat access_token shared by every process.
- `Lease`: a named, expiring lock held by one process (the token refresher,
  the dispatcher of one channel), so pacing is global and refreshes single.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

# received: accepted, the engine has not (known to have) answered yet;
# answered: answered in the HTTP response (a WeChat passive reply) - a retry may repeat it;
# async: the answer will go through the outbox (WeChat took too long; `success` was sent);
# queued: the answer is in the outbox; done: nothing (more) to send; failed: gave up.
INBOUND_STATUSES = ("received", "answered", "async", "queued", "done", "failed")
INBOUND_KINDS = ("message", "event", "callback", "member")


class InboundUpdate(Base):
    __tablename__ = "inbound_updates"
    __table_args__ = (
        UniqueConstraint("channel", "dedupe_key"),
        CheckConstraint(f"status IN {INBOUND_STATUSES}", name="status"),
        CheckConstraint(f"kind IN {INBOUND_KINDS}", name="kind"),
        CheckConstraint("attempts >= 0", name="attempts"),
        # The recovery sweep looks for old rows that never reached a final state.
        Index("ix_inbound_updates_status", "status", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    dedupe_key: Mapped[str] = mapped_column(String(160))
    external_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(12), default="message")
    # What the engine is given for this delivery, so a sweep can run the turn again.
    text: Mapped[str | None] = mapped_column(Text)
    # The id the engine dedupes its own turn by (Message.platform_msg_id).
    platform_msg_id: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(12), default="received")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AccessToken(Base):
    """A platform credential shared by all processes (WeChat's access_token).

    Refreshed only by the holder of the lease of the same name, so the
    platform never sees two processes racing to invalidate each other's token.
    """

    __tablename__ = "access_tokens"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    token: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None]
    refreshed_at: Mapped[datetime | None]


class Lease(Base):
    """A named lock with an expiry: taken by one atomic UPDATE, lost by a crash only until it expires."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(80))
    expires_at: Mapped[datetime | None]
