"""Operating the bot: metrics, logs, health checks (`doctor`), the deployment's helpers.

`turn_done` is the engine's one call at the end of a turn: the metric and
the log line stay in step because they come from the same place.
"""

from __future__ import annotations

from typing import Any

from bot.ops import metrics
from bot.ops.logging import log_turn


def turn_done(channel: str, result: Any, seconds: float) -> None:
    """Count and log one finished turn (the result's intent and flow, never its text)."""
    metrics.turn(channel, result.intent, seconds)
    log_turn(
        channel,
        result.intent,
        (result.meta or {}).get("flow"),
        seconds,
        duplicate=result.duplicate,
        replies=len(result.replies),
    )
