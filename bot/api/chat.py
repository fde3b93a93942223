"""The web channel: `POST /api/v1/chat`, the same engine as WeChat and Telegram."""

from __future__ import annotations

from aiohttp import web

from bot.errors import ApiError
from bot.http import read_json

routes = web.RouteTableDef()

MAX_USER_ID = 128


@routes.post("/api/v1/chat")
async def chat(request: web.Request) -> web.Response:
    body = await read_json(request)
    user_id, text = body.get("user_id"), body.get("text")
    if not isinstance(user_id, str) or not user_id.strip():
        raise ApiError(400, "invalid_user_id", "user_id 必须是非空字符串")
    if len(user_id) > MAX_USER_ID:
        raise ApiError(400, "invalid_user_id", f"user_id 不能超过 {MAX_USER_ID} 个字符")
    if not isinstance(text, str):
        raise ApiError(400, "invalid_text", "text 必须是字符串")
    result = await request.app["engine"].handle("web", user_id, text)
    return web.json_response({"replies": [r.to_dict() for r in result.replies]})
