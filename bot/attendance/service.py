"""Attendance arithmetic: what a trainee has, and what is still within reach (第十四条, 第十五条).

Attendance decides money, so the rules are spelled out here once and every
caller (chat, staff API, console, the warning job) uses them:

- The *effective* record of a session is the institution's authoritative
  record (face or fingerprint, 第十四条) when there is one, else the chat
  check-in. A disagreement is a session where both exist and differ.
- The rate is attended hours over the class's filed hours
  (`TrainingClass.planned_hours`, 备案课时), never over the sessions held
  so far: the law measures against the plan.
- A session is *settled* once it has ended or has an effective record; the
  rest are *left* and still count as reachable.
- "Can still miss N" is a promise that holds whichever N open sessions are
  missed, so the longest ones are assumed missed first. `None` means the
  threshold is already out of reach.
Thresholds come from `bot.policy.attendance` (config/policy), never from here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.policy.attendance import AttendanceThresholds, attendance_thresholds
from models import AttendanceRecord, ClassSession, Enrollment, Trainee, TrainingClass

ZERO = Decimal(0)
# Enrollments that count for attendance: a withdrawn trainee is no longer measured.
COUNTED_ENROLLMENTS = ("enrolled", "completed")


@dataclass(frozen=True, slots=True)
class SessionSlot:
    """What the arithmetic needs of a session."""

    id: int
    starts_at: datetime
    ends_at: datetime
    hours: Decimal


@dataclass(frozen=True, slots=True)
class Mark:
    """One attendance record, reduced to what decides the effective status."""

    session_id: int
    source: str  # "chat" | "institution"
    status: str  # "present" | "absent"


@dataclass(frozen=True)
class TraineeAttendance:
    trainee_id: int
    name: str
    class_id: int
    attended_hours: Decimal
    planned_hours: Decimal
    rate: Decimal  # attended / planned, capped at 1
    sessions_total: int
    sessions_done: int  # ended or already recorded
    sessions_attended: int
    sessions_left: int
    # How many more open sessions may be missed and still keep the threshold;
    # None when it can no longer be reached.
    can_miss_full: int | None
    can_miss_exam: int | None
    best_rate: Decimal  # if every open session is attended
    disagreements: int

    @property
    def full_reachable(self) -> bool:
        return self.can_miss_full is not None

    @property
    def exam_reachable(self) -> bool:
        return self.can_miss_exam is not None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("attended_hours", "planned_hours", "rate", "best_rate"):
            out[key] = float(out[key])
        return out


def effective_status(marks: Iterable[Mark]) -> tuple[dict[int, str], int]:
    """Per session, the status that counts (institution over chat), and how many sessions disagree."""
    by_session: dict[int, dict[str, str]] = defaultdict(dict)
    for mark in marks:
        by_session[mark.session_id][mark.source] = mark.status
    effective: dict[int, str] = {}
    disagreements = 0
    for session_id, sources in by_session.items():
        inst, chat = sources.get("institution"), sources.get("chat")
        effective[session_id] = inst or chat or "absent"
        if inst is not None and chat is not None and inst != chat:
            disagreements += 1
    return effective, disagreements


def can_miss(
    attended: Decimal,
    open_hours: Sequence[Decimal],
    planned: Decimal,
    rate: Decimal,
    thresholds: AttendanceThresholds,
) -> int | None:
    """The largest k such that missing any k open sessions still reaches `rate`; None if none."""
    longest_first = sorted(open_hours, reverse=True)
    reachable = attended + sum(longest_first, ZERO)
    if not thresholds.reaches(reachable, planned, rate):
        return None
    missed = 0
    for hours in longest_first:
        if not thresholds.reaches(reachable - hours, planned, rate):
            break
        reachable -= hours
        missed += 1
    return missed


def compute(
    *,
    trainee_id: int,
    name: str,
    class_id: int,
    planned_hours: Decimal,
    sessions: Sequence[SessionSlot],
    marks: Iterable[Mark],
    now: datetime,
    thresholds: AttendanceThresholds | None = None,
) -> TraineeAttendance:
    """The pure arithmetic behind `trainee_attendance`, also used in bulk by `class_attendance`."""
    th = thresholds or attendance_thresholds()
    effective, disagreements = effective_status(marks)
    attended = ZERO
    attended_count = done = 0
    open_hours: list[Decimal] = []
    for s in sessions:
        status = effective.get(s.id)
        if status == "present":
            attended += s.hours
            attended_count += 1
        if status is not None or s.ends_at <= now:
            done += 1
        else:
            open_hours.append(s.hours)
    planned = planned_hours
    rate = min(attended / planned, Decimal(1)) if planned > 0 else ZERO
    best = attended + sum(open_hours, ZERO)
    return TraineeAttendance(
        trainee_id=trainee_id,
        name=name,
        class_id=class_id,
        attended_hours=attended,
        planned_hours=planned,
        rate=rate,
        sessions_total=len(sessions),
        sessions_done=done,
        sessions_attended=attended_count,
        sessions_left=len(sessions) - done,
        can_miss_full=can_miss(attended, open_hours, planned, th.full, th),
        can_miss_exam=can_miss(attended, open_hours, planned, th.exam_min, th),
        best_rate=min(best / planned, Decimal(1)) if planned > 0 else ZERO,
        disagreements=disagreements,
    )


async def class_sessions(db: AsyncSession, class_id: int) -> list[SessionSlot]:
    rows = await db.execute(
        select(ClassSession.id, ClassSession.starts_at, ClassSession.ends_at, ClassSession.hours)
        .where(ClassSession.class_id == class_id)
        .order_by(ClassSession.starts_at)
    )
    return [SessionSlot(r.id, r.starts_at, r.ends_at, Decimal(r.hours)) for r in rows]


async def _marks(db: AsyncSession, class_id: int, trainee_id: int | None = None) -> dict[int, list[Mark]]:
    query = (
        select(
            AttendanceRecord.trainee_id,
            AttendanceRecord.session_id,
            AttendanceRecord.source,
            AttendanceRecord.status,
        )
        .join(ClassSession, ClassSession.id == AttendanceRecord.session_id)
        .where(ClassSession.class_id == class_id)
    )
    if trainee_id is not None:
        query = query.where(AttendanceRecord.trainee_id == trainee_id)
    out: dict[int, list[Mark]] = defaultdict(list)
    for r in await db.execute(query):
        out[r.trainee_id].append(Mark(r.session_id, r.source, r.status))
    return out


async def trainee_attendance(
    db: AsyncSession, trainee_id: int, class_id: int, now: datetime
) -> TraineeAttendance:
    """One trainee's attendance in one class as of `now`; LookupError when either does not exist."""
    klass = await db.get(TrainingClass, class_id)
    trainee = await db.get(Trainee, trainee_id)
    if klass is None or trainee is None:
        raise LookupError(f"no class {class_id} or trainee {trainee_id}")
    sessions = await class_sessions(db, class_id)
    marks = await _marks(db, class_id, trainee_id)
    return compute(
        trainee_id=trainee.id,
        name=trainee.name,
        class_id=class_id,
        planned_hours=Decimal(klass.planned_hours),
        sessions=sessions,
        marks=marks.get(trainee_id, []),
        now=now,
    )


