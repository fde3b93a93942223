"""The chat's reads and the one write of 签到 and 我的出勤率, as prebuilt Core statements.

At the morning peak these run for every bound trainee, often twice (签到, then
签到 again, or 我的出勤率): rows, not ORM objects, are what the answers need, and
built once, the statements are compiled once (SQLAlchemy caches them). They run
on whatever `db` the caller passes: the turn's own connection (handlers.common
`reader`), so no ORM session is made for them, or a session, whose pending
changes they then see. The attendance arithmetic, and `trainee_attendance`, are
in `service`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Row

from models import AttendanceRecord, ClassSession, Enrollment, TrainingClass

SESSIONS = ClassSession.__table__
CLASSES = TrainingClass.__table__
ENROLLMENTS = Enrollment.__table__
RECORDS = AttendanceRecord.__table__


@dataclass(frozen=True, slots=True)
class OpenSession:
    """A session whose check-in window contains now (or the next one), with its class's name."""

    id: int
    starts_at: datetime
    ends_at: datetime
    class_id: int
    class_name: str


# Sessions of the classes the trainee is enrolled in and that still run.
_ENROLLED_SESSIONS = (
    select(
        SESSIONS.c.id,
        SESSIONS.c.starts_at,
        SESSIONS.c.ends_at,
        CLASSES.c.id.label("class_id"),
        CLASSES.c.name.label("class_name"),
    )
    .join(CLASSES, CLASSES.c.id == SESSIONS.c.class_id)
    .join(ENROLLMENTS, ENROLLMENTS.c.class_id == SESSIONS.c.class_id)
    .where(
        ENROLLMENTS.c.trainee_id == bindparam("trainee_id"),
        ENROLLMENTS.c.status == "enrolled",
        CLASSES.c.status != "cancelled",
    )
)
SELECT_OPEN = _ENROLLED_SESSIONS.where(
    SESSIONS.c.starts_at <= bindparam("latest_start"), SESSIONS.c.ends_at > bindparam("now")
).order_by(SESSIONS.c.starts_at, CLASSES.c.id)
SELECT_NEXT = (
    _ENROLLED_SESSIONS.where(SESSIONS.c.starts_at > bindparam("latest_start"))
    .order_by(SESSIONS.c.starts_at)
    .limit(1)
)
# What the chat needs of a class: its name, the hours the rate is measured against,
# and when its reminders go out by default.
SELECT_CLASSES = (
    select(CLASSES.c.id, CLASSES.c.name, CLASSES.c.planned_hours, CLASSES.c.reminder_minutes_before)
    .join(ENROLLMENTS, ENROLLMENTS.c.class_id == CLASSES.c.id)
    .where(
        ENROLLMENTS.c.trainee_id == bindparam("trainee_id"),
        ENROLLMENTS.c.status.in_(bindparam("statuses", expanding=True)),
    )
    .order_by(CLASSES.c.start_date, CLASSES.c.id)
)
_PRESENT_WHERE = (
    RECORDS.c.session_id == bindparam("session_id"),
    RECORDS.c.trainee_id == bindparam("trainee_id"),
)
SELECT_PRESENT = select(RECORDS.c.source, RECORDS.c.checked_in_at, RECORDS.c.created_at).where(
    *_PRESENT_WHERE, RECORDS.c.status == "present"
)
SELECT_CHAT_RECORD = select(RECORDS.c.source, RECORDS.c.checked_in_at, RECORDS.c.created_at).where(
    *_PRESENT_WHERE, RECORDS.c.source == "chat"
)
_NEW_RECORD = {
    "session_id": bindparam("session_id"),
    "trainee_id": bindparam("trainee_id"),
    "source": "chat",
    "status": "present",
    "checked_in_at": bindparam("now"),
    "recorded_by": "chat",
    "created_at": bindparam("now"),
}
# The unique key (session, trainee, source) makes two simultaneous 签到 of one person
# record one check-in, on either database; the row inserted comes back, none on a conflict.
INSERT_CHECK_IN = {
    dialect: make(RECORDS)
    .values(**_NEW_RECORD)
    .on_conflict_do_nothing(index_elements=["session_id", "trainee_id", "source"])
    .returning(RECORDS.c.source, RECORDS.c.checked_in_at, RECORDS.c.created_at)
    for dialect, make in (("postgresql", pg_insert), ("sqlite", sqlite_insert))
}


def _dialect(db: Any) -> str:
    """A connection's dialect, or a session's (through what it is bound to)."""
    dialect = getattr(db, "dialect", None)
    return str((dialect or db.bind.dialect).name)


def _open(row: Row[Any]) -> OpenSession:
    return OpenSession(row.id, row.starts_at, row.ends_at, row.class_id, row.class_name)


async def open_sessions(
    db: Any, trainee_id: int, now: datetime, opens_minutes_before: int
) -> list[OpenSession]:
    """Sessions of the trainee's current classes that accept 签到 right now."""
    params = {
        "trainee_id": trainee_id,
        "now": now,
        "latest_start": now + timedelta(minutes=opens_minutes_before),
    }
    return [_open(row) for row in await db.execute(SELECT_OPEN, params)]


async def next_session(
    db: Any, trainee_id: int, now: datetime, opens_minutes_before: int
) -> OpenSession | None:
    """The trainee's next session whose check-in window has not opened yet."""
    params = {"trainee_id": trainee_id, "latest_start": now + timedelta(minutes=opens_minutes_before)}
    row = (await db.execute(SELECT_NEXT, params)).first()
    return _open(row) if row is not None else None


async def enrolled_classes(
    db: Any, trainee_id: int, statuses: Sequence[str] = ("enrolled",)
) -> list[Row[Any]]:
    """The trainee's classes (id, name, planned_hours, reminder_minutes_before), first started first."""
    params = {"trainee_id": trainee_id, "statuses": list(statuses)}
    return list((await db.execute(SELECT_CLASSES, params)).all())


async def record_chat_check_in(
    db: Any, session_id: int, trainee_id: int, now: datetime
) -> tuple[bool, Row[Any]]:
    """Record a chat check-in once; (False, the earlier record) when one already proves presence.

    The record's source, checked_in_at and created_at come back: the institution's
    record first when both exist, as it is the one that counts (第十四条).
    """
    params = {"session_id": session_id, "trainee_id": trainee_id}
    earlier = {row.source: row for row in await db.execute(SELECT_PRESENT, params)}
    found = earlier.get("institution") or earlier.get("chat")
    if found is not None:
        return False, found
    inserted = (await db.execute(INSERT_CHECK_IN[_dialect(db)], {**params, "now": now})).first()
    if inserted is not None:
        return True, inserted
    # Another message of the same person recorded it meanwhile (or a chat record says absent).
    return False, (await db.execute(SELECT_CHAT_RECORD, params)).one()
