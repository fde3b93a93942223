"""The console's claims board: claims in scope by state, overdue steps counted."""

from __future__ import annotations

from aiohttp import web

from bot.console.page import Page, console_page, paging
from bot.staff import queries
from models.claims import CLAIM_STATES

routes = web.RouteTableDef()


@routes.get("/console/claims")
@console_page()
async def claims(request: web.Request, page: Page) -> web.StreamResponse:
    limit, offset = paging(request)
    state = request.query.get("state") or None
    if state not in (None, *CLAIM_STATES):
        state = None
    today = page.services.clock.today()
    total, overdue, rows = await page.scoped(
        queries.claims_board, today, state=state, limit=limit, offset=offset
    )
    return page.render(
        "claims.html",
        rows=rows,
        total=total,
        overdue=overdue,
        state=state,
        states=[s for s in CLAIM_STATES if s not in queries.FINAL_CLAIM_STATES],
        offset=offset,
        limit=limit,
    )
