"""A trainee's reminder preferences (关闭提醒 / 打开提醒 / 提醒改到七点) applied to today's outbox.

The conversation changes the setting on `ChatUser`; this module makes the
already-planned reminders follow it in the same transaction, so a person who
turns reminders off is not reminded an hour later by a row written at dawn.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.attendance.config import get_attendance_config
from bot.attendance.outbox_rows import outbox_row, reminder_key, upsert_reminders
from bot.attendance.reminder_writer import RECIPIENTS, ReminderWriter, reminder_due
from bot.services import Services
from models import ChatUser, ClassSession, OutboxMessage

CANCELLED_BY_USER = "reminders turned off by the user"


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
                RECIPIENTS.where(
                    ChatUser.id == user.id,
                    or_(
                        ClassSession.session_date == now.date(),
                        # Tomorrow's reminders once the evening run wrote them.
                        and_(
                            ClassSession.session_date == now.date() + timedelta(days=1),
                            ClassSession.reminders_created_at.is_not(None),
                        ),
                    ),
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
    tz = services.clock.tz
    for r in sessions:
        evening = r.reminder_evening_at
        due = reminder_due(r.starts_at, r.reminder_minutes_before, user.reminder_time, tz, evening)
        if due < now:
            # A new time that has already passed today: today keeps the class default
            # rather than a reminder right now, which the person did not ask for.
            due = reminder_due(r.starts_at, r.reminder_minutes_before, None, tz, evening)
        text, template = writer.reminder(r, now.date())
        rows.append(
            outbox_row(
                reminder_key(r.session_id, user.id),
                user.id,
                "reminder",
                text,
                max(due, now),
                now,
                [writer.button],
                template,
                expires_at=r.ends_at,
                deadline_at=r.starts_at,
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
    await upsert_reminders(db, rows)


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
