"""A class's attendance session by session: who was there at each session, for the chart and the export.

Uses the same effective record as the arithmetic (`service.effective_status`:
the institution's record over the chat check-in), so the picture, the sheet
and the chat answer never disagree. A session not yet held has no mark.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from bot.attendance.formatting import rate_so_far
from bot.attendance.service import (
    SessionSlot,
    TraineeAttendance,
    _marks,
    class_attendance,
    class_sessions,
    effective_status,
)


@dataclass(frozen=True)
class SessionColumn:
    slot: SessionSlot
    held: bool  # started by now
    present: int  # trainees with an effective present record


@dataclass(frozen=True)
class TraineeRow:
    attendance: TraineeAttendance
    marks: dict[int, str]  # session id -> "present" | "absent" (held sessions only)
    so_far: Decimal | None  # attended ÷ sessions held so far; None before the first session


@dataclass(frozen=True)
class Matrix:
    sessions: list[SessionColumn]
    trainees: list[TraineeRow]

    @property
    def held(self) -> int:
        return sum(1 for s in self.sessions if s.held)


async def class_matrix(db: AsyncSession, class_id: int, now: datetime) -> Matrix:
    """Four queries whatever the size of the class."""
    people = await class_attendance(db, class_id, now)
    slots = await class_sessions(db, class_id)
    marks = await _marks(db, class_id)
    held = {s.id for s in slots if s.starts_at <= now}
    ended = {s.id for s in slots if s.ends_at <= now}
    present: dict[int, int] = {}
    rows = []
    for person in people:
        effective, _ = effective_status(marks.get(person.trainee_id, []))
        shown = {sid: st for sid, st in effective.items() if sid in held}
        for sid, status in shown.items():
            if status == "present":
                present[sid] = present.get(sid, 0) + 1
        for sid in held:
            shown.setdefault(sid, "absent" if sid in ended else "")
        rows.append(
            TraineeRow(
                person,
                {k: v for k, v in shown.items() if v},
                rate_so_far(person.sessions_attended, person.sessions_done),
            )
        )
    columns = [SessionColumn(s, s.id in held, present.get(s.id, 0)) for s in slots]
    return Matrix(columns, rows)
