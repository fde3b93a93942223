"""The console's classes: the list in scope, one class's attendance as pictures and a table, its export."""

from __future__ import annotations

from decimal import Decimal

from aiohttp import web
from markupsafe import Markup

from bot.api.admin_exports import attendance_download
from bot.attendance.formatting import rate
from bot.attendance.matrix import Matrix, class_matrix
from bot.console.charts import Bar, bar_chart, dot_chart
from bot.console.page import ID, NotFound, Page, console_page, paging
from bot.policy.attendance import attendance_thresholds
from bot.policy.params import percent
from bot.staff import queries
from bot.staff.http import found
from bot.texts import Texts
from models import Institution

routes = web.RouteTableDef()


@routes.get("/console/classes")
@console_page()
async def classes(request: web.Request, page: Page) -> web.StreamResponse:
    limit, offset = paging(request)
    rows = await page.scoped(queries.classes_in_scope, limit=limit + 1, offset=offset)
    return page.render(
        "classes.html", rows=rows[:limit], offset=offset, limit=limit, has_more=len(rows) > limit
    )


def threshold_lines(texts: Texts) -> list[tuple[Decimal, str]]:
    th = attendance_thresholds()
    return [
        (th.exam_min, texts.get("console.classes.line_exam", rate=percent(th.exam_min))),
        (th.full, texts.get("console.classes.line_full", rate=percent(th.full))),
    ]


def charts(texts: Texts, matrix: Matrix, tz: object) -> tuple[Markup, Markup]:
    """The per-session bars and the per-trainee dots (rate so far), both with the 70 % / 90 % lines."""
    lines = threshold_lines(texts)
    counted = len(matrix.trainees)
    bars = []
    for s in matrix.sessions:
        local = s.slot.starts_at.astimezone(tz)  # type: ignore[arg-type]
        when = local.strftime("%m-%d %H:%M")
        if s.held and counted:
            tip = texts.get("console.classes.session_tip", when=when, present=s.present, total=counted)
            bars.append(Bar(local.strftime("%m-%d"), s.present / counted, tip))
        else:
            bars.append(
                Bar(local.strftime("%m-%d"), None, texts.get("console.classes.future_tip", when=when))
            )
    sessions_svg = bar_chart(
        bars, title=texts.get("console.classes.chart_sessions"), lines=lines, chart_id="chart-sessions"
    )
    points = []
    for r in matrix.trainees:
        shown = rate(r.so_far) if r.so_far is not None else texts.get("console.classes.not_yet")
        tip = texts.get("console.classes.trainee_tip", name=r.attendance.name, rate=shown)
        points.append((r.attendance.name, None if r.so_far is None else float(r.so_far), tip))
    trainees_svg = dot_chart(
        points, title=texts.get("console.classes.chart_trainees"), lines=lines, chart_id="chart-trainees"
    )
    return sessions_svg, trainees_svg


@routes.get(f"/console/classes/{ID}")
@console_page()
async def class_detail(request: web.Request, page: Page) -> web.StreamResponse:
    services = page.services
    async with services.db.session() as db:
        klass = found(
            await queries.class_in_scope(db, page.principal, int(request.match_info["id"])), NotFound("class")
        )
        institution = await db.get(Institution, klass.institution_id)
        matrix = await class_matrix(db, klass.id, services.clock.now())
    sessions_svg, trainees_svg = charts(services.texts, matrix, services.clock.tz)
    return page.render(
        "class_detail.html",
        klass=klass,
        institution=institution,
        matrix=matrix,
        roster=matrix.trainees,
        sessions_svg=sessions_svg,
        trainees_svg=trainees_svg,
        pct=rate,
    )


@routes.get(f"/console/classes/{ID}/attendance.{{fmt:(xlsx|csv)}}")
@console_page()
async def class_export(request: web.Request, page: Page) -> web.StreamResponse:
    klass_id = int(request.match_info["id"])
    async with page.services.db.session() as db:
        found(await queries.class_in_scope(db, page.principal, klass_id), NotFound("class"))
    return await attendance_download(page, klass_id, request.match_info["fmt"])
