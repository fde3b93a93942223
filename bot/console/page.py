"""The console's page plumbing: sign-in check, CSRF, security headers, rendering.

Every page resolves the signed-in principal afresh and reads through the same
scoped queries as the staff API, so the console can show no more than the API;
a `Page` is the API's `Staff` with the cookie it came with.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from bot.auth import Principal, principal_for_token_hash
from bot.console.config import get_config
from bot.console.session import csrf_ok, csrf_token, read_cookie
from bot.errors import ApiError
from bot.staff.http import Staff
from bot.staff.scope import OutOfScope

JINJA_KEY = web.AppKey("console_jinja", jinja2.Environment)
ID = r"{id:\d{1,9}}"


SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def labels_of(request: web.Request) -> dict[str, Any]:
    labels: dict[str, Any] = request.app["services"].texts.raw("console")
    return labels


def fmt_dt(tz: Any) -> Callable[[datetime | None], str]:
    def fmt(value: datetime | None) -> str:
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value is not None else ""

    return fmt


@dataclass(frozen=True)
class Page(Staff):
    cookie: str

    @property
    def csrf(self) -> str:
        return csrf_token(self.request.app["settings"], self.cookie)

    def context(self, **extra: Any) -> dict[str, Any]:
        return {
            "L": labels_of(self.request),
            "me": self.principal,
            "csrf": self.csrf,
            "dt": fmt_dt(self.services.clock.tz),
            "path": self.request.path,
            **extra,
        }

    def render(self, template: str, status: int = 200, **extra: Any) -> web.Response:
        return aiohttp_jinja2.render_template(
            template, self.request, self.context(**extra), status=status, app_key=JINJA_KEY
        )


Handler = Callable[[web.Request, Page], Awaitable[web.StreamResponse]]


class NotFound(Exception):
    """A record a page asked for does not exist (rendered as a 404 page)."""


def redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def secure(response: web.StreamResponse) -> web.StreamResponse:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def error_page(request: web.Request, status: int, message: str, principal: Principal | None) -> web.Response:
    context = {"L": labels_of(request), "me": principal, "csrf": "", "message": message, "path": request.path}
    return aiohttp_jinja2.render_template("error.html", request, context, status=status, app_key=JINJA_KEY)


MULTIPART_KEY = web.RequestKey("console_multipart", object)


async def _multipart_csrf(request: web.Request) -> str | None:
    """The `_csrf` field, the first part of a console upload, read without buffering the file.

    Uploads (imports) are larger than the app-wide body limit that
    `request.post()` enforces, so the form sends `_csrf` first and the handler
    reads the rest of the stream from `request[MULTIPART_KEY]`.
    """
    try:
        reader = await request.multipart()
        part = await reader.next()
        if part is None or getattr(part, "name", None) != "_csrf":
            return None
        value = await part.read(decode=False)  # type: ignore[union-attr]
    except (ValueError, AssertionError, LookupError, HttpProcessingError):  # no boundary, a broken body
        return None
    request[MULTIPART_KEY] = reader
    return bytes(value[:200]).decode("utf-8", "replace")


def console_page(*, json: bool = False) -> Callable[[Handler], Callable[[web.Request], Awaitable[Any]]]:
    """Sign-in check, CSRF check on POST, and errors rendered for a person, not a program."""

    def wrap(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        @functools.wraps(handler)
        async def wrapped(request: web.Request) -> web.StreamResponse:
            settings, services = request.app["settings"], request.app["services"]
            texts = services.texts
            cookie = request.cookies.get(get_config().cookie_name)
            token_hash = read_cookie(settings, cookie)
            principal = await principal_for_token_hash(services, token_hash) if token_hash else None
            if principal is None or cookie is None:
                if json:
                    raise ApiError(401, "unauthorized", texts.get("console.errors.bad_token"))
                if request.method == "GET":
                    target = "/console/login?" + urlencode({"next": request.path_qs})
                    return secure(redirect(target))
                return secure(redirect("/console/login"))
            if request.method == "POST":
                sent = request.headers.get("X-CSRF-Token")
                if sent is None and request.content_type == "multipart/form-data":
                    sent = await _multipart_csrf(request)
                elif sent is None and request.content_type == "application/x-www-form-urlencoded":
                    sent = str((await request.post()).get("_csrf", ""))
                if not csrf_ok(settings, cookie, sent):
                    if json:
                        raise ApiError(403, "csrf", texts.get("console.errors.csrf"))
                    return secure(error_page(request, 403, texts.get("console.errors.csrf"), principal))
            page = Page(request, principal, cookie)
            try:
                response = await handler(request, page)
            except ApiError as exc:
                if json:
                    raise
                response = error_page(request, exc.status, exc.message, principal)
            except OutOfScope:
                if json:
                    raise page.out_of_scope() from None
                response = error_page(request, 403, labels_of(request)["errors_page"]["forbidden"], principal)
            except NotFound:
                response = error_page(request, 404, labels_of(request)["errors_page"]["not_found"], principal)
            return secure(response)

        return wrapped

    return wrap


def int_query(request: web.Request, name: str, default: int = 0) -> int:
    raw = request.query.get(name, "")
    return int(raw) if raw.isdigit() and len(raw) < 10 else default


def paging(request: web.Request) -> tuple[int, int]:
    return get_config().page_size, int_query(request, "offset")


@web.middleware
async def console_not_found(request: web.Request, handler: Callable[[web.Request], Awaitable[Any]]) -> Any:
    """An unknown console address is a Chinese page with the menu, not the API's JSON error."""
    try:
        return await handler(request)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
        if not (request.path == "/console" or request.path.startswith("/console/")):
            raise
        if request.path.startswith("/console/static/"):
            raise
        services = request.app["services"]
        token_hash = read_cookie(request.app["settings"], request.cookies.get(get_config().cookie_name))
        principal = await principal_for_token_hash(services, token_hash) if token_hash else None
        message = labels_of(request)["errors_page"]["page_not_found"]
        return secure(error_page(request, 404, message, principal))
