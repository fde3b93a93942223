"""Institutions and trainees: the real-name records the bot serves."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import CheckConstraint, Index, Integer, String, Time
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

INSTITUTION_STATUSES = ("active", "suspended", "revoked")


class Institution(Base):
    """A designated training institution (定点培训机构, 第五条–第八条)."""

    __tablename__ = "institutions"
    __table_args__ = (
        CheckConstraint(f"status IN {INSTITUTION_STATUSES}", name="status"),
        Index("ix_institutions_region", "region_code"),
        CheckConstraint("reminder_minutes_before IS NULL OR reminder_minutes_before >= 0", name="reminder"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Administrative division code (GB/T 2260), e.g. 220102 for 长春市南关区;
    # staff scopes match on its prefix.
    region_code: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(16), default="active")
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str | None] = mapped_column(String(300))
    # The institution's default check-in reminder for its classes (issue 20): the evening before
    # at this local time, or else this many minutes before each session starts; both None: the
    # class's own `reminder_minutes_before`. A trainee's own reminder time comes before either.
    reminder_evening_at: Mapped[time | None] = mapped_column(Time)
    reminder_minutes_before: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Trainee(Base):
    """A person in the real-name system (实名制管理系统, 第十四条).

    The ID-card number is never stored in clear: an HMAC finds the record
    when a trainee binds, and the masked form is what people ever see.
    """

    __tablename__ = "trainees"
    __table_args__ = (
        CheckConstraint("household IS NULL OR household IN ('rural', 'urban')", name="household"),
        Index("ix_trainees_region", "region_code"),
        Index("ix_trainees_phone", "phone"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    id_card_hash: Mapped[str] = mapped_column(String(64), unique=True)
    id_card_masked: Mapped[str] = mapped_column(String(18))
    phone: Mapped[str | None] = mapped_column(String(20))
    region_code: Mapped[str] = mapped_column(String(12))
    groups: Mapped[list[str]] = mapped_column(default=list)
    household: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Free-form extra attributes from the real-name export we do not model yet.
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
