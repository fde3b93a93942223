"""Classes, their sessions, enrollments and attendance (第十四条, 第十五条)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

CLASS_STATUSES = ("planned", "applied", "approved", "running", "finished", "cancelled")
TRAINING_TYPES = ("enterprise_employee", "key_group", "project")
CLASS_MODES = ("offline", "online")
ATTENDANCE_SOURCES = ("chat", "institution")
ATTENDANCE_STATUSES = ("present", "absent")
ATTENDANCE_METHODS = ("face", "fingerprint", "manual")
ENROLLMENT_STATUSES = ("enrolled", "withdrawn", "completed")


class TrainingClass(Base):
    """One class (班期) of a designated institution.

    第十四条 caps offline classes at 60 people unless the reviewing bureau
    approved more; the database enforces that, not only the import code.
    """

    __tablename__ = "training_classes"
    __table_args__ = (
        CheckConstraint(f"status IN {CLASS_STATUSES}", name="status"),
        CheckConstraint(f"training_type IN {TRAINING_TYPES}", name="training_type"),
        CheckConstraint(f"mode IN {CLASS_MODES}", name="mode"),
        CheckConstraint("end_date >= start_date", name="dates"),
        CheckConstraint("planned_hours > 0", name="planned_hours"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("mode <> 'offline' OR capacity <= 60 OR capacity_approved", name="offline_capacity"),
        CheckConstraint("reminder_minutes_before >= 0", name="reminder_minutes"),
        Index("ix_training_classes_institution", "institution_id"),
        Index("ix_training_classes_dates", "start_date", "end_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    occupation: Mapped[str] = mapped_column(String(100))
    level: Mapped[str | None] = mapped_column(String(40))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id", ondelete="RESTRICT"))
    region_code: Mapped[str] = mapped_column(String(12))
    training_type: Mapped[str] = mapped_column(String(24), default="key_group")
    mode: Mapped[str] = mapped_column(String(8), default="offline")
    status: Mapped[str] = mapped_column(String(16), default="planned")
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    planned_hours: Mapped[Decimal] = mapped_column(Numeric(7, 2))
    capacity: Mapped[int] = mapped_column(Integer, default=60)
    capacity_approved: Mapped[bool] = mapped_column(Boolean, default=False)
    address: Mapped[str | None] = mapped_column(String(300))
    teacher: Mapped[str | None] = mapped_column(String(100))
    # Weekly pattern the sessions were generated from, kept for display and regeneration:
    # {"weekdays": [0, 2, 4], "start": "09:00", "end": "12:00", "include_non_working_days": false}
    schedule: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reminder_minutes_before: Mapped[int] = mapped_column(Integer, default=30)
    applied_on: Mapped[date | None] = mapped_column(Date)
    approved_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ClassSession(Base):
    """One lesson of a class; check-ins and reminders hang on it."""

    __tablename__ = "class_sessions"
    __table_args__ = (
        UniqueConstraint("class_id", "starts_at"),
        CheckConstraint("ends_at > starts_at", name="times"),
        CheckConstraint("hours > 0", name="hours"),
        Index("ix_class_sessions_day", "session_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id", ondelete="CASCADE"))
    session_date: Mapped[date] = mapped_column(Date)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    hours: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    topic: Mapped[str | None] = mapped_column(String(200))
    # Progress marks of the attendance jobs (bot.attendance.job). The outbox keys
    # already make every step idempotent; the marks only spare a tick from
    # redoing finished work, so a crash before a mark is set just repeats a no-op.
    reminders_created_at: Mapped[datetime | None]
    nudges_created_at: Mapped[datetime | None]
    # Set once the attendance warnings have been evaluated after the session ended.
    settled_at: Mapped[datetime | None]


class Enrollment(Base):
    __tablename__ = "enrollments"
    __table_args__ = (
        UniqueConstraint("class_id", "trainee_id"),
        CheckConstraint(f"status IN {ENROLLMENT_STATUSES}", name="status"),
        Index("ix_enrollments_trainee", "trainee_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id", ondelete="CASCADE"))
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainees.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="enrolled")
    # None until the final exam: whether the trainee obtained the certificate (第十五条).
    certificate: Mapped[bool | None] = mapped_column(Boolean)
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)


class AttendanceRecord(Base):
    """A check-in from one source.

    Chat check-ins and the institution's authoritative records (face or
    fingerprint, 第十四条) are kept side by side so that disagreements stay
    visible; the institution's record wins when both exist.
    """

    __tablename__ = "attendance_records"
    __table_args__ = (
        UniqueConstraint("session_id", "trainee_id", "source"),
        CheckConstraint(f"source IN {ATTENDANCE_SOURCES}", name="source"),
        CheckConstraint(f"status IN {ATTENDANCE_STATUSES}", name="status"),
        CheckConstraint(f"method IS NULL OR method IN {ATTENDANCE_METHODS}", name="method"),
        Index("ix_attendance_trainee", "trainee_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("class_sessions.id", ondelete="CASCADE"))
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainees.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(8), default="present")
    checked_in_at: Mapped[datetime | None]
    # How the institution captured it: face, fingerprint, manual (None for chat check-ins).
    method: Mapped[str | None] = mapped_column(String(16))
    recorded_by: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime | None]


__all__ = [
    "AttendanceRecord",
    "ClassSession",
    "Enrollment",
    "TrainingClass",
]
