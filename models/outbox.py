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
    "security_notice",  # a trainee told that a new chat bound to them (issue 12)
)
BROADCAST_STATUSES = ("scheduled", "sending", "done", "cancelled")
# Delivery lanes, most urgent first (see `bot.outbox.lanes`): a person waiting for an
# answer, then reminders and notices about one person, then broadcasts.
OUTBOX_LANES = ("reply", "reminder", "broadcast")


class OutboxMessage(Base):
    """One message to one chat user, and what became of it.

    `status` (what producers and the staff console read):
      pending    waiting for `due_at` (also after a transient error: `due_at` is the retry time)
      sending    claimed by a dispatcher until `locked_until` (a crash frees it then), under
                 `lease_token`: only that claim may write the row's result (the fence)
      sent       delivered; `delivery` says how ("message" or "template"), `sent_at` when
      skipped    deliberately not sent; `delivery` says why: "outside_window" (WeChat's
                 48 hours passed and the row has no template), "unreachable" (unsubscribed,
                 blocked the bot), "expired" (`expires_at` passed), "too_late" (it could no
                 longer arrive before `deadline_at`, e.g. the class began), "no_push" (a web or
                 console user: nothing can reach them later)
      failed     the platform refused it for good (a bad request); `last_error` says why
      dead       transient errors `outbox.max_attempts` times in a row; staff may requeue
      cancelled  withdrawn before sending (a cancelled broadcast)
    `delivery` "unknown" on a `pending` row: the last send timed out after the request
    was written, so it may have arrived; it is tried once more after a longer delay
    (`unknown_outcomes` counts these), and goes `dead` if that one is unknown too.
    `lane` decides the order of sending (`OUTBOX_LANES`); `claim_epoch` counts the
    claims of the row (a reclaim after a crashed holder is a new epoch).
    `last_error` keeps the platform's last complaint, also on rows that later succeeded
    with a fallback. Rows of kind "reply" are already in the transcript (the engine
    wrote them); every other kind is added to it (`Message`, direction "out") when sent.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint(f"status IN {OUTBOX_STATUSES}", name="status"),
        CheckConstraint(f"kind IN {OUTBOX_KINDS}", name="kind"),
        CheckConstraint("attempts >= 0", name="attempts"),
        CheckConstraint(f"lane IN {OUTBOX_LANES}", name="lane"),
        # The dispatcher's query: due rows by time. Keeping it on an index keeps
        # the cost per tick flat as sent rows pile up.
        Index("ix_outbox_due", "status", "due_at", "id"),
        # The claim walks one lane at a time (replies before reminders before broadcasts), each
        # earliest deadline first, then by due time (issue 20): that order is this index's.
        Index("ix_outbox_lane_deadline", "status", "lane", "deadline_at", "due_at", "id"),
        Index("ix_outbox_user", "chat_user_id"),
        Index("ix_outbox_broadcast", "broadcast_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    chat_user_id: Mapped[int] = mapped_column(ForeignKey("chat_users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    lane: Mapped[str] = mapped_column(String(12), default="reminder", server_default="reminder")
    text: Mapped[str] = mapped_column(Text)
    choices: Mapped[list[str]] = mapped_column(default=list)
    # Data for a WeChat template message when the 48-hour window is closed:
    # {"template": "<key in config>", "fields": {...}}; None means skip outside the window.
    template: Mapped[dict[str, Any] | None] = mapped_column()
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # How it went out: "message", "template", or why it did not ("outside_window", "unreachable",
    # "expired", "no_push"); see the class docstring.
    delivery: Mapped[str | None] = mapped_column(String(24))
    # Past this moment the message is useless (a check-in reminder after class): skipped, not sent.
    expires_at: Mapped[datetime | None]
    # The moment the message stops being worth sending on time (a check-in reminder: class start).
    # Each lane is claimed earliest deadline first (None: after every row with a deadline, by
    # due time); a row that can no longer arrive before it is skipped with delivery "too_late".
    deadline_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    lease_token: Mapped[str | None] = mapped_column(String(32))
    claim_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    unknown_outcomes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    sent_at: Mapped[datetime | None]
    broadcast_id: Mapped[int | None] = mapped_column(ForeignKey("broadcasts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Broadcast(Base):
    """A notice from staff to an audience, fanned out into outbox rows.

    Lifecycle: scheduled → sending (fanned out: one outbox row per recipient,
    key `broadcast:{id}:{chat_user_id}`) → done (no row left pending or
    sending); cancelled from scheduled or sending marks the pending rows
    cancelled, so nothing already handed to a platform is sent again. Results
    are read from the outbox rows (`status`, `delivery`), not copied here.
    """

    __tablename__ = "broadcasts"
    __table_args__ = (
        CheckConstraint(f"status IN {BROADCAST_STATUSES}", name="status"),
        CheckConstraint("target IN ('trainees', 'institutions')", name="target"),
        CheckConstraint("wechat_fallback IN ('template', 'skip')", name="wechat_fallback"),
        Index("ix_broadcasts_status_send_at", "status", "send_at"),
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
    # WeChat users outside the 48-hour window: a template message ("template") or nothing ("skip").
    wechat_fallback: Mapped[str] = mapped_column(String(10), default="template")
    # The sender's scope ({role, region_code, institution_id}); the audience is cut to it at
    # fan-out time, and it decides which staff may see or cancel the broadcast.
    scope: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id", ondelete="SET NULL"))
    # "staff:<id>" or "admin_token": who sent it, also when the account is gone.
    created_by_actor: Mapped[str] = mapped_column(String(100), default="admin_token")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
