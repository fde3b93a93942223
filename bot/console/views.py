"""Console pages: sign-in, overview, claims board, classes with attendance, failed
messages with requeue, and hand-overs to a person (转人工)."""

from __future__ import annotations

import secrets

import aiohttp_jinja2
from aiohttp import web

from bot.attendance.service import class_attendance
from bot.audit import audit
from bot.auth import hash_token, principal_for_token
from bot.broadcasts import sending as svc
from bot.console.page import ID, JINJA_KEY, NotFound, Page, console_page, labels_of, paging, redirect, secure
from bot.console.session import clear_cookie, make_cookie, set_cookie
from bot.errors import ApiError
from bot.staff import queries
from models import Institution
from models.claims import CLAIM_STATES

LOGIN_NONCE_COOKIE = "bot_console_login"

routes = web.RouteTableDef()


# --- sign-in --------------------------------------------------------------------


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


# --- overview -------------------------------------------------------------------


@routes.get("/console/")
@console_page()
async def home(request: web.Request, page: Page) -> web.StreamResponse:
    services = page.services
    async with services.db.session() as db:
        counts = await queries.overview(db, page.principal, services.clock.today())
        recent = await svc.list_visible(db, page.principal, limit=5)
    return page.render("home.html", counts=counts, recent=recent)


# --- claims board ----------------------------------------------------------------


@routes.get("/console/claims")
@console_page()
async def claims(request: web.Request, page: Page) -> web.StreamResponse:
    limit, offset = paging(request)
    state = request.query.get("state") or None
    if state not in (None, *CLAIM_STATES):
        state = None
    services = page.services
    async with services.db.session() as db:
        total, overdue, rows = await queries.claims_board(
            db, page.principal, services.clock.today(), state=state, limit=limit, offset=offset
        )
    return page.render(
        "claims.html",
        rows=rows,
        total=total,
        overdue=overdue,
        state=state,
        states=[s for s in CLAIM_STATES if s not in queries.FINAL_CLAIM_STATES],
        offset=offset,
        limit=limit,
    )


# --- classes and attendance -------------------------------------------------------


@routes.get("/console/classes")
@console_page()
async def classes(request: web.Request, page: Page) -> web.StreamResponse:
    limit, offset = paging(request)
    async with page.services.db.session() as db:
        rows = await queries.classes_in_scope(db, page.principal, limit=limit + 1, offset=offset)
    return page.render(
        "classes.html", rows=rows[:limit], offset=offset, limit=limit, has_more=len(rows) > limit
    )


@routes.get(f"/console/classes/{ID}")
@console_page()
async def class_detail(request: web.Request, page: Page) -> web.StreamResponse:
    services = page.services
    async with services.db.session() as db:
        klass = await queries.class_in_scope(db, page.principal, int(request.match_info["id"]))
        if klass is None:
            raise NotFound("class")
        institution = await db.get(Institution, klass.institution_id)
        roster = await class_attendance(db, klass.id, services.clock.now())
    return page.render("class_detail.html", klass=klass, institution=institution, roster=roster)


# --- dead letters ------------------------------------------------------------------


@routes.get("/console/outbox/dead")
@console_page()
async def dead_letters(request: web.Request, page: Page) -> web.StreamResponse:
    limit, offset = paging(request)
    async with page.services.db.session() as db:
        total, rows = await queries.dead_letters(db, page.principal, limit=limit, offset=offset)
    return page.render(
        "dead.html",
        rows=rows,
        total=total,
        offset=offset,
        limit=limit,
        requeued=request.query.get("requeued"),
    )


@routes.post("/console/outbox/requeue")
@console_page()
async def requeue(request: web.Request, page: Page) -> web.StreamResponse:
    form = await request.post()
    raw = [str(v) for v in form.getall("ids", [])]
    ids = [int(v) for v in raw if v.isdigit() and len(v) < 10]
    services = page.services
    if not ids or len(ids) != len(raw):
        raise ApiError(400, "invalid_ids", services.texts.get("console.errors.invalid_ids"))
    async with services.db.session() as db:
        done = await queries.requeue_dead(db, page.principal, ids, services.clock.now(), services.texts)
    return redirect(f"/console/outbox/dead?requeued={len(done)}")


# --- hand-over to a person -----------------------------------------------------------


@routes.get("/console/handoffs")
@console_page()
async def handoffs(request: web.Request, page: Page) -> web.StreamResponse:
    limit, offset = paging(request)
    async with page.services.db.session() as db:
        total, rows = await queries.handoffs(db, page.principal, limit=limit, offset=offset)
    return page.render(
        "handoffs.html",
        rows=rows,
        total=total,
        offset=offset,
        limit=limit,
        resolved=request.query.get("resolved"),
    )


@routes.get(f"/console/handoffs/{ID}")
@console_page()
async def handoff_detail(request: web.Request, page: Page) -> web.StreamResponse:
    async with page.services.db.session() as db:
        user = await queries.chat_user_in_scope(db, page.principal, int(request.match_info["id"]))
        if user is None:
            raise NotFound("chat user")
        messages = await queries.transcript(db, user.id)
    return page.render("handoff_detail.html", user=user, messages=messages)


@routes.post(f"/console/handoffs/{ID}/resolve")
@console_page()
async def resolve_handoff(request: web.Request, page: Page) -> web.StreamResponse:
    async with page.services.db.session() as db:
        user = await queries.chat_user_in_scope(db, page.principal, int(request.match_info["id"]))
        if user is None:
            raise NotFound("chat user")
        await queries.resolve_handoff(db, page.principal, user)
    return redirect("/console/handoffs?resolved=1")
