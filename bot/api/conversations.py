"""Staff reading a user's transcript when they take over a conversation (转人工)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from bot.auth import authenticate
from bot.errors import ApiError
from models import ChatUser, Enrollment, Message, Trainee, TrainingClass
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
        if principal.role != "province_admin":
            trainee = await db.get(Trainee, user.trainee_id) if user.trainee_id else None
            institution_ids = set()
            if trainee is not None:
                institution_ids = set(
                    (
                        await db.execute(
                            select(TrainingClass.institution_id)
                            .join(Enrollment, Enrollment.class_id == TrainingClass.id)
                            .where(Enrollment.trainee_id == trainee.id)
                        )
                    ).scalars()
                )
            allowed = trainee is not None and (
                principal.covers_region(trainee.region_code)
                if principal.role != "institution_operator"
                else principal.institution_id in institution_ids
            )
            if not allowed:
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
