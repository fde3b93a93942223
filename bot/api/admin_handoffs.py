"""Staff API of hand-overs to a person (转人工): who is waiting, the conversation a
member of staff takes over, and marking a hand-over resolved."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from bot.errors import ApiError
from bot.staff import queries
from bot.staff.http import Staff, found, iso_time, paging, staff_api
from bot.staff.scope import chat_user_scope
from models import ChatUser, Message
from models.chat import CHANNELS

routes = web.RouteTableDef()


@routes.get("/api/v1/admin/handoffs")
@staff_api
async def handoffs(request: web.Request, staff: Staff) -> web.StreamResponse:
    limit, offset = paging(request)
    tz = staff.services.clock.tz
    total, rows = await staff.scoped(queries.handoffs, limit=limit, offset=offset)
    items = [
        {
            "chat_user_id": r["user"].id,
            "channel": r["user"].channel,
            "external_id": r["user"].external_id,
            "name": r["name"],
            "requested_at": iso_time(r["user"].handoff_requested_at, tz),
            "last_text": r["last_text"],
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
        user = found(await queries.chat_user_in_scope(db, principal, int(request.match_info["id"])), unknown)
        changed = await queries.resolve_handoff(db, principal, user)
    return web.json_response({"chat_user_id": user.id, "resolved": changed})


@routes.get("/api/v1/admin/conversations/{channel}/{external_id}")
@staff_api
async def transcript(request: web.Request, staff: Staff) -> web.StreamResponse:
    """A user's whole conversation, for the member of staff taking it over."""
    channel = request.match_info["channel"]
    external_id = request.match_info["external_id"]
    if channel not in CHANNELS:
        raise ApiError(404, "not_found", "没有这个渠道")
    services = staff.services
    async with services.db.session() as db:
        user = found(
            (
                await db.execute(
                    select(ChatUser).where(ChatUser.channel == channel, ChatUser.external_id == external_id)
                )
            ).scalar_one_or_none(),
            ApiError(404, "not_found", "没有这个用户"),
        )
        in_scope = (
            await db.execute(
                select(ChatUser.id).where(ChatUser.id == user.id, chat_user_scope(staff.principal))
            )
        ).first()
        if in_scope is None:  # the same answer as no such user: staff learn nothing of others' users
            raise ApiError(404, "not_found", "没有这个用户")
        rows = (
            await db.execute(select(Message).where(Message.chat_user_id == user.id).order_by(Message.id))
        ).scalars()
        tz = services.clock.tz
        messages = [
            {"direction": m.direction, "text": m.text, "at": iso_time(m.created_at, tz)} for m in rows
        ]
    return web.json_response({"messages": messages})