async def class_attendance(db: AsyncSession, class_id: int, now: datetime) -> list[TraineeAttendance]:
    """Every counted trainee of a class (enrolled or completed), by name; three queries in all."""
    klass = await db.get(TrainingClass, class_id)
    if klass is None:
        raise LookupError(f"no class {class_id}")
    sessions = await class_sessions(db, class_id)
    marks = await _marks(db, class_id)
    people = await db.execute(
        select(Trainee.id, Trainee.name)
        .join(Enrollment, Enrollment.trainee_id == Trainee.id)
        .where(Enrollment.class_id == class_id, Enrollment.status.in_(COUNTED_ENROLLMENTS))
        .order_by(Trainee.name, Trainee.id)
    )
    th = attendance_thresholds()
    planned = Decimal(klass.planned_hours)
    return [
        compute(
            trainee_id=p.id,
            name=p.name,
            class_id=class_id,
            planned_hours=planned,
            sessions=sessions,
            marks=marks.get(p.id, []),
            now=now,
            thresholds=th,
        )
        for p in people
    ]


# --- check-in ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenSession:
    """A session whose check-in window contains now, with the class it belongs to."""

    session: ClassSession
    klass: TrainingClass


def window_opens(session: ClassSession, opens_minutes_before: int) -> datetime:
    return session.starts_at - timedelta(minutes=opens_minutes_before)


