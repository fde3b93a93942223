"""Subsidy claims, their stamped history, and rectification letters (第十六条, 第十七条, 第二十七条).

The state machine itself lives in `bot.claims.states`; the tables keep
what it needs to answer "when is the money due" without replaying history:
the dates each statutory period runs from, and the latest legal date of the
next step (`due_on`) with whether the holiday calendar behind it is official.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

SUBSIDY_TYPES = ("training", "evaluation", "living")
# `objection`: an objection was raised during publicity and the bureau is
# investigating it (第十七条); it ends in payment_pending or rejected.
CLAIM_STATES = (
    "submitted",
    "under_review",
    "returned",
    "approved",
    "in_publicity",
    "objection",
    "payment_pending",
    "paid",
    "rejected",
)


class Claim(Base):
    """One claim per trainee, class and subsidy type; its state machine lives in bot.claims.states."""

    __tablename__ = "claims"
    __table_args__ = (
        UniqueConstraint("trainee_id", "class_id", "subsidy_type"),
        CheckConstraint(f"subsidy_type IN {SUBSIDY_TYPES}", name="subsidy_type"),
        CheckConstraint(f"state IN {CLAIM_STATES}", name="state"),
        CheckConstraint("amount IS NULL OR amount >= 0", name="amount"),
        Index("ix_claims_state_due", "state", "due_on"),
        Index("ix_claims_class", "class_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainees.id", ondelete="RESTRICT"))
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id", ondelete="RESTRICT"))
    subsidy_type: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(20), default="submitted")
    amount: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    # The review period runs from the (latest) submission: a resubmission after
    # a return restarts it.
    submitted_on: Mapped[date] = mapped_column(Date)
    state_since: Mapped[date] = mapped_column(Date)
    # Statutory latest date of the next step, from the deadline engine; None
    # where the law sets none (returned, objection) or nothing is left to do.
    due_on: Mapped[date | None] = mapped_column(Date)
    # False when due_on was counted over a year whose official holiday
    # arrangement is not loaded (weekends only): the date is provisional.
    due_certain: Mapped[bool] = mapped_column(Boolean, default=True)
    approved_on: Mapped[date | None] = mapped_column(Date)
    publicity_start: Mapped[date | None] = mapped_column(Date)
    publicity_end: Mapped[date | None] = mapped_column(Date)
    # The day the 12 working days of payment count from: the end of publicity,
    # or the day an objection was found groundless if that was later.
    payment_from: Mapped[date | None] = mapped_column(Date)
    paid_on: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClaimEvent(Base):
    """One stamped transition: when, who, why, and the deadline it set."""

    __tablename__ = "claim_events"
    __table_args__ = (Index("ix_claim_events_claim", "claim_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    on_date: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    due_on: Mapped[date | None] = mapped_column(Date)
    due_certain: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Rectification(Base):
    """A rectification letter (整改函) to an institution: one month to comply (第二十七条)."""

    __tablename__ = "rectifications"
    __table_args__ = (
        CheckConstraint("completed_on IS NULL OR completed_on >= received_on", name="completed"),
        Index("ix_rectifications_open", "completed_on", "due_on"),
        Index("ix_rectifications_institution", "institution_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id", ondelete="CASCADE"))
    received_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    subject: Mapped[str] = mapped_column(Text)
    completed_on: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
