"""The console's import work in the background: the dry run after an upload, the import after a confirm.

Both run as tasks of the process that received the request and write their
outcome to the upload's row (`bot.attendance.import_uploads`), so whichever
process serves the next page shows it. While one runs, its row count is
written every few hundred milliseconds for the other processes (PostgreSQL;
on SQLite the task's transaction holds the write lock, so there only this
process sees the count move until it ends), and kept live in this app for
its own pages.

The import marks its row imported inside its own transaction: if the row was
swept as expired meanwhile, the import rolls back, so the row never says
"failed" over data that was written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.attendance import import_uploads as store
from bot.attendance.config import get_attendance_config
from bot.attendance.import_context import ImportResult
from bot.attendance.import_files import read_upload
from bot.attendance.import_reading import Source, parse
from bot.attendance.import_rows import SECTIONS, ImportRejected
from bot.attendance.imports import Importer
from bot.auth import Principal
from bot.console.config import get_config
from bot.services import Services

log = logging.getLogger(__name__)

LIVE_KEY = web.AppKey("console_import_live", dict)
TASKS_KEY = web.AppKey("console_import_tasks", set)
Finish = Callable[[AsyncSession, ImportResult], Awaitable[None]]


@dataclass
class Live:
    """How far a task of this process is; its pages read it, the pump writes it for the others."""

    total: int
    done: int = 0

    def tick(self) -> None:
        self.done = min(self.done + 1, self.total)


class _DryRun(Exception):
    def __init__(self, result: ImportResult) -> None:
        super().__init__("dry run")
        self.result = result


class _Lost(Exception):
    """The upload's row left `importing` while it ran (expired and swept): roll the import back."""


async def run_import(
    services: Services,
    principal: Principal,
    sources: list[Source],
    *,
    dry_run: bool,
    tick: Callable[[], None] | None = None,
    finish: Finish | None = None,
) -> ImportResult:
    """Validate and apply in one transaction; a dry run rolls back. ImportRejected names every bad row.

    `finish` runs inside the import's transaction, just before it commits.
    """
    parsed = parse(sources, get_attendance_config().imports.max_rows)
    try:
        async with services.db.session() as db:
            importer = Importer(db, services, principal, services.clock.now())
            importer.progress = tick
            result = await importer.run(parsed)
            if dry_run:
                raise _DryRun(result)
            if finish is not None:
                await finish(db, result)
    except _DryRun as done:
        done.result.dry_run = True
        return done.result
    return result


def report_of(result: ImportResult) -> dict[str, Any]:
    """What the page shows of a result: every count, the first rows, numbers masked."""
    out = result.to_dict()
    out["row_count"] = len(out["rows"])
    out["rows"] = out["rows"][: get_config().imports.report_rows]
    report: dict[str, Any] = store.masked(out)
    return report


def sections_of(kind: str) -> tuple[str, ...]:
    return SECTIONS if kind == "workbook" else (kind,)


def start(
    app: web.Application, token: str, live: Live, work: Coroutine[Any, Any, None]
) -> asyncio.Task[None]:
    """Run `work` as this app's task, with its live count and the pump that writes it."""
    services: Services = app["services"]
    lives: dict[str, Live] = app[LIVE_KEY]
    tasks: set[asyncio.Task[None]] = app[TASKS_KEY]
    lives[token] = live

    async def run() -> None:
        pump = asyncio.create_task(_pump(services, token, live))
        try:
            await work
        except Exception:  # the row could not be marked (the database went away): the sweep ends it
            log.exception("console import task ended without marking its upload")
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
            lives.pop(token, None)

    task = asyncio.create_task(run())
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return task


async def _pump(services: Services, token: str, live: Live) -> None:
    """Every few hundred milliseconds, the live count to the row (PostgreSQL).

    On SQLite the running check or import holds the database's one write lock
    from its first row to its end, so a write here could only wait for it: the
    count reaches the row when the task ends, and meanwhile only this process
    (its live count) shows it moving.
    """
    if services.db.is_sqlite:
        return
    every = get_config().imports.progress_write_ms / 1000
    written = 0
    while True:
        await asyncio.sleep(every)
        if live.done != written:
            try:
                await store.save_progress(services.db, token, live.done, services.clock.now())
            except SQLAlchemyError:  # a missed count is no reason to stop the import
                log.warning("console import progress not written", exc_info=True)
                continue
            written = live.done


async def _end(services: Services, token: str, when: str, **values: Any) -> None:
    async with services.db.session() as db:
        await store.change(db, token, when=(when,), now=services.clock.now(), **values)


async def _fail(
    services: Services,
    token: str,
    when: str,
    *,
    problems: list[dict[str, Any]] | None = None,
    message: str | None = None,
) -> None:
    """failed, the file dropped: with the rows that stopped it, or a `console.imports.<message>` text."""
    text = services.texts.get(f"console.imports.{message}") if message else None
    shown = store.masked(problems)
    await _end(services, token, when, state="failed", blob=None, problems=shown, message=text)


async def check(
    services: Services, principal: Principal, token: str, sources: list[Source], live: Live
) -> None:
    """The dry run of a fresh upload: checked with its report, or failed with its problems."""
    try:
        result = await run_import(services, principal, sources, dry_run=True, tick=live.tick)
    except ImportRejected as exc:
        await _fail(services, token, "checking", problems=exc.report)
    except asyncio.CancelledError:
        await _interrupted(services, token, "checking")
        raise
    except Exception:
        log.exception("console import check failed")
        await _fail(services, token, "checking", message="failed")
    else:
        await _end(services, token, "checking", state="checked", done=live.total, report=report_of(result))


async def apply(services: Services, principal: Principal, token: str, live: Live) -> None:
    """The import of a confirmed upload, from its sealed file; the row is marked in the same transaction."""
    try:
        async with services.db.session() as db:
            row = await store.find(db, token)
            blob = row.blob if row is not None and row.state == "importing" else None
        if blob is None:
            return  # swept between the confirm and now: the row already says so
        sealed = store.unseal(services.settings, token, blob)
        sources = read_upload(sections_of(row.kind), sealed.raw, sealed.filename, sealed.content_type)

        async def finish(db: AsyncSession, result: ImportResult) -> None:
            marked = await store.change(
                db,
                token,
                when=("importing",),
                now=services.clock.now(),
                state="imported",
                blob=None,
                done=live.total,
                report=report_of(result),
            )
            if not marked:
                raise _Lost()

        await run_import(services, principal, sources, dry_run=False, tick=live.tick, finish=finish)
    except _Lost:
        log.warning("console import rolled back: its upload expired while it ran")
    except ImportRejected as exc:  # the data changed since the check
        await _fail(services, token, "importing", problems=exc.report)
    except IntegrityError:
        await _fail(services, token, "importing", message="conflict")
    except asyncio.CancelledError:
        await _interrupted(services, token, "importing")
        raise
    except Exception:
        log.exception("console import failed")
        await _fail(services, token, "importing", message="failed")


async def _interrupted(services: Services, token: str, when: str) -> None:
    """The process is stopping: the transaction was rolled back, say so on the row (best effort)."""
    with contextlib.suppress(Exception):
        await _fail(services, token, when, message="interrupted")


async def stop_all(app: web.Application) -> None:
    """On shutdown, before the pool closes: cancel the running tasks and wait (bounded) for them."""
    tasks = {t for t in app[TASKS_KEY] if not t.done()}
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=5)
