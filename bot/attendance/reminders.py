"""Check-in reminders, mid-session nudges and attendance warnings, all as outbox rows.

Every message has a deterministic idempotency key, so any step may run
twice, on two processes, or again after a crash, and nobody gets anything
twice:

    reminder:{session_id}:{chat_user_id}
    nudge:{session_id}:{chat_user_id}
    attendance_warning:{class_id}:{trainee_id}:{full|exam}:{chat_user_id}

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
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, exists, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.attendance import formatting as fmt
from bot.attendance.config import AttendanceConfig, get_attendance_config
from bot.attendance.service import TraineeAttendance, class_attendance
from bot.policy.attendance import attendance_thresholds
from bot.policy.params import percent
from bot.services import Services
from bot.texts import Texts
from models import AttendanceRecord, ChatUser, ClassSession, Enrollment, OutboxMessage, Trainee, TrainingClass

log = logging.getLogger(__name__)

# WeChat templates used outside the 48-hour window (keys of config/wechat_templates.yaml).
REMINDER_TEMPLATE = "checkin_reminder"
# A cancelled class reminds nobody.
SILENT_CLASS_STATUSES = ("cancelled",)
# Bulk inserts go through the table, not the ORM entity: no per-row ORM bookkeeping.
OUTBOX = OutboxMessage.__table__
WARNING_TEMPLATE = "attendance_warning"


def reminder_key(session_id: int, chat_user_id: int) -> str:
    return f"reminder:{session_id}:{chat_user_id}"


def nudge_key(session_id: int, chat_user_id: int) -> str:
    return f"nudge:{session_id}:{chat_user_id}"


def warning_key(class_id: int, trainee_id: int, level: str, chat_user_id: int) -> str:
    return f"attendance_warning:{class_id}:{trainee_id}:{level}:{chat_user_id}"


def reminder_due(starts_at: datetime, minutes_before: int, personal: time | None, tz: Any) -> datetime:
    """When one person's reminder for one session is due.

    A personal time applies when it falls before the session starts (提醒改到七点
    for an 08:30 class); for a class that starts earlier than that time, the
    class default (N minutes before) is used, so nobody is reminded after the
    lesson began.
    """
    default = starts_at - timedelta(minutes=minutes_before)
    if personal is not None:
        local_day = starts_at.astimezone(tz).date()
        mine = datetime.combine(local_day, personal, tz)
        if mine < starts_at:
            return mine
    return default


@dataclass
class RunStats:
    sessions: int = 0
    rows: int = 0


def _insert(db: AsyncSession) -> Any:
    return pg_insert if db.bind.dialect.name == "postgresql" else sqlite_insert


def _claim(query: Any, db: AsyncSession) -> Any:
    """Claim rows: other processes skip them on PostgreSQL; SQLite has one writer anyway."""
    if db.bind.dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True, of=ClassSession)
    return query


async def _upsert_reminders(db: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Insert reminders; an existing *pending* one takes the new time and text, anything else stays.

    Updating pending rows is what lets a later run follow a changed session
    time or reminder preference without ever producing a second row.
    """
    if not rows:
        return 0
    ins = _insert(db)(OUTBOX)
    stmt = ins.on_conflict_do_update(
        index_elements=["idempotency_key"],
        set_={
            "due_at": ins.excluded.due_at,
            "text": ins.excluded.text,
            "template": ins.excluded.template,
            "expires_at": ins.excluded.expires_at,
        },
        where=OUTBOX.c.status == "pending",
    )
    await db.execute(stmt, rows)
    return len(rows)


async def _insert_new(db: AsyncSession, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    stmt = _insert(db)(OUTBOX).on_conflict_do_nothing(index_elements=["idempotency_key"])
    await db.execute(stmt, rows)
    return len(rows)


def _row(
    key: str,
    chat_user_id: int,
    kind: str,
    text: str,
    due: datetime,
    now: datetime,
    choices: list[str],
    template: dict[str, Any] | None,
    expires_at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "expires_at": expires_at,
        "idempotency_key": key,
        "chat_user_id": chat_user_id,
        "kind": kind,
        "text": text,
        "choices": choices,
        "template": template,
        "due_at": due,
        "status": "pending",
        "attempts": 0,
        "created_at": now,
    }


class ReminderWriter:
    """Builds the texts of one run: what depends on the session is worked out once per session.

    The morning run writes one row per person (100,000 on a busy day), so
    formatting, time-zone conversion and the template fields are cached per
    session; only the name changes per row. The WeChat template rides along
    only for WeChat users (no other channel has a 48-hour window).
    """

    def __init__(self, texts: Texts, cfg: AttendanceConfig, tz: Any) -> None:
        self.texts, self.cfg, self.tz = texts, cfg, tz
        self.button = texts.get("attendance.check_in_button")
        self.pattern = texts.get("attendance.reminder")
        self._sessions: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}

    def _session(self, r: Any, today: date) -> tuple[dict[str, Any], dict[str, Any]]:
        cached = self._sessions.get(r.session_id)
        if cached is None:
            day = r.starts_at.astimezone(self.tz).date()
            fields = {
                "klass": r.klass_name,
                "day": fmt.day_words(self.texts, day, today),
                "start": fmt.hhmm(r.starts_at, self.tz),
                "end": fmt.hhmm(r.ends_at, self.tz),
                "place": r.address or self.texts.get("attendance.no_place"),
                "opens": self.cfg.check_in.opens_minutes_before,
            }
            template = {
                "template": REMINDER_TEMPLATE,
                "fields": {
                    "class_name": r.klass_name,
                    "starts_at": f"{day.isoformat()} {fields['start']}",
                    "address": fields["place"],
                },
            }
            cached = self._sessions[r.session_id] = (fields, template)
        return cached

    def reminder(self, r: Any, today: date) -> tuple[str, dict[str, Any] | None]:
        """Text and WeChat template of one recipient row of `_RECIPIENTS`."""
        return self.for_person(r, r.name, r.channel, today)

    def for_person(
        self, session: Any, name: str, channel: str, today: date
    ) -> tuple[str, dict[str, Any] | None]:
        fields, template = self._session(session, today)
        return self.pattern.format(name=name, **fields), template if channel == "wechat" else None


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """What a reminder needs of its session and class (attribute names as in `_RECIPIENTS`)."""

    session_id: int
    class_id: int
    starts_at: datetime
    ends_at: datetime
    klass_name: str
    address: str | None
    reminder_minutes_before: int


