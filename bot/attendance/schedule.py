"""Class sessions: generated from a weekly pattern over the class dates, or given explicitly.

Which days a weekly pattern produces, unless the class includes non-working
days (`include_non_working_days`):

- a Monday–Friday day of the pattern is a class day only if it is a working
  day of the official calendar, so statutory holidays and 调休 days off are
  skipped;
- a Saturday or Sunday in the pattern is a deliberate weekend class and is
  kept, except inside a holiday period (a run of days off that contains a
  weekday, such as 国庆 1–7 October or 春节);
- a make-up working day (a weekend day worked under 调休) counts as a working
  day: it is a class day when the pattern covers every working day (Monday to
  Friday) — for a Monday/Wednesday/Friday class the notice does not say which
  weekday it replaces, so nothing is added.

The calendar is `bot.policy.calendar` (chinesecalendar plus config
overrides); a year without the official arrangement falls back to weekends
only, and `PlannedSchedule.calendar_certain` says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import LOCAL_TZ
from bot.policy.calendar import WorkCalendar, get_calendar
from models import AttendanceRecord, ClassSession, TrainingClass

WORKING_WEEK = frozenset(range(5))  # Monday..Friday
SECONDS_PER_HOUR = Decimal(3600)
HOURS_STEP = Decimal("0.01")


class WeeklyPattern(BaseModel):
    """The weekly timetable stored in `TrainingClass.schedule` (weekdays 0 = Monday)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    weekdays: tuple[int, ...] = Field(min_length=1)
    start: time
    end: time
    # Hours credited per session; the clock length of the session when absent.
    hours: Decimal | None = Field(default=None, gt=0, le=24)
    include_non_working_days: bool = False

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if any(d < 0 or d > 6 for d in v):
            raise ValueError("weekdays are 0 (Monday) to 6 (Sunday)")
        return tuple(sorted(set(v)))

    @model_validator(mode="after")
    def _times(self) -> WeeklyPattern:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    @property
    def session_hours(self) -> Decimal:
        if self.hours is not None:
            return self.hours
        seconds = (datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)).seconds
        return (Decimal(seconds) / SECONDS_PER_HOUR).quantize(HOURS_STEP)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "weekdays": list(self.weekdays),
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
            "include_non_working_days": self.include_non_working_days,
        }
        if self.hours is not None:
            out["hours"] = float(self.hours)
        return out


@dataclass(frozen=True, slots=True)
class PlannedSession:
    session_date: date
    starts_at: datetime
    ends_at: datetime
    hours: Decimal
    topic: str | None = None

    def row(self, class_id: int) -> ClassSession:
        """The session as a new table row of the class (the schedule sync and the demo both add them)."""
        return ClassSession(
            class_id=class_id,
            session_date=self.session_date,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            hours=self.hours,
            topic=self.topic,
        )


@dataclass
class PlannedSchedule:
    sessions: list[PlannedSession]
    calendar_certain: bool = True
    skipped: list[date] = field(default_factory=list)  # pattern days dropped as non-working

    @property
    def total_hours(self) -> Decimal:
        return sum((s.hours for s in self.sessions), Decimal(0))


def _in_holiday_period(day: date, cal: WorkCalendar) -> bool:
    """Whether a day off belongs to a run of days off that contains a weekday (a holiday period)."""
    for step in (-1, 1):
        d = day
        while not cal.is_working_day(d):
            if d.weekday() < 5:
                return True
            d += timedelta(days=step)
    return False


def is_class_day(day: date, pattern: WeeklyPattern, cal: WorkCalendar) -> bool:
    if pattern.include_non_working_days:
        return day.weekday() in pattern.weekdays
    working = cal.is_working_day(day)
    weekend = day.weekday() >= 5
    if not weekend:
        return working and day.weekday() in pattern.weekdays
    if working:  # a make-up working day (调休)
        return day.weekday() in pattern.weekdays or set(pattern.weekdays) >= WORKING_WEEK
    return day.weekday() in pattern.weekdays and not _in_holiday_period(day, cal)


