"""HTTP plumbing shared by every route: the JSON error middleware and body reading.

The contract says bad input is a 4xx JSON error and never a 500, whatever
arrives: so the middleware refuses what cannot be a real request before any
handler sees it (NUL or unpaired surrogates in the path or query, undecodable
bytes in a header), turns payload and database *data* errors into 400s and a
database that cannot be reached into a 503 naming it, and `read_json` refuses
bodies no handler can store (integers beyond 2^53, non-finite floats, NUL
characters, lone surrogates, nesting deeper than any request of ours).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError
from sqlalchemy import exc as sa_exc

from bot.errors import ApiError, error_response
from models.db import DatabaseUnavailable

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

MAX_SAFE_INT = 2**53
MAX_DEPTH = 32
DB_UNAVAILABLE = ("database_unavailable", "数据库暂时无法访问,请稍后再试")


def unstorable(text: str) -> bool:
    """NUL (PostgreSQL refuses it) or an unpaired surrogate (no encoding takes it)."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _bad_request_line(request: web.Request) -> str | None:
    if unstorable(request.path) or unstorable(request.query_string):
        return "请求地址含有无法处理的字符"
    for value in request.headers.values():
        if unstorable(value):  # undecodable bytes arrive as surrogates
            return "请求头含有无法处理的字符"
    try:
        for value in request.query.values():
            if unstorable(value):
                return "请求参数含有无法处理的字符"
    except (UnicodeDecodeError, ValueError):
        return "请求参数含有无法处理的字符"
    return None


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error in the contract's JSON shape; never a stack trace in a body."""
    problem = _bad_request_line(request)
    if problem is not None:
        return error_response(400, "invalid_request", problem)
    try:
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        codes = {
            400: ("bad_request", "请求格式不正确"),
            404: ("not_found", "没有这个地址"),
            405: ("method_not_allowed", "不支持这种请求方法"),
            413: ("payload_too_large", "请求内容太大"),
        }
        code, message = codes.get(exc.status, ("http_error", exc.reason))
        response = error_response(exc.status, code, message)
        if exc.status == 405 and "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    except json.JSONDecodeError:
        return error_response(400, "invalid_json", "请求体不是合法的 JSON")
    except (RequestPayloadError, HttpProcessingError):
        return error_response(400, "invalid_body", "请求体无法读取(编码或压缩格式不对)")
    except sa_exc.DataError:
        # A value the database refuses (an id beyond its integer range, a byte it cannot store).
        log.info("database refused a value on %s %s", request.method, request.path)
        return error_response(400, "invalid_value", "请求中的某个值超出了允许的范围")
    except (DatabaseUnavailable, sa_exc.OperationalError, sa_exc.InterfaceError, ConnectionError) as exc:
        detail = str(exc) if isinstance(exc, DatabaseUnavailable) else type(exc).__name__
        log.error("database unavailable on %s %s: %s", request.method, request.path, detail)
        return error_response(503, *DB_UNAVAILABLE)
    except sa_exc.DBAPIError as exc:
        if isinstance(exc.orig, OverflowError) or isinstance(exc.orig.__cause__, OverflowError):
            # asyncpg refuses a Python int beyond the column's range before PostgreSQL sees it.
            log.info("database driver refused a value on %s %s", request.method, request.path)
            return error_response(400, "invalid_value", "请求中的某个值超出了允许的范围")
        if exc.connection_invalidated:
            log.error("database connection lost on %s %s", request.method, request.path)
            return error_response(503, *DB_UNAVAILABLE)
        log.exception("unhandled database error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "服务器内部错误,请稍后再试")
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "服务器内部错误,请稍后再试")


def _trusted(request: web.Request) -> bool:
    proxies = {p.strip() for p in request.app["settings"].trusted_proxies.split(",") if p.strip()}
    return bool(proxies) and request.remote in proxies


def client_address(request: web.Request) -> str:
    """Who is calling: the peer, or the client a configured trusted proxy names (X-Forwarded-For).

    A forwarded header from anyone else is ignored, so a caller cannot pick a
    fresh address for every guess.
    """
    if _trusted(request):
        forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
        if forwarded:
            return forwarded[:64]
    return (request.remote or "unknown")[:64]


def is_https(request: web.Request) -> bool:
    """TLS to the client: directly, or at a configured trusted proxy (X-Forwarded-Proto)."""
    if request.secure:
        return True
    return _trusted(request) and request.headers.get("X-Forwarded-Proto", "").lower() == "https"


def _finite(text: str) -> float | int:
    """A JSON fraction; one with no fractional part is the integer (JSON Schema's rule: 3.0 is 3)."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a number too large")
    if value.is_integer() and abs(value) <= MAX_SAFE_INT:
        return int(value)
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def check_values(value: Any) -> str | None:
    """What is wrong with a parsed body (None when nothing): too deep, too big, unstorable text."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return "请求体嵌套太深"
        if isinstance(item, str):
            if unstorable(item):
                return "请求体含有无法处理的字符(如 NUL 或不成对的代理字符)"
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int):
            if abs(item) > MAX_SAFE_INT:
                return "请求体中的数字太大"
        elif isinstance(item, dict):
            for key, sub in item.items():
                stack.append((key, depth + 1))
                stack.append((sub, depth + 1))
        elif isinstance(item, list):
            stack.extend((sub, depth + 1) for sub in item)
    return None


def parse_json(raw: bytes) -> Any:
    """Parse a body, refusing what cannot be stored; 400 `invalid_json` for anything wrong."""
    try:
        body = json.loads(raw, parse_float=_finite, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise ApiError(400, "invalid_json", "请求体不是合法的 JSON") from exc
    problem = check_values(body)
    if problem is not None:
        raise ApiError(400, "invalid_json", problem)
    return body


async def read_json(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object, or a 400/413 that says what is wrong."""
    if request.content_length is not None and request.content_length > request.app["settings"].max_body_bytes:
        raise ApiError(413, "payload_too_large", "请求内容太大")
    try:
        async with asyncio.timeout(request.app["settings"].body_read_timeout_seconds):
            raw = await request.read()
    except TimeoutError as exc:
        raise ApiError(408, "request_timeout", "请求体发送太慢,已超时") from exc
    except web.HTTPRequestEntityTooLarge as exc:
        raise ApiError(413, "payload_too_large", "请求内容太大") from exc
    except (RequestPayloadError, HttpProcessingError) as exc:
        raise ApiError(400, "invalid_body", "请求体无法读取(编码或压缩格式不对)") from exc
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", "请求体应是一个 JSON 对象")
    return body
