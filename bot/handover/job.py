"""Scheduler wiring of hand-overs: the clock that gives unanswered held conversations back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.handover.config import load_config
from bot.handover.service import hand_back_overdue
from bot.services import Services

if TYPE_CHECKING:
    from bot.scheduler import Scheduler


async def handover_tick(services: Services) -> None:
    await hand_back_overdue(services)


def register(scheduler: Scheduler) -> None:
    scheduler.add("handover-hand-back", handover_tick, "interval", seconds=load_config().tick_seconds)
