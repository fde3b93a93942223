"""The console's classes: the list in scope and one class's roster with its attendance."""

from __future__ import annotations

from aiohttp import web

from bot.attendance.service import class_attendance
from bot.console.page import ID, NotFound, Page, console_page, paging
from bot.staff import queries
from bot.staff.http import found
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


@routes.get(f"/console/classes/{ID}")
@console_page()
async def class_detail(request: web.Request, page: Page) -> web.StreamResponse:
    services = page.services
    async with services.db.session() as db:
        klass = found(
            await queries.class_in_scope(db, page.principal, int(request.match_info["id"])), NotFound("class")
        )
        institution = await db.get(Institution, klass.institution_id)
        roster = await class_attendance(db, klass.id, services.clock.now())
    return page.render("class_detail.html", klass=klass, institution=institution, roster=roster)
