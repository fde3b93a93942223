"""The console's view of the chats bound to a trainee, with unbinding (issue 12).

The same rules as the staff API (`bot.api.admin_trainee_chats`): a trainee
outside the caller's scope is the same "not found" page as none, and every
unbinding is audited with the staff member as actor.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.api.admin_trainee_chats import bound_chats, mask_external_id, unbind_trainee_chat
from bot.console.page import ID, NotFound, Page, console_page, redirect
from bot.staff.scope import trainee_scope
from models import ChatUser, Trainee

routes = web.RouteTableDef()
MAX_ID = 2**31 - 1


def _int(raw: str) -> int:
    if not raw.isdigit() or not 0 < int(raw[:12]) <= MAX_ID:
        raise NotFound("trainee")
    return int(raw)


async def _trainee(db: AsyncSession, request: web.Request, page: Page) -> Trainee:
    trainee_id = _int(request.match_info["id"])
    query = select(Trainee).where(Trainee.id == trainee_id, trainee_scope(page.principal))
    trainee = (await db.execute(query)).scalar_one_or_none()
    if trainee is None:
        raise NotFound("trainee")
    return trainee


@routes.get(f"/console/trainees/{ID}/chats")
@console_page()
async def trainee_chats(request: web.Request, page: Page) -> web.StreamResponse:
    async with page.services.db.session() as db:
        trainee = await _trainee(db, request, page)
        chats = await bound_chats(db, trainee.id)
    return page.render(
        "trainee_chats.html",
        trainee=trainee,
        chats=[(c, mask_external_id(c.external_id)) for c in chats],
        unbound=request.query.get("unbound"),
    )


@routes.post(f"/console/trainees/{ID}/chats/{{chat_id:\\d+}}/unbind")
@console_page()
async def unbind(request: web.Request, page: Page) -> web.StreamResponse:
    async with page.services.db.session() as db:
        trainee = await _trainee(db, request, page)
        user = await db.get(ChatUser, _int(request.match_info["chat_id"]), with_for_update=True)
        if user is None or user.trainee_id != trainee.id:
            raise NotFound("chat user")
        await unbind_trainee_chat(db, user, page.principal.actor)
    return redirect(f"/console/trainees/{trainee.id}/chats?unbound=1")
