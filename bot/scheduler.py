"""APScheduler wiring. Jobs only wake things up: the database rows are the truth.

Every job must be safe to run twice or on two processes at once (outbox
idempotency keys, row claims), so a misfire or a second instance is harmless.
"""

from __future__ import annotations

import asyncio
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
        # APScheduler starts each run as a task it does not keep; we keep them,
        # so that stopping cancels and awaits them while the database is still
        # open (a run cancelled after the pool was disposed could wait forever
        # for a connection that no longer answers, and hang the exit).
        self._running: set[asyncio.Task[Any]] = set()
        for name in job_modules:
            importlib.import_module(name).register(self)

    def add(self, job_id: str, func: Job, trigger: str, **trigger_args: Any) -> None:
        """Run `func(services)` on an APScheduler trigger ("cron" or "interval")."""

        async def run() -> None:
            task = asyncio.current_task()
            if task is not None:
                self._running.add(task)
            started, failed = time.perf_counter(), False
            try:
                await func(self.services)
            except Exception:
                failed = True
                log.exception("scheduled job %s failed", job_id)
            finally:
                if task is not None:
                    self._running.discard(task)
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
        """Stop firing new runs (runs in progress go on; see `aclose`)."""
        if self._aps.running:
            self._aps.shutdown(wait=False)

    async def aclose(self, grace_seconds: float = 5.0) -> None:
        """Stop firing, cancel the runs in progress and wait (bounded) until they end.

        Every job is safe to stop at any await: the rows are the truth and the
        next start picks up what was left, so cancelling loses nothing.
        """
        self.shutdown()
        tasks = {task for task in self._running if not task.done()}
        for task in tasks:
            task.cancel()
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=grace_seconds)
        for task in pending:
            log.error("scheduled job did not stop within %.0f s: %r", grace_seconds, task)

    @property
    def in_progress(self) -> int:
        return sum(1 for task in self._running if not task.done())

    @property
    def running(self) -> bool:
        return bool(self._aps.running)

    def job_ids(self) -> list[str]:
        return [job.id for job in self._aps.get_jobs()]
