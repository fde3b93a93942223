"""The console's imports: upload a workbook or CSV, see the dry run row by row, then import all or nothing.

The flow is check → confirm → progress, and any serve process may take any
step: the upload is a row in the database (`bot.attendance.import_uploads`,
its file sealed with AES-GCM until it is imported or expires) under a random
token bound to the staff member and scope that checked it, so "确认导入"
imports exactly the file that was checked, once. The dry run and the import
run in the background (`import_tasks`); the page reloads itself while they
run, counting rows, and a small file's report is there at once. A single bad
row still rejects everything, exactly as through the API.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from bot.api.admin_exports import template
from bot.attendance import import_uploads as store
from bot.attendance.config import get_attendance_config
from bot.attendance.import_files import UnreadableFile, read_upload
from bot.attendance.import_rows import SECTIONS
from bot.console import import_tasks as tasks
from bot.console.config import get_config
from bot.console.page import MULTIPART_KEY, Page, console_page, redirect
from models import ImportUpload

routes = web.RouteTableDef()
KINDS = (*SECTIONS, "workbook")
TOKEN = r"{token:[\w-]{10,40}}"


def _keep() -> timedelta:
    return timedelta(minutes=get_config().imports.keep_minutes)


def _render_form(page: Page, status: int = 200, **extra: Any) -> web.Response:
    return page.render(
        "imports.html",
        status=status,
        kinds=KINDS,
        kind=extra.pop("kind", "roster"),
        job=None,
        done=0,
        token="",
        refresh=0,
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
    """Read the upload, keep it sealed, dry-run it in the background; the page then shows the report."""
    texts, services = page.services.texts, page.services
    try:
        fields, upload = await _read_form(request)
    except UploadTooLarge as exc:
        return _render_form(page, 413, error=texts.get("console.imports.too_large", n=exc.limit // 1_000_000))
    kind = fields.get("kind", "")
    kind = kind if kind in KINDS else "roster"
    if upload is None or not upload[1]:
        return _render_form(page, 400, kind=kind, error=texts.get("console.imports.no_file"))
    filename, raw, content_type = upload
    try:
        sources = read_upload(tasks.sections_of(kind), raw, filename, content_type)
    except UnreadableFile as exc:
        return _render_form(
            page, 400, kind=kind, error=texts.get("console.imports.unreadable", message=exc.message)
        )
    live = tasks.Live(total=sum(len(src.rows) for src in sources))
    now = services.clock.now()
    async with services.db.session() as db:
        await store.sweep(db, now, texts.get("console.imports.expired"))
        row = await store.create(
            db,
            services.settings,
            page.principal,
            kind=kind,
            upload=store.SealedFile(filename, content_type, raw),
            total=live.total,
            now=now,
            keep=_keep(),
        )
        token = row.token
    task = tasks.start(request.app, token, live, tasks.check(services, page.principal, token, sources, live))
    # A small file is checked before this wait ends and its report shows at once.
    await asyncio.wait({task}, timeout=get_config().imports.check_wait_ms / 1000)
    return redirect(f"/console/imports/{token}")


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


async def _own_upload(request: web.Request, page: Page) -> tuple[str, ImportUpload | None]:
    """The upload behind the URL's token if it is the caller's (anyone else's looks expired)."""
    token = request.match_info["token"]
    async with page.services.db.session() as db:
        row = await store.find(db, token)
    return token, row if row is not None and store.owns(row, page.principal) else None


@routes.post(rf"/console/imports/{TOKEN}/run")
@console_page()
async def confirm(request: web.Request, page: Page) -> web.StreamResponse:
    """Import the checked file, once; any process may take this step."""
    services = page.services
    token, row = await _own_upload(request, page)
    claimed = False
    if row is not None:
        async with services.db.session() as db:
            claimed = await store.claim(db, token, page.principal, now=services.clock.now(), keep=_keep())
    if row is None or not claimed:
        return _render_form(page, 409, error=services.texts.get("console.imports.expired"))
    live = tasks.Live(total=row.total)
    tasks.start(request.app, token, live, tasks.apply(services, page.principal, token, live))
    return redirect(f"/console/imports/{token}")


@routes.get(rf"/console/imports/{TOKEN}")
@console_page()
async def progress(request: web.Request, page: Page) -> web.StreamResponse:
    """Where an upload is: checking, its report, importing, imported or why not; reloads while it runs."""
    token, row = await _own_upload(request, page)
    now = page.services.clock.now()
    if row is None or (row.state in ("checking", "checked") and row.expires_at <= now):
        return _render_form(page, 404, error=page.services.texts.get("console.imports.expired"))
    live = request.app[tasks.LIVE_KEY].get(token)
    done = live.done if live is not None else row.done
    status = 422 if row.state == "failed" and row.problems else 200
    return page.render(
        "imports.html",
        status=status,
        kinds=KINDS,
        kind=row.kind,
        job=row,
        done=done,
        token=token,
        refresh=get_config().imports.refresh_seconds,
    )
