"""The demo data uses the real calendar: a demo loaded just before 国庆 has no lessons on the holiday."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from bot.attendance.service import class_attendance
from bot.clock import LOCAL_TZ, FrozenClock
from bot.demo import seed_demo
from bot.services import Services
from models import ClassSession, TrainingClass


async def test_demo_sessions_follow_the_calendar(services: Services, clock: FrozenClock) -> None:
    clock.set(datetime(2026, 9, 28, 9, 0, tzinfo=LOCAL_TZ))
    assert await seed_demo(services)
    async with services.db.session() as db:
        klass = (
            await db.execute(select(TrainingClass).where(TrainingClass.code == "CC-2026-DG-02"))
        ).scalar_one()
        days = [
            s.session_date
            for s in (
                await db.execute(select(ClassSession).where(ClassSession.class_id == klass.id))
            ).scalars()
        ]
        people = await class_attendance(db, klass.id, clock.now())
    assert date(2026, 10, 1) not in days and date(2026, 9, 25) not in days
    assert date(2026, 10, 10) in days  # 调休 Saturday
    assert klass.planned_hours == 3 * len(days)
    rates = {p.name: p for p in people}
    assert rates["张伟"].rate > 0 and rates["张伟"].can_miss_full is not None
    assert rates["陈静"].best_rate < rates["张伟"].best_rate
