"""The web channel: `POST /api/v1/chat`, the same engine as WeChat and Telegram."""

from __future__ import annotations

from aiohttp import web

from bot.binding.throttle import BIND_SOURCE
from bot.errors import ApiError
from bot.http import client_address, read_json

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
    # Bind attempts from the web are counted per client address: a user_id costs nothing.
    token = BIND_SOURCE.set(f"web:{client_address(request)}")
    try:
        result = await request.app["engine"].handle("web", user_id, text)
    finally:
        BIND_SOURCE.reset(token)
    return web.json_response({"replies": [r.to_dict() for r in result.replies]})
