"""Staff API: who am I, trainees in my scope, hand-overs (转人工), dead letters and requeue."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.auth import Principal, authenticate, forbidden
from bot.errors import ApiError
from bot.http import read_json
from bot.identity import mask_phone
from bot.staff import queries
from bot.staff.http import paging
from bot.staff.scope import OutOfScope

routes = web.RouteTableDef()

MAX_REQUEUE = 500


def _iso(value: Any, tz: Any) -> str | None:
    return value.astimezone(tz).isoformat() if value is not None else None


def _texts(request: web.Request) -> Any:
    return request.app["services"].texts


def _principal_json(p: Principal) -> dict[str, Any]:
    return {
        "role": p.role,
        "region_code": p.region_code,
        "institution_id": p.institution_id,
        "staff_id": p.staff_id,
        "name": p.name,
    }


@routes.get("/api/v1/admin/me")
async def me(request: web.Request) -> web.Response:
    return web.json_response(_principal_json(await authenticate(request)))


def _optional_id(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or not 0 < int(raw) < 2**31:
        raise ApiError(400, "invalid_audience", _texts(request).get("console.errors.audience_id", field=name))
    return int(raw)


@routes.get("/api/v1/admin/trainees")
async def trainees(request: web.Request) -> web.Response:
    """Trainees the caller may see: numbers masked, as everywhere outside the real-name system."""
    principal = await authenticate(request)
    limit, offset = paging(request)
    class_id = _optional_id(request, "class_id")
    name = (request.query.get("name") or "").strip()[:50] or None
    services = request.app["services"]
    async with services.db.session() as db:
        if class_id is not None:
            try:
                klass = await queries.class_in_scope(db, principal, class_id)
            except OutOfScope:
                raise forbidden(_texts(request).get("console.errors.out_of_scope")) from None
            if klass is None:
                raise ApiError(404, "class_not_found", _texts(request).get("console.errors.unknown_class"))
        total, rows = await queries.trainees_in_scope(
            db, principal, class_id=class_id, name=name, limit=limit, offset=offset
        )
        classes = await queries.classes_of(db, [t.id for t in rows])
    items = [
        {
            "id": t.id,
            "name": t.name,
            "id_card_masked": t.id_card_masked,
            "phone_masked": mask_phone(t.phone) if t.phone else None,
            "region_code": t.region_code,
            "groups": list(t.groups or []),
            "classes": classes.get(t.id, []),
        }
        for t in rows
    ]
    return web.json_response({"total": total, "trainees": items})


@routes.get("/api/v1/admin/handoffs")
async def handoffs(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    limit, offset = paging(request)
    services = request.app["services"]
    tz = services.clock.tz
    async with services.db.session() as db:
        total, rows = await queries.handoffs(db, principal, limit=limit, offset=offset)
    items = [
        {
            "chat_user_id": r["user"].id,
            "channel": r["user"].channel,
            "external_id": r["user"].external_id,
            "name": r["name"],
            "requested_at": _iso(r["user"].handoff_requested_at, tz),
            "last_text": r["last_text"],
        }
        for r in rows
    ]
    return web.json_response({"total": total, "handoffs": items})


@routes.post(r"/api/v1/admin/handoffs/{id:\d{1,9}}/resolve")
async def resolve(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    services = request.app["services"]
    async with services.db.session() as db:
        try:
            user = await queries.chat_user_in_scope(db, principal, int(request.match_info["id"]))
        except OutOfScope:
            raise forbidden(_texts(request).get("console.errors.out_of_scope")) from None
        if user is None:
            raise ApiError(404, "not_found", _texts(request).get("console.errors.chat_user_not_found"))
        changed = await queries.resolve_handoff(db, principal, user)
    return web.json_response({"chat_user_id": user.id, "resolved": changed})


@routes.get("/api/v1/admin/outbox/dead")
async def dead(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    limit, offset = paging(request)
    services = request.app["services"]
    tz = services.clock.tz
    async with services.db.session() as db:
        total, rows = await queries.dead_letters(db, principal, limit=limit, offset=offset)
    items = [
        {
            "id": r["message"].id,
            "kind": r["message"].kind,
            "channel": r["channel"],
            "recipient": r["recipient"],
            "attempts": r["message"].attempts,
            "last_error": r["message"].last_error,
            "created_at": _iso(r["message"].created_at, tz),
            "broadcast_id": r["message"].broadcast_id,
        }
        for r in rows
    ]
    return web.json_response({"total": total, "messages": items})


@routes.post("/api/v1/admin/outbox/requeue")
async def requeue(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    body = await read_json(request)
    ids = body.get("ids")
    if (
        not isinstance(ids, list)
        or not 0 < len(ids) <= MAX_REQUEUE
        or not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**31 for i in ids)
    ):
        raise ApiError(400, "invalid_ids", _texts(request).get("console.errors.invalid_ids"))
    services = request.app["services"]
    async with services.db.session() as db:
        done = await queries.requeue_dead(db, principal, ids, services.clock.now(), services.texts)
    return web.json_response({"requeued": done})
