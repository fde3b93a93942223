"""HTTP plumbing shared by every route: the JSON error middleware and body reading."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.errors import ApiError, error_response

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error in the contract's JSON shape; never a stack trace in a body."""
    try:
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        codes = {
            404: ("not_found", "没有这个地址"),
            405: ("method_not_allowed", "不支持这种请求方法"),
            413: ("payload_too_large", "请求内容太大"),
        }
        code, message = codes.get(exc.status, ("http_error", exc.reason))
        return error_response(exc.status, code, message)
    except json.JSONDecodeError:
        return error_response(400, "invalid_json", "请求体不是合法的 JSON")
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "服务器内部错误,请稍后再试")


async def read_json(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object, or a 400/413 that says what is wrong."""
    if request.content_length is not None and request.content_length > request.app["settings"].max_body_bytes:
        raise ApiError(413, "payload_too_large", "请求内容太大")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise ApiError(413, "payload_too_large", "请求内容太大") from exc
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", "请求体不是合法的 JSON") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "请求体应是一个 JSON 对象")
    return body
