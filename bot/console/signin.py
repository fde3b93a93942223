"""Console sign-in and sign-out: a token typed once, then the signed session cookie."""

from __future__ import annotations

import secrets

import aiohttp_jinja2
from aiohttp import web

from bot.audit import audit
from bot.auth import hash_token, principal_for_token
from bot.console.page import JINJA_KEY, Page, console_page, labels_of, redirect, secure
from bot.console.session import clear_cookie, make_cookie, set_cookie

LOGIN_NONCE_COOKIE = "bot_console_login"

routes = web.RouteTableDef()


def _safe_next(raw: str | None) -> str:
    """Only a path inside the console: never an open redirect to another site."""
    if raw and raw.startswith("/console/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/console/"


def _login_page(request: web.Request, status: int = 200, error: str | None = None) -> web.Response:
    nonce = secrets.token_urlsafe(24)
    context = {
        "L": labels_of(request),
        "me": None,
        "csrf": "",
        "nonce": nonce,
        "error": error,
        "next": _safe_next(request.query.get("next")),
        "path": request.path,
    }
    response = aiohttp_jinja2.render_template(
        "login.html", request, context, status=status, app_key=JINJA_KEY
    )
    response.set_cookie(
        LOGIN_NONCE_COOKIE, nonce, path="/console", httponly=True, samesite="Strict", secure=request.secure
    )
    return response


@routes.get("/console")
async def console_root(request: web.Request) -> web.StreamResponse:
    return redirect("/console/")


@routes.get("/console/login")
async def login_form(request: web.Request) -> web.StreamResponse:
    return secure(_login_page(request))


@routes.post("/console/login")
async def login(request: web.Request) -> web.StreamResponse:
    """Sign in with a token; a pre-session nonce stops another site signing someone in."""
    services, settings = request.app["services"], request.app["settings"]
    texts = services.texts
    form = await request.post()
    nonce = request.cookies.get(LOGIN_NONCE_COOKIE, "")
    if not nonce or not secrets.compare_digest(nonce, str(form.get("nonce", ""))):
        return secure(_login_page(request, 400, texts.get("console.errors.csrf")))
    token = str(form.get("token", "")).strip()
    if not token:
        return secure(_login_page(request, 400, texts.get("console.errors.empty_token")))
    principal = await principal_for_token(services, token)
    async with services.db.session() as db:
        if principal is None:
            await audit(db, "anonymous", "console_login_failed", remote=request.remote or "")
        else:
            await audit(db, principal.actor, "console_login", remote=request.remote or "")
    if principal is None:
        return secure(_login_page(request, 401, texts.get("console.errors.bad_token")))
    response = redirect(_safe_next(str(form.get("next", ""))))
    set_cookie(response, request, make_cookie(settings, hash_token(token)))
    response.del_cookie(LOGIN_NONCE_COOKIE, path="/console")
    return secure(response)


@routes.post("/console/logout")
@console_page()
async def logout(request: web.Request, page: Page) -> web.StreamResponse:
    async with page.services.db.session() as db:
        await audit(db, page.principal.actor, "console_logout")
    response = redirect("/console/login")
    clear_cookie(response)
    return response
