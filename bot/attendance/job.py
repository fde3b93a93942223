"""Scheduler wiring of attendance: the morning reminder run and the frequent tick.

The jobs only wake the work up; `bot.attendance.reminders` holds it. The tick
also runs once right at start, so reminders missed while the service was
down (killed during the morning run, say) still go out if their session has
not ended.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.attendance.config import get_attendance_config
from bot.attendance.import_uploads import sweep_expired
from bot.attendance.planning import plan_day
from bot.attendance.reminders import create_reminders, tick
from bot.services import Services

if TYPE_CHECKING:
    from bot.scheduler import Scheduler


async def morning_run(services: Services) -> None:
    """Today's reminders not written last evening, and the day's plan (capacity, quotas, alerts)."""
    today = services.clock.now().date()
    await create_reminders(services, today)
    await plan_day(services, today)


async def evening_run(services: Services) -> None:
    """Tomorrow's reminders and their plan: staff see tomorrow's alerts tonight, early waves may start."""
    tomorrow = services.clock.now().date() + timedelta(days=1)
    await create_reminders(services, tomorrow)
    await plan_day(services, tomorrow)


async def attendance_tick(services: Services) -> None:
    await tick(services)
    # Console uploads past their expiry lose their sealed file (rosters carry ID numbers).
    await sweep_expired(services)


def register(scheduler: Scheduler) -> None:
    cfg = get_attendance_config().reminders
    scheduler.add(
        "attendance-reminders", morning_run, "cron", hour=cfg.daily_run.hour, minute=cfg.daily_run.minute
    )
    scheduler.add(
        "attendance-evening-reminders",
        evening_run,
        "cron",
        hour=cfg.evening_run.hour,
        minute=cfg.evening_run.minute,
    )
    scheduler.add(
        "attendance-tick",
        attendance_tick,
        "interval",
        minutes=cfg.tick_minutes,
        next_run_time=datetime.now(scheduler.services.settings.tz),
    )
