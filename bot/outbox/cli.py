"""`python -m bot outbox run|dead|requeue`: the dispatcher on its own, and the dead letters by hand.

`outbox run` is the dispatcher without the web server (a separate worker, or
the benchmark). SIGTERM/SIGINT stop it cleanly: sends on the wire finish,
claimed rows go back to `pending`, the channel leases are released. A harder
kill loses nothing either: claimed rows come back when their lease expires.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
from datetime import date
from typing import Any

from sqlalchemy import select

from bot.clock import Clock
from bot.services import Services
from bot.settings import Settings
from bot.texts import get_texts
from models import OutboxMessage
from models.db import Database

log = logging.getLogger(__name__)


class NoConversation:
    """The dispatcher process runs no conversation turns, so it loads no language model."""

    def _refuse(self, *_: Any) -> Any:
        raise RuntimeError("`outbox run` only sends; conversation turns run in `serve`")

    def parse(self, text: str, today: date | None = None) -> Any:
        return self._refuse()

    def answer_question(self, text: str) -> Any:
        return self._refuse()

    def extract_entities(self, text: str, today: date | None = None) -> Any:
        return self._refuse()


def add_commands(sub: Any) -> None:
    p = sub.add_parser("outbox", help="the outbox: run the dispatcher, list or requeue dead letters")
    actions = p.add_subparsers(dest="outbox_command", required=True)
    run = actions.add_parser("run", help="dispatch due messages until stopped")
    run.add_argument("--until-idle", action="store_true", help="exit once nothing is due")
    run.set_defaults(func=cmd_run)
    dead = actions.add_parser("dead", help="list dead letters")
    dead.add_argument("--limit", type=int, default=50)
    dead.set_defaults(func=cmd_dead)
    again = actions.add_parser("requeue", help="send dead, failed or skipped messages again")
    again.add_argument("ids", type=int, nargs="+")
    again.set_defaults(func=cmd_requeue)


def _services(settings: Settings, db: Database) -> Services:
    return Services(settings, db, get_texts(), Clock(settings.tz), NoConversation())


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(run_dispatcher(settings, until_idle=args.until_idle))


async def run_dispatcher(settings: Settings, *, until_idle: bool = False) -> int:
    from bot.outbox import get_dispatcher

    db = Database(settings.db_url)
    await db.migrate()
    services = _services(settings, db)
    dispatcher = get_dispatcher(services)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    interval = dispatcher.config.dispatcher.interval_seconds
    log.info("outbox dispatcher %s started", dispatcher.holder)
    work: asyncio.Future[Any] | None = None
    try:
        while not stop.is_set():
            work = asyncio.ensure_future(dispatcher.run(until_idle=until_idle))
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({work, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if stop.is_set():
                break
            stats = work.result()
            _log_run(stats)
            work = None  # logged
            if not until_idle and (stats.sent or stats.retried):
                continue  # a busy channel: straight into the next run, no gap in the pace
            if (
                until_idle
                and not (stats.sent or stats.retried or stats.rate_limited)
                and not await _due(services)
            ):
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await dispatcher.stop()
        if work is not None and work.done() and not work.cancelled() and work.exception() is None:
            _log_run(work.result())
        await db.dispose()
    log.info("outbox dispatcher %s stopped", dispatcher.holder)
    return 0


def _log_run(stats: Any) -> None:
    """One line per run for operators and the soak bench: what went out and how long claims took."""
    if not (stats.sent or stats.claim_seconds):
        return
    summary = {name: getattr(stats, name) for name in stats.__dataclass_fields__ if name != "claim_seconds"}
    summary["claim_ms"] = [round(seconds * 1000, 1) for seconds in stats.claim_seconds]
    log.info("outbox run stats %s", json.dumps(summary))


async def _due(services: Services) -> bool:
    async with services.db.session() as db:
        row = await db.execute(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.status.in_(("pending", "sending")), OutboxMessage.due_at <= services.clock.now()
            )
            .limit(1)
        )
        return row.first() is not None


def cmd_dead(settings: Settings, args: argparse.Namespace) -> int:
    async def run() -> None:
        db = Database(settings.db_url)
        try:
            await db.migrate()
            async with db.session() as s:
                rows = (
                    await s.execute(
                        select(OutboxMessage)
                        .where(OutboxMessage.status == "dead")
                        .order_by(OutboxMessage.id.desc())
                        .limit(args.limit)
                    )
                ).scalars()
                for row in rows:
                    print(f"{row.id}\t{row.kind}\tattempts={row.attempts}\t{row.last_error or ''}")
        finally:
            await db.dispose()

    asyncio.run(run())
    return 0


def cmd_requeue(settings: Settings, args: argparse.Namespace) -> int:
    from bot.audit import audit
    from bot.outbox import requeue

    async def run() -> list[int]:
        db = Database(settings.db_url)
        try:
            await db.migrate()
            async with db.session() as s:
                done = await requeue(s, args.ids, now=Clock(settings.tz).now())
                if done:
                    await audit(s, "cli", "outbox.requeue", "outbox", None, ids=done)
                return done
        finally:
            await db.dispose()

    done = asyncio.run(run())
    print(f"requeued: {done or 'none'}")
    return 0
