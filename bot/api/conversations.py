"""Staff API of conversations and hand-overs (转人工): the transcript, replying, the inbox.

The transcript and the reply endpoint are the public contract
(`POST /api/v1/admin/conversations/{channel}/{external_id}/messages`); the
inbox and the claim / hand-back / close actions are the staff API the console
also uses through the same `bot.handover` service.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import ApiError
from bot.handover import inbox, service
from bot.handover.config import handover_config
from bot.handover.views import handover_json, inbox_json, line_json
from bot.http import read_json
from bot.outbox import kick
from bot.staff.http import Staff, found, paging, staff_api
from bot.staff.scope import OutOfScope
from models import ChatUser
from models.chat import CHANNELS

routes = web.RouteTableDef()

CONVERSATION = "/api/v1/admin/conversations/{channel}/{external_id}"
# The whole conversation, as the contract asks; a bound far beyond any real chat keeps a reply bounded.
TRANSCRIPT_LIMIT = 10_000


def _error(staff: Staff, status: int, code: str, key: str, **fmt: object) -> ApiError:
    return ApiError(status, code, staff.services.texts.get(f"handover.errors.{key}", **fmt))


async def _user(db: AsyncSession, request: web.Request, staff: Staff) -> ChatUser:
    """The addressed chat user: 404 for an unknown channel or user, and the same 404 outside the scope.

    One answer for both, so a member of staff cannot learn whether a chat user
    outside their region exists (issue 12).
    """
    channel, external_id = request.match_info["channel"], request.match_info["external_id"]
    if channel not in CHANNELS:
        raise _error(staff, 404, "not_found", "unknown_channel")
    user = await inbox.find_user(db, channel, external_id)
    missing = _error(staff, 404, "not_found", "unknown_user")
    try:
        return found(await inbox.user_in_scope(db, staff.principal, user), missing)
    except OutOfScope:
        raise missing from None


@routes.get(CONVERSATION)
@staff_api
async def transcript(request: web.Request, staff: Staff) -> web.StreamResponse:
    """A user's whole conversation, for the member of staff taking it over."""
    services = staff.services
    async with services.db.session() as db:
        user = await _user(db, request, staff)
        lines = await inbox.transcript(db, user.id, limit=TRANSCRIPT_LIMIT)
        handover = await inbox.latest(db, user.id)
    tz, now = services.clock.tz, services.clock.now()
    body: dict[str, object] = {"messages": [line_json(line, tz) for line in lines]}
    if handover is not None:
        body["handover"] = handover_json(handover, handover_config(services), tz, now)
    return web.json_response(body)


@routes.post(CONVERSATION + "/messages")
@staff_api
async def reply(request: web.Request, staff: Staff) -> web.StreamResponse:
    """A staff reply, sent through the user's channel; the bot steps aside while staff hold it."""
    body = await read_json(request)
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        raise _error(staff, 400, "empty_text", "empty_text")
    text = text.strip()
    limit = handover_config(staff.services).max_reply_chars
    if len(text) > limit:
        raise _error(staff, 400, "text_too_long", "too_long", n=limit)
    services = staff.services
    async with services.db.session() as db:
        user = await _user(db, request, staff)
        await service.lock_user(db, user.id)
        sent = await service.reply(services, db, staff.principal, user, text)
        at = sent.created_at
    if sent.delivery == "queued" and user.channel not in ("web", "console"):
        kick(services)
    message = {"direction": "out", "text": text, "at": at.astimezone(services.clock.tz).isoformat()}
    message["staff"] = staff.principal.name
    return web.json_response({"message": message, "delivery": sent.delivery}, status=201)


async def _act(request: web.Request, staff: Staff, action: str) -> web.StreamResponse:
    services = staff.services
    act = {"claim": service.claim, "hand-back": service.hand_back, "close": service.close}[action]
    async with services.db.session() as db:
        user = await _user(db, request, staff)
        await service.lock_user(db, user.id)
        try:
            handover = await act(services, db, staff.principal, user)
        except service.NoOpenRequest:
            raise _error(staff, 409, "no_open_request", "no_open_request") from None
    if action != "claim":
        kick(services)
    config, tz = handover_config(services), services.clock.tz
    return web.json_response({"handover": handover_json(handover, config, tz, services.clock.now())})


@routes.post(CONVERSATION + "/claim")
@staff_api
async def claim(request: web.Request, staff: Staff) -> web.StreamResponse:
    """Take the conversation (others see who holds it); the bot stays silent meanwhile."""
    return await _act(request, staff, "claim")


@routes.post(CONVERSATION + "/hand-back")
@staff_api
async def hand_back(request: web.Request, staff: Staff) -> web.StreamResponse:
    return await _act(request, staff, "hand-back")


@routes.post(CONVERSATION + "/close")
@staff_api
async def close(request: web.Request, staff: Staff) -> web.StreamResponse:
    """Finish the request; the trainee receives a short closing note."""
    return await _act(request, staff, "close")


@routes.get("/api/v1/admin/handovers")
@staff_api
async def handovers(request: web.Request, staff: Staff) -> web.StreamResponse:
    """Open requests in the caller's scope, the longest-waiting first."""
    limit, offset = paging(request)
    services = staff.services
    total, rows = await staff.scoped(inbox.open_requests, limit=limit, offset=offset)
    config, tz, now = handover_config(services), services.clock.tz, services.clock.now()
    items = [inbox_json(row, config, tz, now) for row in rows]
    return web.json_response({"total": total, "handovers": items})
