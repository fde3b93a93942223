"""Subsidy claims and their stamped history (第十六条, 第十七条)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

SUBSIDY_TYPES = ("training", "evaluation", "living")
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
    """One claim per trainee, class and subsidy type; its state machine lives in bot.services."""

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
    submitted_on: Mapped[date] = mapped_column(Date)
    state_since: Mapped[date] = mapped_column(Date)
    # Statutory latest date of the next step, from the deadline engine.
    due_on: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClaimEvent(Base):
    __tablename__ = "claim_events"
    __table_args__ = (Index("ix_claim_events_claim", "claim_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id", ondelete="CASCADE"))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    on_date: Mapped[date] = mapped_column(Date)
    actor: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
