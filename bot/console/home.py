"""The console's overview: what needs doing in the caller's scope, and the latest notices."""

from __future__ import annotations

from aiohttp import web

from bot.broadcasts import sending as svc
from bot.console.page import Page, console_page
from bot.staff import queries

routes = web.RouteTableDef()


@routes.get("/console/")
@console_page()
async def home(request: web.Request, page: Page) -> web.StreamResponse:
    services = page.services
    async with services.db.session() as db:
        counts = await queries.overview(db, page.principal, services.clock.today())
        recent = await svc.list_visible(db, page.principal, limit=5)
    return page.render("home.html", counts=counts, recent=recent)
