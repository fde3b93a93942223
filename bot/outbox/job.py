"""The scheduled outbox dispatch: every few seconds, send what is due.

APScheduler only wakes the dispatcher (`max_instances=1`, so a long drain just
absorbs the next ticks; a drain runs back to back until nothing is due, so a
backlog never waits for a tick between runs); the rows and leases in the
database decide who sends what, so a second process or a misfire is harmless.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.outbox import get_dispatcher
from bot.outbox.config import delivery_config

if TYPE_CHECKING:
    from bot.scheduler import Scheduler
    from bot.services import Services


async def dispatch_due(services: Services) -> None:
    await get_dispatcher(services).drain()


def register(scheduler: Scheduler) -> None:
    seconds = delivery_config(scheduler.services).dispatcher.interval_seconds
    scheduler.add("outbox-dispatch", dispatch_due, "interval", seconds=seconds)
