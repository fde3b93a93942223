"""The console's dead letters: messages the outbox gave up on, and requeueing them."""

from __future__ import annotations

from aiohttp import web

from bot.console.page import Page, console_page, paging, redirect
from bot.console.reasons import reason_key
from bot.errors import ApiError
from bot.staff import queries

routes = web.RouteTableDef()


@routes.get("/console/outbox/dead")
@console_page()
async def dead_letters(request: web.Request, page: Page) -> web.StreamResponse:
    limit, offset = paging(request)
    total, rows = await page.scoped(queries.dead_letters, limit=limit, offset=offset)
    return page.render(
        "dead.html",
        rows=rows,
        total=total,
        offset=offset,
        limit=limit,
        requeued=request.query.get("requeued"),
        reason=reason_key,
        notice=request.query.get("notice"),
    )


@routes.post("/console/outbox/requeue")
@console_page()
async def requeue(request: web.Request, page: Page) -> web.StreamResponse:
    form = await request.post()
    raw = [str(v) for v in form.getall("ids", [])]
    ids = [int(v) for v in raw if v.isdigit() and len(v) < 10]
    services = page.services
    if not raw:
        # Nothing ticked: say so on the same page instead of an error page.
        return redirect("/console/outbox/dead?notice=nothing_ticked")
    if len(ids) != len(raw):
        raise ApiError(400, "invalid_ids", services.texts.get("console.errors.invalid_ids"))
    done = await page.scoped(queries.requeue_dead, ids, services.clock.now(), services.texts)
    return redirect(f"/console/outbox/dead?requeued={len(done)}")
