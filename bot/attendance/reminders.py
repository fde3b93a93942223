"""The day's check-in reminders and mid-session nudges as outbox rows, and the frequent tick.

Every message has a deterministic idempotency key (`bot.attendance.outbox_rows`),
so any step may run twice, on two processes, or again after a crash, and
nobody gets anything twice.

Work is claimed per session (FOR UPDATE SKIP LOCKED on PostgreSQL, so two
processes split the day between them) and marked done on the session row
(`reminders_created_at`, `nudges_created_at`, `settled_at`) in the same
transaction as its outbox rows. A crash mid-run leaves the unfinished
sessions unmarked, and the next run (the frequent tick, which also runs at
start-up) finishes them; reminders whose time has passed go out at once as
long as the session has not ended, and reminders still pending when their
session ends are cancelled rather than sent late.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.attendance import formatting as fmt
from bot.attendance.config import get_attendance_config
from bot.attendance.outbox_rows import (
    RunStats,
    claim_sessions,
    insert_new,
    nudge_key,
    outbox_row,
    reminder_key,
    upsert_reminders,
)
from bot.attendance.planning import plan_day
from bot.attendance.rate_warnings import settle_ended_sessions
from bot.attendance.reminder_writer import (
    DEFAULT_MINUTES,
    RECIPIENTS,
    SILENT_CLASS_STATUSES,
    ReminderWriter,
    SessionInfo,
    reminder_due,
)
from bot.services import Services
from models import (
    AttendanceRecord,
    ChatUser,
    ClassSession,
    Enrollment,
    Institution,
    OutboxMessage,
    Trainee,
    TrainingClass,
)

log = logging.getLogger(__name__)


# The people a batch of sessions reminds: one lean row each (the session's own data is
# fetched once per session, not repeated on 50 rows).
_PEOPLE = (
    select(Enrollment.class_id, ChatUser.id, ChatUser.channel, ChatUser.reminder_time, Trainee.name)
    .join(ChatUser, ChatUser.trainee_id == Enrollment.trainee_id)
    .join(Trainee, Trainee.id == Enrollment.trainee_id)
    .where(
        Enrollment.status == "enrolled",
        ChatUser.reachable.is_(True),
        ChatUser.reminders_enabled.is_(True),
    )
)


async def _day_rows(
    db: AsyncSession, ids: list[int], writer: ReminderWriter, tz: Any, now: datetime
) -> list[dict[str, Any]]:
    """The outbox rows of the reminders of these sessions."""
    infos: dict[int, list[SessionInfo]] = defaultdict(list)
    for row in await db.execute(
        select(
            ClassSession.id,
            ClassSession.class_id,
            ClassSession.starts_at,
            ClassSession.ends_at,
            TrainingClass.name,
            TrainingClass.address,
            DEFAULT_MINUTES,
            Institution.reminder_evening_at,
        )
        .join(TrainingClass, TrainingClass.id == ClassSession.class_id)
        .join(Institution, Institution.id == TrainingClass.institution_id)
        .where(ClassSession.id.in_(ids), TrainingClass.status.not_in(SILENT_CLASS_STATUSES))
    ):
        infos[row[1]].append(SessionInfo(*row))
    today = now.date()
    dues: dict[tuple[int, time | None], datetime] = {}
    rows: list[dict[str, Any]] = []
    for class_id, user_id, channel, personal, name in await db.execute(
        _PEOPLE.where(Enrollment.class_id.in_(list(infos)))
    ):
        for info in infos[class_id]:
            due = dues.get((info.session_id, personal))
            if due is None:
                due = reminder_due(
                    info.starts_at, info.reminder_minutes_before, personal, tz, info.reminder_evening_at
                )
                due = dues[(info.session_id, personal)] = max(due, now)
            text, template = writer.for_person(info, name, channel, today)
            rows.append(
                outbox_row(
                    reminder_key(info.session_id, user_id),
                    user_id,
                    "reminder",
                    text,
                    due,
                    now,
                    [writer.button],
                    template,
                    expires_at=info.ends_at,
                    deadline_at=info.starts_at,
                )
            )
    return rows


async def create_reminders(services: Services, day: date | None = None) -> RunStats:
    """Create the check-in reminders of `day` (today) for sessions that have not ended.

    Safe to run any number of times: sessions already done are skipped by
    their mark, and a session redone after a crash only meets existing keys.
    """
    cfg = get_attendance_config()
    now = services.clock.now()
    day = day or now.date()
    writer = ReminderWriter(services.texts, cfg, services.clock.tz)
    stats = RunStats()
    while True:
        async with services.db.session() as db:
            query = (
                select(ClassSession.id)
                .where(
                    ClassSession.session_date == day,
                    ClassSession.reminders_created_at.is_(None),
                    ClassSession.ends_at > now,
                )
                .order_by(ClassSession.starts_at, ClassSession.id)
                .limit(cfg.reminders.batch_sessions)
            )
            ids = list((await db.execute(claim_sessions(query, db))).scalars())
            if not ids:
                return stats
            rows = await _day_rows(db, ids, writer, services.clock.tz, now)
            stats.rows += await upsert_reminders(db, rows)
            await db.execute(
                update(ClassSession).where(ClassSession.id.in_(ids)).values(reminders_created_at=now)
            )
            stats.sessions += len(ids)


async def create_nudges(services: Services) -> RunStats:
    """One nudge per person not checked in once a session passes its nudge point."""
    cfg = get_attendance_config()
    now = services.clock.now()
    writer = ReminderWriter(services.texts, cfg, services.clock.tz)
    stats = RunStats()
    fraction = cfg.nudge.at_fraction
    async with services.db.session() as db:
        query = select(ClassSession).where(
            ClassSession.session_date == now.date(),
            ClassSession.nudges_created_at.is_(None),
            ClassSession.starts_at <= now,
            ClassSession.ends_at > now,
        )
        sessions = [
            s
            for s in (await db.execute(claim_sessions(query, db))).scalars()
            if s.starts_at + (s.ends_at - s.starts_at) * fraction <= now
        ]
        if not sessions:
            return stats
        ids = [s.id for s in sessions]
        present = exists().where(
            AttendanceRecord.session_id == ClassSession.id,
            AttendanceRecord.trainee_id == Enrollment.trainee_id,
            AttendanceRecord.status == "present",
        )
        rows = []
        for r in await db.execute(RECIPIENTS.where(ClassSession.id.in_(ids), ~present)):
            text = services.texts.get(
                "attendance.nudge",
                name=r.name,
                klass=r.klass_name,
                start=fmt.hhmm(r.starts_at, services.clock.tz),
                end=fmt.hhmm(r.ends_at, services.clock.tz),
            )
            rows.append(
                outbox_row(
                    nudge_key(r.session_id, r.chat_user_id),
                    r.chat_user_id,
                    "nudge",
                    text,
                    now,
                    now,
                    [writer.button],
                    None,
                    expires_at=r.ends_at,
                )
            )
        stats.rows = await insert_new(db, rows)
        await db.execute(update(ClassSession).where(ClassSession.id.in_(ids)).values(nudges_created_at=now))
        stats.sessions = len(ids)
    return stats


async def cancel_stale(services: Services) -> int:
    """Cancel reminders and nudges still pending after their session ended (or was removed).

    A reminder is worthless once the lesson is over; this runs at start-up
    and on every tick, so a long outage does not end in a burst of stale
    reminders. It looks only at rows already due (the dispatcher's index).
    """
    now = services.clock.now()
    async with services.db.session() as db:
        rows = list(
            (
                await db.execute(
                    select(OutboxMessage.id, OutboxMessage.idempotency_key).where(
                        OutboxMessage.status == "pending",
                        OutboxMessage.due_at <= now,
                        OutboxMessage.kind.in_(("reminder", "nudge")),
                    )
                )
            ).all()
        )
        if not rows:
            return 0
        by_session: dict[int, list[int]] = defaultdict(list)
        for row_id, key in rows:
            by_session[int(key.split(":")[1])].append(row_id)
        alive = set(
            (
                await db.execute(
                    select(ClassSession.id).where(
                        ClassSession.id.in_(list(by_session)), ClassSession.ends_at > now
                    )
                )
            ).scalars()
        )
        stale = [i for sid, ids in by_session.items() if sid not in alive for i in ids]
        if stale:
            await db.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(stale), OutboxMessage.status == "pending")
                .values(status="cancelled", last_error="session ended before delivery")
            )
        return len(stale)


async def remind_and_plan(services: Services, day: date) -> RunStats:
    """Write the reminders of `day` not written yet, then plan the day's wave when anything was added."""
    made = await create_reminders(services, day)
    if made.rows:
        await plan_day(services, day)
    return made


def days_to_remind(services: Services) -> list[date]:
    """Today, and tomorrow once the evening run's time has passed (its reminders may go tonight)."""
    now = services.clock.now()
    today = now.date()
    if now.time() >= get_attendance_config().reminders.evening_run:
        return [today, today + timedelta(days=1)]
    return [today]


async def tick(services: Services) -> dict[str, int]:
    """The frequent job: catch up reminders (and plan), nudge, warn, and drop stale reminders.

    Reminders too late for their class are dropped by the dispatcher (`bot.outbox.deadlines`).
    """
    made = RunStats()
    for day in days_to_remind(services):
        made.rows += (await remind_and_plan(services, day)).rows
    nudged = await create_nudges(services)
    settled = await settle_ended_sessions(services)
    stale = await cancel_stale(services)
    result = {
        "reminders": made.rows,
        "nudges": nudged.rows,
        "warnings": settled.rows,
        "stale_cancelled": stale,
    }
    if any(result.values()):
        log.info("attendance tick: %s", result)
    return result
