"""The console's imports: upload a workbook or CSV, see the dry run row by row, then import all or nothing.

The flow is check → confirm → progress. The checked upload is kept in this
process's memory under a random token bound to the signed-in staff member
(never on disk: rosters carry ID numbers) until it is imported or expires,
so "确认导入" imports exactly the file that was checked. The import itself
runs in the background in one transaction (`bot.attendance.imports`) and
the result page refreshes itself while it runs, counting rows; a single
bad row still rejects everything, exactly as through the API.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from sqlalchemy.exc import IntegrityError

from bot.api.admin_exports import template
from bot.attendance.config import get_attendance_config
from bot.attendance.import_context import ImportResult
from bot.attendance.import_files import UnreadableFile, read_upload
from bot.attendance.import_reading import Source, parse
from bot.attendance.import_rows import SECTIONS, ImportRejected
from bot.attendance.imports import Importer
from bot.auth import Principal
from bot.console.page import MULTIPART_KEY, Page, console_page, redirect
from bot.services import Services

routes = web.RouteTableDef()
KINDS = (*SECTIONS, "workbook")
KEEP_SECONDS = 30 * 60
JOBS_KEY = web.AppKey("console_import_jobs", dict)
_TASKS: set[asyncio.Task[None]] = set()


@dataclass
class ImportJob:
    owner: str
    kind: str
    filename: str
    sources: list[Source]
    created: float = field(default_factory=time.monotonic)
    state: str = "checked"  # checked → running → done | rejected | failed
    total: int = 0
    done: int = 0
    result: dict[str, Any] | None = None
    report: list[dict[str, Any]] = field(default_factory=list)
    message: str = ""


class _DryRun(Exception):
    def __init__(self, result: ImportResult) -> None:
        super().__init__("dry run")
        self.result = result


def _jobs(request: web.Request) -> dict[str, ImportJob]:
    jobs: dict[str, ImportJob] = request.app[JOBS_KEY]
    now = time.monotonic()
    for token in [t for t, j in jobs.items() if now - j.created > KEEP_SECONDS and j.state != "running"]:
        del jobs[token]
    return jobs


async def run_import(
    services: Services,
    principal: Principal,
    sources: list[Source],
    *,
    dry_run: bool,
    job: ImportJob | None = None,
) -> ImportResult:
    """Validate and apply in one transaction; a dry run rolls back. ImportRejected names every bad row."""
    parsed = parse(sources, get_attendance_config().imports.max_rows)
    if job is not None:
        job.total = sum(len(rows) for rows in parsed.values())
    try:
        async with services.db.session() as db:
            importer = Importer(db, services, principal, services.clock.now())
            if job is not None:

                def tick() -> None:
                    job.done = min(job.done + 1, job.total)

                importer.progress = tick
            result = await importer.run(parsed)
            if dry_run:
                raise _DryRun(result)
    except _DryRun as done:
        done.result.dry_run = True
        return done.result
    return result


def _render_form(page: Page, status: int = 200, **extra: Any) -> web.Response:
    return page.render(
        "imports.html",
        status=status,
        kinds=KINDS,
        kind=extra.pop("kind", "roster"),
        job=None,
        token="",
        **extra,
    )


@routes.get("/console/imports")
@console_page()
async def imports_page(request: web.Request, page: Page) -> web.StreamResponse:
    kind = request.query.get("kind", "roster")
    return _render_form(page, kind=kind if kind in KINDS else "roster")


@routes.get("/console/imports/template/{kind}.{fmt:(xlsx|csv)}")
@console_page()
async def template_download(request: web.Request, page: Page) -> web.StreamResponse:
    kind = request.match_info["kind"]
    if kind not in SECTIONS:
        return _render_form(page, 404, error=page.services.texts.get("console.errors_page.page_not_found"))
    return template(page.services.texts, kind, request.match_info["fmt"])


@routes.post("/console/imports/check")
@console_page()
async def check(request: web.Request, page: Page) -> web.StreamResponse:
    """Read the upload and dry-run it: the per-row report, nothing written."""
    texts = page.services.texts
    try:
        fields, upload = await _read_form(request)
    except UploadTooLarge as exc:
        return _render_form(page, 413, error=texts.get("console.imports.too_large", n=exc.limit // 1_000_000))
    kind = fields.get("kind", "")
    kind = kind if kind in KINDS else "roster"
    if upload is None or not upload[1]:
        return _render_form(page, 400, kind=kind, error=texts.get("console.imports.no_file"))
    filename, raw, content_type = upload
    sections = SECTIONS if kind == "workbook" else (kind,)
    job = ImportJob(page.principal.actor, kind, filename, [])
    try:
        job.sources = read_upload(sections, raw, filename, content_type)
        result = await run_import(page.services, page.principal, job.sources, dry_run=True)
    except UnreadableFile as exc:
        return _render_form(
            page, 400, kind=kind, error=texts.get("console.imports.unreadable", message=exc.message)
        )
    except ImportRejected as exc:
        job.state, job.report = "rejected", exc.report
        return page.render("imports.html", status=422, kinds=KINDS, kind=kind, job=job, token="")
    job.result = result.to_dict()
    token = secrets.token_urlsafe(16)
    _jobs(request)[token] = job
    return page.render("imports.html", kinds=KINDS, kind=kind, job=job, token=token)


class UploadTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__("upload too large")
        self.limit = limit


async def _read_form(request: web.Request) -> tuple[dict[str, str], tuple[str, bytes, str | None] | None]:
    """The upload's text fields and its file (name, bytes, type), read in chunks up to the import limit."""
    reader = request.get(MULTIPART_KEY)
    if reader is None:
        return {}, None
    limit = get_attendance_config().imports.max_body_bytes
    fields: dict[str, str] = {}
    upload = None
    while True:
        try:
            part = await reader.next()
            if part is None:
                break
            if not hasattr(part, "read_chunk"):  # a nested multipart: not a form field
                continue
            chunks, size = [], 0
            while chunk := await part.read_chunk(65536):
                size += len(chunk)
                if size > limit:
                    raise UploadTooLarge(limit)
                chunks.append(chunk)
        except (
            ValueError,
            AssertionError,
            LookupError,
            HttpProcessingError,
        ):  # a broken body: what arrived is all there is
            break
        data = b"".join(chunks)
        if part.filename:
            upload = (part.filename, data, part.headers.get("Content-Type"))
        elif part.name:
            fields[part.name] = data[:200].decode("utf-8", "replace")
    return fields, upload


