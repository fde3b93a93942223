"""Staff reading a user's transcript when they take over a conversation (转人工)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from bot.auth import authenticate
from bot.errors import ApiError
from bot.staff.scope import chat_user_scope
from models import ChatUser, Message
from models.chat import CHANNELS

routes = web.RouteTableDef()


@routes.get("/api/v1/admin/conversations/{channel}/{external_id}")
async def transcript(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    channel = request.match_info["channel"]
    external_id = request.match_info["external_id"]
    if channel not in CHANNELS:
        raise ApiError(404, "not_found", "没有这个渠道")
    services = request.app["services"]
    async with services.db.session() as db:
        user = (
            await db.execute(
                select(ChatUser).where(ChatUser.channel == channel, ChatUser.external_id == external_id)
            )
        ).scalar_one_or_none()
        if user is None:
            raise ApiError(404, "not_found", "没有这个用户")
        in_scope = (
            await db.execute(select(ChatUser.id).where(ChatUser.id == user.id, chat_user_scope(principal)))
        ).first()
        if in_scope is None:
            raise ApiError(403, "forbidden", "这个用户不在您的管辖范围内")
        rows = (
            await db.execute(select(Message).where(Message.chat_user_id == user.id).order_by(Message.id))
        ).scalars()
        tz = services.clock.tz
        messages = [
            {"direction": m.direction, "text": m.text, "at": m.created_at.astimezone(tz).isoformat()}
            for m in rows
        ]
    return web.json_response({"messages": messages})