def sessions_from_pattern(
    pattern: WeeklyPattern,
    start_date: date,
    end_date: date,
    *,
    tz: ZoneInfo = LOCAL_TZ,
    calendar: WorkCalendar | None = None,
) -> PlannedSchedule:
    """Every session of the pattern between the class dates (both included)."""
    cal = calendar or get_calendar()
    out = PlannedSchedule([])
    hours = pattern.session_hours
    day = start_date
    while day <= end_date:
        out.calendar_certain = out.calendar_certain and cal.is_certain(day.year)
        if is_class_day(day, pattern, cal):
            out.sessions.append(
                PlannedSession(
                    day,
                    datetime.combine(day, pattern.start, tz),
                    datetime.combine(day, pattern.end, tz),
                    hours,
                )
            )
        elif day.weekday() in pattern.weekdays:
            out.skipped.append(day)
        day += timedelta(days=1)
    return out


class ExplicitSession(BaseModel):
    """One session as an institution lists it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    date: date
    start: time
    end: time
    hours: Decimal | None = Field(default=None, gt=0, le=24)
    topic: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _times(self) -> ExplicitSession:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


def explicit_sessions(items: Iterable[ExplicitSession], *, tz: ZoneInfo = LOCAL_TZ) -> PlannedSchedule:
    """Sessions given one by one; overlapping sessions of one class are an error (ValueError)."""
    sessions: list[PlannedSession] = []
    for item in sorted(items, key=lambda i: (i.date, i.start)):
        starts = datetime.combine(item.date, item.start, tz)
        ends = datetime.combine(item.date, item.end, tz)
        hours = item.hours
        if hours is None:
            hours = (Decimal(int((ends - starts).total_seconds())) / SECONDS_PER_HOUR).quantize(HOURS_STEP)
        if sessions and starts < sessions[-1].ends_at:
            raise ValueError(f"sessions overlap on {item.date.isoformat()}")
        sessions.append(PlannedSession(item.date, starts, ends, hours, item.topic))
    return PlannedSchedule(sessions)


@dataclass
class SyncResult:
    added: int = 0
    updated: int = 0
    removed: int = 0
    # Sessions no longer planned that cannot be removed (they have attendance or already began).
    blocked: list[datetime] = field(default_factory=list)


async def sync_sessions(
    db: AsyncSession, klass: TrainingClass, planned: Sequence[PlannedSession], now: datetime
) -> SyncResult:
    """Make the class's sessions equal to `planned`, keyed by start time.

    A session that is no longer planned is removed only when it has not
    begun and nobody has a record for it: attendance already taken is
    evidence and must not vanish with a re-import. Such sessions are
    reported in `blocked` and left alone; the caller decides whether that
    fails the import.
    """
    result = SyncResult()
    existing = {
        s.starts_at: s
        for s in (await db.execute(select(ClassSession).where(ClassSession.class_id == klass.id))).scalars()
    }
    wanted = {p.starts_at: p for p in planned}
    for starts_at, p in wanted.items():
        row = existing.get(starts_at)
        if row is None:
            db.add(p.row(klass.id))
            result.added += 1
        elif (row.ends_at, Decimal(row.hours), row.topic) != (p.ends_at, p.hours, p.topic):
            row.ends_at, row.hours, row.topic = p.ends_at, p.hours, p.topic
            # A changed time must get its reminders and nudges planned afresh.
            row.reminders_created_at = row.nudges_created_at = None
            result.updated += 1
    gone = [s for start, s in existing.items() if start not in wanted]
    if gone:
        recorded = set(
            (
                await db.execute(
                    select(ClassSession.id).where(
                        ClassSession.id.in_([s.id for s in gone]),
                        exists().where(AttendanceRecord.session_id == ClassSession.id),
                    )
                )
            ).scalars()
        )
        removable = [s.id for s in gone if s.id not in recorded and s.starts_at > now]
        result.blocked = sorted(s.starts_at for s in gone if s.id not in removable)
        if removable:
            await db.execute(delete(ClassSession).where(ClassSession.id.in_(removable)))
            result.removed = len(removable)
    await db.flush()
    return result