_RECIPIENTS = (
    select(
        ClassSession.id.label("session_id"),
        ClassSession.starts_at,
        ClassSession.ends_at,
        TrainingClass.name.label("klass_name"),
        TrainingClass.address,
        TrainingClass.reminder_minutes_before,
        ChatUser.id.label("chat_user_id"),
        ChatUser.channel,
        ChatUser.reminder_time,
        Trainee.id.label("trainee_id"),
        Trainee.name,
    )
    .join(TrainingClass, TrainingClass.id == ClassSession.class_id)
    .join(Enrollment, and_(Enrollment.class_id == ClassSession.class_id, Enrollment.status == "enrolled"))
    .join(ChatUser, ChatUser.trainee_id == Enrollment.trainee_id)
    .join(Trainee, Trainee.id == Enrollment.trainee_id)
    .where(
        ChatUser.reachable.is_(True),
        ChatUser.reminders_enabled.is_(True),
        TrainingClass.status.not_in(SILENT_CLASS_STATUSES),
    )
)


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
            TrainingClass.reminder_minutes_before,
        )
        .join(TrainingClass, TrainingClass.id == ClassSession.class_id)
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
                due = reminder_due(info.starts_at, info.reminder_minutes_before, personal, tz)
                due = dues[(info.session_id, personal)] = max(due, now)
            text, template = writer.for_person(info, name, channel, today)
            rows.append(
                _row(
                    reminder_key(info.session_id, user_id),
                    user_id,
                    "reminder",
                    text,
                    due,
                    now,
                    [writer.button],
                    template,
                    expires_at=info.ends_at,
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
            ids = list((await db.execute(_claim(query, db))).scalars())
            if not ids:
                return stats
            rows = await _day_rows(db, ids, writer, services.clock.tz, now)
            stats.rows += await _upsert_reminders(db, rows)
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
            for s in (await db.execute(_claim(query, db))).scalars()
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
        for r in await db.execute(_RECIPIENTS.where(ClassSession.id.in_(ids), ~present)):
            text = services.texts.get(
                "attendance.nudge",
                name=r.name,
                klass=r.klass_name,
                start=fmt.hhmm(r.starts_at, services.clock.tz),
                end=fmt.hhmm(r.ends_at, services.clock.tz),
            )
            rows.append(
                _row(
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
        stats.rows = await _insert_new(db, rows)
        await db.execute(update(ClassSession).where(ClassSession.id.in_(ids)).values(nudges_created_at=now))
        stats.sessions = len(ids)
    return stats


def warning_text(texts: Texts, name: str, klass_name: str, a: TraineeAttendance) -> tuple[str, str] | None:
    """(level, text) of the warning this attendance calls for, or None while 90 % is reachable."""
    th = attendance_thresholds()
    common = {
        "name": name,
        "klass": klass_name,
        "attended": fmt.hours(a.attended_hours),
        "planned": fmt.hours(a.planned_hours),
        "best": fmt.rate(a.best_rate),
        "full_rate": percent(th.full),
        "exam_rate": percent(th.exam_min),
        "exam_article": th.exam_article,
    }
    if not a.exam_reachable:
        return "exam", texts.get("attendance.warning_exam", **common)
    if not a.full_reachable:
        if a.can_miss_exam:
            line = texts.get("attendance.warning_exam_line_can_miss", n=a.can_miss_exam, **common)
        else:
            line = texts.get("attendance.warning_exam_line_no_miss", **common)
        return "full", texts.get("attendance.warning_full", exam_line=line, **common)
    return None


async def warn_class(db: AsyncSession, services: Services, class_id: int, now: datetime) -> int:
    """Queue the warnings a class's attendance now calls for; once per level, person and account.

    Called when sessions end and when an institution's records change a
    trainee's attendance, so a warning goes out the moment the best
    reachable rate drops under a threshold.
    """
    klass = await db.get(TrainingClass, class_id)
    if klass is None or klass.status == "cancelled":
        return 0
    people = [a for a in await class_attendance(db, class_id, now) if not a.full_reachable]
    if not people:
        return 0
    ids = [a.trainee_id for a in people]
    users: dict[int, list[int]] = defaultdict(list)
    for trainee_id, user_id in await db.execute(
        select(ChatUser.trainee_id, ChatUser.id)
        .join(Enrollment, and_(Enrollment.trainee_id == ChatUser.trainee_id, Enrollment.class_id == class_id))
        .where(ChatUser.trainee_id.in_(ids), ChatUser.reachable.is_(True), Enrollment.status == "enrolled")
    ):
        users[trainee_id].append(user_id)
    rows = []
    for a in people:
        found = warning_text(services.texts, a.name, klass.name, a)
        if found is None:
            continue
        level, text = found
        for user_id in users.get(a.trainee_id, []):
            template = {
                "template": WARNING_TEMPLATE,
                "fields": {"class_name": klass.name, "rate": fmt.rate(a.best_rate)},
            }
            rows.append(
                _row(
                    warning_key(class_id, a.trainee_id, level, user_id),
                    user_id,
                    "attendance_warning",
                    text,
                    now,
                    now,
                    [services.texts.get("attendance.attendance_button")],
                    template,
                )
            )
    return await _insert_new(db, rows)


async def settle_ended_sessions(services: Services) -> RunStats:
    """Evaluate warnings for classes whose sessions ended since the last look."""
    cfg = get_attendance_config()
    now = services.clock.now()
    since = now - timedelta(hours=cfg.warnings.lookback_hours)
    stats = RunStats()
    async with services.db.session() as db:
        query = select(ClassSession.id, ClassSession.class_id).where(
            ClassSession.session_date >= since.astimezone(services.clock.tz).date(),
            ClassSession.session_date <= now.date(),
            ClassSession.settled_at.is_(None),
            ClassSession.ends_at <= now,
            ClassSession.ends_at > since,
        )
        ended = list((await db.execute(_claim(query, db))).all())
        if not ended:
            return stats
        for class_id in sorted({c for _, c in ended}):
            stats.rows += await warn_class(db, services, class_id, now)
        await db.execute(
            update(ClassSession).where(ClassSession.id.in_([s for s, _ in ended])).values(settled_at=now)
        )
        stats.sessions = len(ended)
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


async def refresh_user_reminders(db: AsyncSession, services: Services, user: ChatUser, now: datetime) -> None:
    """Bring one person's reminders for today's remaining sessions in line with their settings.

    Called after 关闭提醒 / 打开提醒 / 提醒改到七点 (and usable after binding),
    in the same transaction: pending reminders move or are cancelled, a
    cancelled one comes back when reminders are switched on again.
    """
    if user.trainee_id is None:
        return
    cfg = get_attendance_config()
    sessions = list(
        (
            await db.execute(
                _RECIPIENTS.where(
                    ChatUser.id == user.id,
                    ClassSession.session_date == now.date(),
                    ClassSession.ends_at > now,
                )
            )
        ).all()
    )
    keys = [reminder_key(r.session_id, user.id) for r in sessions]
    if not user.reminders_enabled or not user.reachable:
        await cancel_user_pending(db, user.id)
        return
    writer = ReminderWriter(services.texts, cfg, services.clock.tz)
    rows = []
    for r in sessions:
        due = reminder_due(r.starts_at, r.reminder_minutes_before, user.reminder_time, services.clock.tz)
        if due < now:
            # A new time that has already passed today: today keeps the class default
            # rather than a reminder right now, which the person did not ask for.
            due = reminder_due(r.starts_at, r.reminder_minutes_before, None, services.clock.tz)
        text, template = writer.reminder(r, now.date())
        rows.append(
            _row(
                reminder_key(r.session_id, user.id),
                user.id,
                "reminder",
                text,
                max(due, now),
                now,
                [writer.button],
                template,
                expires_at=r.ends_at,
            )
        )
    if keys:
        # Switched back on: a reminder cancelled by 关闭提醒 today becomes pending again.
        await db.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.idempotency_key.in_(keys),
                OutboxMessage.status == "cancelled",
                OutboxMessage.last_error == CANCELLED_BY_USER,
            )
            .values(status="pending", last_error=None)
        )
    await _upsert_reminders(db, rows)


CANCELLED_BY_USER = "reminders turned off by the user"


async def cancel_user_pending(db: AsyncSession, chat_user_id: int) -> None:
    await db.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.chat_user_id == chat_user_id,
            OutboxMessage.status == "pending",
            OutboxMessage.kind.in_(("reminder", "nudge")),
        )
        .values(status="cancelled", last_error=CANCELLED_BY_USER)
    )


async def tick(services: Services) -> dict[str, int]:
    """The frequent job: catch up reminders, nudge, warn, and drop stale reminders."""
    made = await create_reminders(services)
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
