"""Sheets staff download: import templates and a class's attendance, as .xlsx (default) or CSV.

The attendance sheet is one row per trainee with the rate so far, the rate
against the filed hours (the law's, 第十四条) and one column per session, from
the same arithmetic as the chat answer and the console chart
(`bot.attendance.matrix`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.api.spreadsheets import download, export_format
from bot.attendance.formatting import rate
from bot.attendance.import_files import template_headers
from bot.attendance.import_rows import SECTIONS
from bot.attendance.matrix import class_matrix
from bot.auth import forbidden
from bot.errors import ApiError
from bot.staff.http import Staff, found, staff_api
from bot.texts import Texts
from models import Trainee, TrainingClass

routes = web.RouteTableDef()


def template(texts: Texts, kind: str, fmt: str) -> web.Response:
    """An empty sheet with the Chinese headers the import reads, and one example row."""
    header = template_headers(kind)
    examples: dict[str, Any] = texts.raw("console.imports.examples")[kind]
    row = [examples.get(h, "") for h in header]
    name = texts.raw("console.imports.sections")[kind]
    return download(fmt, f"{name}-模板", name, header, [row])


@routes.get("/api/v1/admin/imports/{kind}/template")
@staff_api
async def import_template(request: web.Request, staff: Staff) -> web.StreamResponse:
    kind = request.match_info["kind"]
    if kind not in SECTIONS:
        raise ApiError(404, "not_found", f"可下载的模板：{', '.join(SECTIONS)}")
    return template(staff.services.texts, kind, export_format(request))


async def attendance_sheet(
    db: AsyncSession, texts: Texts, klass: TrainingClass, now: datetime, tz: Any
) -> tuple[list[str], list[list[Any]]]:
    matrix = await class_matrix(db, klass.id, now)
    ids = [r.attendance.trainee_id for r in matrix.trainees]
    masked = dict(
        (await db.execute(select(Trainee.id, Trainee.id_card_masked).where(Trainee.id.in_(ids)))).all()
    )
    words = texts.raw("console.classes.export")
    header = list(words["columns"])
    header += [s.slot.starts_at.astimezone(tz).strftime("%m-%d %H:%M") for s in matrix.sessions]
    marks = words["marks"]
    rows = []
    for r in matrix.trainees:
        a = r.attendance
        rows.append(
            [
                a.name,
                masked.get(a.trainee_id, ""),
                a.sessions_done,
                a.sessions_attended,
                rate(r.so_far) if r.so_far is not None else "",
                float(a.attended_hours),
                float(a.planned_hours),
                rate(a.rate),
                rate(a.best_rate),
                *[marks.get(r.marks.get(s.slot.id, ""), "") for s in matrix.sessions],
            ]
        )
    return header, rows


async def attendance_download(staff: Staff, klass_id: int, fmt: str) -> web.Response:
    services = staff.services
    async with services.db.session() as db:
        klass = found(await db.get(TrainingClass, klass_id), ApiError(404, "not_found", "没有这个班级"))
        if not staff.principal.covers(region_code=klass.region_code, institution_id=klass.institution_id):
            raise forbidden()
        header, rows = await attendance_sheet(
            db, services.texts, klass, services.clock.now(), services.clock.tz
        )
    title = services.texts.get("console.classes.export.title")
    return download(fmt, f"{klass.code}-{title}", title, header, rows)


@routes.get(r"/api/v1/admin/classes/{class_id:\d{1,9}}/attendance/export")
@staff_api
async def attendance_export(request: web.Request, staff: Staff) -> web.StreamResponse:
    return await attendance_download(staff, int(request.match_info["class_id"]), export_format(request))
