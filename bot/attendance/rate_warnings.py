"""Attendance warnings (第十四条 thresholds): who can no longer reach 90 % or the exam minimum.

Split from the reminders because warnings follow recorded attendance, not
the timetable: they are evaluated when sessions end and whenever an
institution's import changes someone's records (`warn_class`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import and_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.attendance import formatting as fmt
from bot.attendance.config import get_attendance_config
from bot.attendance.outbox_rows import RunStats, claim_sessions, insert_new, outbox_row, warning_key
from bot.attendance.service import TraineeAttendance, class_attendance
from bot.policy.attendance import attendance_thresholds
from bot.policy.params import percent
from bot.services import Services
from bot.texts import Texts
from models import ChatUser, ClassSession, Enrollment, TrainingClass

WARNING_TEMPLATE = "attendance_warning"


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
                outbox_row(
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
    return await insert_new(db, rows)


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
        ended = list((await db.execute(claim_sessions(query, db))).all())
        if not ended:
            return stats
        for class_id in sorted({c for _, c in ended}):
            stats.rows += await warn_class(db, services, class_id, now)
        await db.execute(
            update(ClassSession).where(ClassSession.id.in_([s for s, _ in ended])).values(settled_at=now)
        )
        stats.sessions = len(ended)
    return stats
