"""The operator's HTTP side: request ids, the access log, `/metrics`, and the `/` page.

The request-id middleware is the outermost one: it sees the final status of
every request (also the JSON errors the error middleware makes), so the
access line, the latency histogram and the `X-Request-Id` header are there
for every answer.
"""

from __future__ import annotations

import hmac
import ipaddress
import itertools
import os
import re
import time
from collections.abc import Awaitable, Callable
from html import escape

from aiohttp import web

from bot.errors import ApiError
from bot.ops import metrics
from bot.ops.gauges import database_gauges
from bot.ops.logging import REQUEST_ID, access_log, install_record_factory, install_scheduler_filter

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# What we accept from a client or proxy as a request id; anything else is replaced.
VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
HEADER = "X-Request-Id"
# A made id: this process's random half, then its own count (32 hex digits, as uuid4's hex
# was). Unique across processes without a uuid4 (an os.urandom call) on every request.
_PROCESS_PART = os.urandom(8).hex()
_count = itertools.count(1)

routes = web.RouteTableDef()


def _route_name(request: web.Request) -> str:
    """The route template, not the path: ids in paths must not become label values."""
    info = request.match_info
    resource = info.route.resource if info is not None and info.route is not None else None
    if resource is None or info.http_exception is not None:
        return "unmatched"
    return resource.canonical


@web.middleware
async def request_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    given = request.headers.get(HEADER, "")
    request_id = given if VALID_ID.match(given) else f"{_PROCESS_PART}{next(_count):016x}"
    token = REQUEST_ID.set(request_id)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers[HEADER] = request_id
        return response
    except web.HTTPException as exc:  # redirects (and anything the error middleware let through)
        status = exc.status
        exc.headers[HEADER] = request_id
        raise
    finally:
        seconds = time.perf_counter() - started
        route = _route_name(request)
        metrics.http_request(request.method, route, status, seconds)
        access_log.info(
            "access",
            extra={
                "method": request.method,
                "path": request.path,
                "status": status,
                "latency_ms": round(seconds * 1000, 1),
                "remote": request.remote,
                "forwarded_for": request.headers.get("X-Forwarded-For", "-"),
            },
        )
        REQUEST_ID.reset(token)


def _is_loopback(request: web.Request) -> bool:
    """A direct local caller: on loopback and not relayed by a proxy from elsewhere."""
    if request.headers.get("X-Forwarded-For") or request.headers.get("X-Real-IP"):
        return False
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:
        return False


@routes.get("/metrics")
async def metrics_page(request: web.Request) -> web.Response:
    settings = request.app["settings"]
    expected = settings.metrics_token
    if expected:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
            raise ApiError(401, "unauthorized", "需要有效的监控令牌 (METRICS_TOKEN)")
    elif not _is_loopback(request):
        raise ApiError(403, "forbidden", "监控数据只对本机开放;远程抓取请设置 METRICS_TOKEN")
    body, content_type = metrics.render(await database_gauges(request.app["services"]))
    response = web.Response(body=body)
    response.headers["Content-Type"] = content_type
    return response


@routes.get("/")
async def home(request: web.Request) -> web.Response:
    texts = request.app["services"].texts
    links = "".join(
        f'<li><a href="{escape(item["href"])}">{escape(item["label"])}</a> — {escape(item["note"])}</li>'
        for item in texts.raw("home.links")
    )
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in texts.raw("home.about"))
    page = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(texts.get('home.title'))}</title>"
        "<style>body{font-family:sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;"
        "line-height:1.6;color:#222}code{background:#f3f3f3;padding:0 .2em}</style></head><body>"
        f"<h1>{escape(texts.get('home.title'))}</h1>{paragraphs}<ul>{links}</ul></body></html>"
    )
    return web.Response(text=page, content_type="text/html")


def setup(app: web.Application) -> None:
    """Mount the request middleware first, so it wraps every other one."""
    app.middlewares.insert(0, request_middleware)
    install_record_factory()
    install_scheduler_filter()
