"""Fan out scheduled broadcasts when due; close finished ones (see bot.broadcasts.sending)."""

from __future__ import annotations

from typing import Any

from bot.broadcasts.sending import run_due
from bot.staff.config import get_config


def register(scheduler: Any) -> None:
    scheduler.add("broadcasts", run_due, "interval", seconds=get_config().job.interval_seconds)
