"""The first staff API of hand-overs (转人工), kept for its callers on top of `bot.handover`.

`GET /api/v1/admin/handoffs` lists the open requests in scope (now oldest
first, as staff work them); `resolve` closes one, which tells the trainee.
The full inbox, the transcript and replying are in `bot.api.conversations`.
"""

from __future__ import annotations

from aiohttp import web

from bot.errors import ApiError
from bot.handover import inbox, service
from bot.outbox import kick
from bot.staff.http import Staff, found, iso_time, paging, staff_api
from models import ChatUser

routes = web.RouteTableDef()


@routes.get("/api/v1/admin/handoffs")
@staff_api
async def handoffs(request: web.Request, staff: Staff) -> web.StreamResponse:
    limit, offset = paging(request)
    tz = staff.services.clock.tz
    total, rows = await staff.scoped(inbox.open_requests, limit=limit, offset=offset)
    items = [
        {
            "chat_user_id": r.user.id,
            "channel": r.user.channel,
            "external_id": r.user.external_id,
            "name": r.name,
            "requested_at": iso_time(r.handover.opened_at, tz),
            "state": r.handover.state,
            "last_text": r.last_text,
        }
        for r in rows
    ]
    return web.json_response({"total": total, "handoffs": items})


@routes.post(r"/api/v1/admin/handoffs/{id:\d{1,9}}/resolve")
@staff_api
async def resolve(request: web.Request, staff: Staff) -> web.StreamResponse:
    principal, services = staff.principal, staff.services
    unknown = ApiError(404, "not_found", services.texts.get("console.errors.chat_user_not_found"))
    async with services.db.session() as db:
        user = await db.get(ChatUser, int(request.match_info["id"]))
        user = found(await inbox.user_in_scope(db, principal, user), unknown)
        await service.lock_user(db, user.id)
        try:
            await service.close(services, db, principal, user)
            changed = True
        except service.NoOpenRequest:
            changed = False
    if changed:
        kick(services)
    return web.json_response({"chat_user_id": user.id, "resolved": changed})