def _own_job(request: web.Request, page: Page) -> tuple[str, ImportJob | None]:
    token = request.match_info.get("token") or ""
    job = _jobs(request).get(token)
    return token, job if job is not None and job.owner == page.principal.actor else None


async def _apply(services: Services, principal: Principal, job: ImportJob) -> None:
    try:
        result = await run_import(services, principal, job.sources, dry_run=False, job=job)
    except ImportRejected as exc:  # the data changed since the check
        job.state, job.report = "rejected", exc.report
    except IntegrityError:
        job.state, job.message = "failed", services.texts.get("console.imports.conflict")
    else:
        job.state, job.result = "done", result.to_dict()
    finally:
        job.sources = []  # the file (ID numbers) is not kept once imported


@routes.post(r"/console/imports/{token:[\w-]{10,40}}/run")
@console_page()
async def confirm(request: web.Request, page: Page) -> web.StreamResponse:
    token, job = _own_job(request, page)
    if job is None or job.state != "checked":
        return _render_form(page, 409, error=page.services.texts.get("console.imports.expired"))
    job.state = "running"
    task = asyncio.create_task(_apply(page.services, page.principal, job))
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)
    return redirect(f"/console/imports/{token}")


@routes.get(r"/console/imports/{token:[\w-]{10,40}}")
@console_page()
async def progress(request: web.Request, page: Page) -> web.StreamResponse:
    token, job = _own_job(request, page)
    if job is None:
        return _render_form(page, 404, error=page.services.texts.get("console.imports.expired"))
    return page.render("imports.html", kinds=KINDS, kind=job.kind, job=job, token=token)
