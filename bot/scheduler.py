"""APScheduler wiring. Jobs only wake things up: the database rows are the truth.

Every job must be safe to run twice or on two processes at once (outbox
idempotency keys, row claims), so a misfire or a second instance is harmless.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.ops import metrics
from bot.services import Services

log = logging.getLogger(__name__)

Job = Callable[[Services], Awaitable[Any]]


class Scheduler:
    def __init__(self, services: Services, job_modules: tuple[str, ...]) -> None:
        self.services = services
        self._aps = AsyncIOScheduler(timezone=services.settings.tz)
        for name in job_modules:
            importlib.import_module(name).register(self)

    def add(self, job_id: str, func: Job, trigger: str, **trigger_args: Any) -> None:
        """Run `func(services)` on an APScheduler trigger ("cron" or "interval")."""

        async def run() -> None:
            started, failed = time.perf_counter(), False
            try:
                await func(self.services)
            except Exception:
                failed = True
                log.exception("scheduled job %s failed", job_id)
            metrics.job_run(job_id, time.perf_counter() - started, failed=failed)

        self._aps.add_job(
            run,
            trigger,
            id=job_id,
            name=job_id,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=3600,
            **trigger_args,
        )

    def start(self) -> None:
        self._aps.start()

    def shutdown(self) -> None:
        if self._aps.running:
            self._aps.shutdown(wait=False)

    @property
    def running(self) -> bool:
        return bool(self._aps.running)

    def job_ids(self) -> list[str]:
        return [job.id for job in self._aps.get_jobs()]
