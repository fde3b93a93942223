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
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.policy.attendance import AttendanceThresholds, attendance_thresholds
from models import AttendanceRecord, ClassSession, Enrollment, Trainee, TrainingClass

ZERO = Decimal(0)
SESSIONS = ClassSession.__table__
CLASSES = TrainingClass.__table__
RECORDS = AttendanceRecord.__table__
TRAINEES = Trainee.__table__
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


# The class's filed hours and the trainee's name in one row, NULL where either does not exist.
_CLASS_HOURS = select(CLASSES.c.planned_hours).where(CLASSES.c.id == bindparam("class_id"))
_TRAINEE_NAME = select(TRAINEES.c.name).where(TRAINEES.c.id == bindparam("trainee_id"))
SELECT_CLASS_AND_NAME = select(
    _CLASS_HOURS.scalar_subquery().label("hours"), _TRAINEE_NAME.scalar_subquery().label("name")
)
# The class's sessions, each with the trainee's records of it (none, chat, institution, both).
SELECT_SESSIONS_AND_MARKS = (
    select(
        SESSIONS.c.id,
        SESSIONS.c.starts_at,
        SESSIONS.c.ends_at,
        SESSIONS.c.hours,
        RECORDS.c.source,
        RECORDS.c.status,
    )
    .outerjoin(
        RECORDS,
        (RECORDS.c.session_id == SESSIONS.c.id) & (RECORDS.c.trainee_id == bindparam("trainee_id")),
    )
    .where(SESSIONS.c.class_id == bindparam("class_id"))
    .order_by(SESSIONS.c.starts_at, SESSIONS.c.id)
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


async def trainee_attendance(db: Any, trainee_id: int, class_id: int, now: datetime) -> TraineeAttendance:
    """One trainee's attendance in one class as of `now`; LookupError when either does not exist.

    Two prebuilt statements on whatever `db` is given (the chat's 我的出勤率 passes the
    turn's connection), where the ORM took four and an object per row.
    """
    params = {"trainee_id": trainee_id, "class_id": class_id}
    head = (await db.execute(SELECT_CLASS_AND_NAME, params)).one()
    if head.hours is None or head.name is None:
        raise LookupError(f"no class {class_id} or trainee {trainee_id}")
    sessions: dict[int, SessionSlot] = {}
    marks: list[Mark] = []
    for row in await db.execute(SELECT_SESSIONS_AND_MARKS, params):
        if row.id not in sessions:
            sessions[row.id] = SessionSlot(row.id, row.starts_at, row.ends_at, Decimal(row.hours))
        if row.source is not None:
            marks.append(Mark(row.id, row.source, row.status))
    return compute(
        trainee_id=trainee_id,
        name=head.name,
        class_id=class_id,
        planned_hours=Decimal(head.hours),
        sessions=list(sessions.values()),
        marks=marks,
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


async def upcoming_sessions(db: AsyncSession, class_id: int, now: datetime, limit: int) -> list[ClassSession]:
    """Sessions not yet ended, soonest first (a running one included)."""
    rows = await db.execute(
        select(ClassSession)
        .where(ClassSession.class_id == class_id, ClassSession.ends_at > now)
        .order_by(ClassSession.starts_at)
        .limit(limit)
    )
    return list(rows.scalars())
