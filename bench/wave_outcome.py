"""What one live reminder-wave run is (`Scenario`) and what the platforms saw (`Outcome`).

Kept apart from bench/wave_live.py, which runs it, so the bench's report and the
test read the figures without the machinery.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

CHANNELS = ("telegram", "wechat")
RATE_TOLERANCE = 0.03  # the achieved rate while backlogged may be this far below the configured one


@dataclass
class Scenario:
    size: int
    telegram_share: float
    rule: str  # "today" (30 min before, by due time, no plan) or "new" (deadline planning)
    speed: float  # k: virtual seconds per real second
    template_quota: int | None = None  # None: config/outbox.yaml's
    rate_scale: float = 1.0  # every platform rate and quota times this (see `_config`)
    seed: int = 20


@dataclass
class ChannelOutcome:
    reminders: int = 0
    arrived: int = 0
    before_start: int = 0
    after_start: int = 0
    latest: float | None = None  # seconds after class start of the latest arrival
    duplicates: int = 0
    states: Counter[str] = field(default_factory=Counter)  # "status/delivery" of the reminder rows
    max_per_second: int = 0
    limit: float = 0.0  # the platform's overall limit per `window` (the fakes refuse above it: 429, 45011)
    window: float = 1.0  # seconds (Telegram's is stretched to 1/f at rate scale f)
    rate: float = 0.0  # configured dispatcher rate
    # Virtual sends/s between the first and last arrival of each backlog (None: never backlogged),
    # from the rows' due times and the arrivals (bench/wave_losses.py); the progress lines use samples.
    achieved: float | None = None
    backlogged_seconds: float = 0.0
    refusals: dict[str, int] = field(default_factory=dict)
    # Capacity lost while backlogged (bench/wave_losses.py): in stalls of a second or more, and in lateness.
    stall_seconds: float = 0.0
    stalls: int = 0
    longest_stall: float = 0.0
    late_seconds: float = 0.0
    backlogs: int = 0  # stretches with rows for BACKLOG_SECONDS of sending waiting
    woke_seconds: float = 0.0  # from each backlog's start to its first arrival (ticks, claims)


@dataclass
class Outcome:
    scenario: Scenario
    channels: dict[str, ChannelOutcome]
    alerts: list[dict[str, Any]]  # the plan's alerts (ReminderPlan.alerts, with channel and day)
    log_alerts: list[str]
    quota_used: dict[str, int]  # "day counter" -> value (DeliveryCount)
    template_quota: int
    populate_seconds: float
    run_seconds: float
    virtual_lived: float  # virtual seconds lived at k x real time (the rest was jumped over)
    jobs: list[str]

    @property
    def reminders(self) -> int:
        return sum(c.reminders for c in self.channels.values())

    @property
    def before_start(self) -> int:
        return sum(c.before_start for c in self.channels.values())

    @property
    def after_start(self) -> int:
        return sum(c.after_start for c in self.channels.values())

    def cpu_bound(self, tolerance: float = RATE_TOLERANCE) -> list[str]:
        """Channels whose sends fell behind the configured rate while they had a backlog."""
        return [
            name
            for name, c in self.channels.items()
            if c.achieved is not None and c.achieved < c.rate * (1 - tolerance)
        ]
