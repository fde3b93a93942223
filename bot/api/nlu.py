"""`POST /api/v1/nlu/parse`: what the bot understands of a text."""

from __future__ import annotations

from aiohttp import web

from bot.errors import ApiError
from bot.http import read_json

routes = web.RouteTableDef()


@routes.post("/api/v1/nlu/parse")
async def parse(request: web.Request) -> web.Response:
    body = await read_json(request)
    text = body.get("text")
    if not isinstance(text, str):
        raise ApiError(400, "invalid_text", "text 必须是字符串")
    if not text.strip():
        raise ApiError(400, "empty_text", "text 不能为空")
    services = request.app["services"]
    limit = services.settings.max_text_chars
    if len(text) > limit:
        raise ApiError(413, "text_too_long", f"text 不能超过 {limit} 个字符")
    result = services.nlu.parse(text, services.clock.today())
    return web.json_response(result.to_dict())