async def enrolled_classes(
    db: AsyncSession, trainee_id: int, statuses: Sequence[str] = ("enrolled",)
) -> list[TrainingClass]:
    rows = await db.execute(
        select(TrainingClass)
        .join(Enrollment, Enrollment.class_id == TrainingClass.id)
        .where(Enrollment.trainee_id == trainee_id, Enrollment.status.in_(statuses))
        .order_by(TrainingClass.start_date, TrainingClass.id)
    )
    return list(rows.scalars())


def _enrolled_sessions(trainee_id: int) -> Select[tuple[ClassSession, TrainingClass]]:
    """Sessions (with their class) of the classes the trainee is enrolled in and that still run."""
    return (
        select(ClassSession, TrainingClass)
        .join(TrainingClass, TrainingClass.id == ClassSession.class_id)
        .join(Enrollment, Enrollment.class_id == ClassSession.class_id)
        .where(
            Enrollment.trainee_id == trainee_id,
            Enrollment.status == "enrolled",
            TrainingClass.status != "cancelled",
        )
    )


async def open_sessions(
    db: AsyncSession, trainee_id: int, now: datetime, opens_minutes_before: int
) -> list[OpenSession]:
    """Sessions of the trainee's current classes that accept 签到 right now."""
    latest_start = now + timedelta(minutes=opens_minutes_before)
    rows = await db.execute(
        _enrolled_sessions(trainee_id)
        .where(ClassSession.starts_at <= latest_start, ClassSession.ends_at > now)
        .order_by(ClassSession.starts_at, TrainingClass.id)
    )
    return [OpenSession(s, k) for s, k in rows.all()]


async def next_session(
    db: AsyncSession, trainee_id: int, now: datetime, opens_minutes_before: int
) -> OpenSession | None:
    """The trainee's next session whose check-in window has not opened yet."""
    row = (
        await db.execute(
            _enrolled_sessions(trainee_id)
            .where(ClassSession.starts_at > now + timedelta(minutes=opens_minutes_before))
            .order_by(ClassSession.starts_at)
            .limit(1)
        )
    ).first()
    return OpenSession(row[0], row[1]) if row else None


async def upcoming_sessions(db: AsyncSession, class_id: int, now: datetime, limit: int) -> list[ClassSession]:
    """Sessions not yet ended, soonest first (a running one included)."""
    rows = await db.execute(
        select(ClassSession)
        .where(ClassSession.class_id == class_id, ClassSession.ends_at > now)
        .order_by(ClassSession.starts_at)
        .limit(limit)
    )
    return list(rows.scalars())


async def present_record(db: AsyncSession, session_id: int, trainee_id: int) -> AttendanceRecord | None:
    """The record that already proves presence (the institution's first, then the chat's)."""
    rows = (
        await db.execute(
            select(AttendanceRecord).where(
                AttendanceRecord.session_id == session_id,
                AttendanceRecord.trainee_id == trainee_id,
                AttendanceRecord.status == "present",
            )
        )
    ).scalars()
    by_source = {r.source: r for r in rows}
    return by_source.get("institution") or by_source.get("chat")


async def record_chat_check_in(
    db: AsyncSession, session_id: int, trainee_id: int, now: datetime
) -> tuple[bool, AttendanceRecord]:
    """Record a chat check-in once; (False, the earlier record) when one already proves presence.

    The unique key (session, trainee, source) makes two simultaneous 签到 of
    one person record one check-in, on either database.
    """
    earlier = await present_record(db, session_id, trainee_id)
    if earlier is not None:
        return False, earlier
    insert = pg_insert if db.bind.dialect.name == "postgresql" else sqlite_insert
    result = await db.execute(
        insert(AttendanceRecord)
        .values(
            session_id=session_id,
            trainee_id=trainee_id,
            source="chat",
            status="present",
            checked_in_at=now,
            recorded_by="chat",
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["session_id", "trainee_id", "source"])
    )
    record = (
        await db.execute(
            select(AttendanceRecord).where(
                AttendanceRecord.session_id == session_id,
                AttendanceRecord.trainee_id == trainee_id,
                AttendanceRecord.source == "chat",
            )
        )
    ).scalar_one()
    return bool(result.rowcount), record
