"""The console's hand-overs to a person (转人工): who waits, the conversation, resolving it."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console.page import ID, NotFound, Page, console_page, paging, redirect
from bot.staff import queries
from bot.staff.http import found
from models import ChatUser

routes = web.RouteTableDef()


async def _chat_user(db: AsyncSession, request: web.Request, page: Page) -> ChatUser:
    """The chat user of the page's address; a 404 page when unknown, 403 outside the scope."""
    chat_user_id = int(request.match_info["id"])
    return found(await queries.chat_user_in_scope(db, page.principal, chat_user_id), NotFound("chat user"))


@routes.get("/console/handoffs")
@console_page()
async def handoffs(request: web.Request, page: Page) -> web.StreamResponse:
    limit, offset = paging(request)
    total, rows = await page.scoped(queries.handoffs, limit=limit, offset=offset)
    return page.render(
        "handoffs.html",
        rows=rows,
        total=total,
        offset=offset,
        limit=limit,
        resolved=request.query.get("resolved"),
    )


@routes.get(f"/console/handoffs/{ID}")
@console_page()
async def handoff_detail(request: web.Request, page: Page) -> web.StreamResponse:
    async with page.services.db.session() as db:
        user = await _chat_user(db, request, page)
        messages = await queries.transcript(db, user.id)
    return page.render("handoff_detail.html", user=user, messages=messages)


@routes.post(f"/console/handoffs/{ID}/resolve")
@console_page()
async def resolve_handoff(request: web.Request, page: Page) -> web.StreamResponse:
    async with page.services.db.session() as db:
        user = await _chat_user(db, request, page)
        await queries.resolve_handoff(db, page.principal, user)
    return redirect("/console/handoffs?resolved=1")
