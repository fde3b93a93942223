"""Scheduler wiring of hand-overs: the clock that gives unanswered held conversations back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.handover.config import handover_config
from bot.handover.service import hand_back_overdue
from bot.services import Services

if TYPE_CHECKING:
    from bot.scheduler import Scheduler


async def handover_tick(services: Services) -> None:
    await hand_back_overdue(services)


def register(scheduler: Scheduler) -> None:
    seconds = handover_config(scheduler.services).tick_seconds
    scheduler.add("handover-hand-back", handover_tick, "interval", seconds=seconds)
