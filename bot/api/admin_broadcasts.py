"""Staff API for broadcast notices: preview an audience, send or schedule, follow, cancel."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.auth import authenticate
from bot.broadcasts import audience as aud
from bot.broadcasts import results as res
from bot.broadcasts import sending as svc
from bot.http import read_json
from bot.staff.http import choice, paging
from models.outbox import BROADCAST_STATUSES

routes = web.RouteTableDef()

ID = r"{id:\d{1,9}}"


def _iso(value: Any, tz: Any) -> Any:
    return value.astimezone(tz).isoformat() if value is not None else None


@routes.post("/api/v1/admin/broadcasts/preview")
async def preview(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    body = await read_json(request)
    services = request.app["services"]
    audience = aud.parse_audience(body.get("target"), body.get("audience"), services.texts)
    async with services.db.session() as db:
        await aud.check_audience(db, principal, audience, services.texts)
        result = await aud.preview(db, principal, audience, services.clock.now())
    return web.json_response(result)


@routes.post("/api/v1/admin/broadcasts")
async def create(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    body = await read_json(request)
    services = request.app["services"]
    now = services.clock.now()
    notice = svc.parse_notice(body, now, services.texts)
    async with services.db.session() as db:
        broadcast = await svc.create_broadcast(db, principal, notice, now, services.texts)
        payload = svc.to_json(broadcast, services.clock.tz)
        payload["progress"] = await res.progress(db, broadcast)
    svc.start_delivery(request.app, broadcast)
    return web.json_response(payload, status=201)


@routes.get("/api/v1/admin/broadcasts")
async def list_broadcasts(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    limit, offset = paging(request)
    status = choice(request, "status", BROADCAST_STATUSES, "invalid_status", "invalid_status")
    services = request.app["services"]
    async with services.db.session() as db:
        items = await svc.list_visible(db, principal, status=status, limit=limit, offset=offset)
    tz = services.clock.tz
    return web.json_response({"broadcasts": [svc.to_json(b, tz) for b in items]})


@routes.get(f"/api/v1/admin/broadcasts/{ID}")
async def detail(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    services = request.app["services"]
    async with services.db.session() as db:
        broadcast = await svc.get_visible(db, principal, int(request.match_info["id"]), services.texts)
        payload = svc.to_json(broadcast, services.clock.tz)
        payload["progress"] = await res.progress(db, broadcast)
    return web.json_response(payload)


@routes.get(f"/api/v1/admin/broadcasts/{ID}/deliveries")
async def deliveries(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    limit, offset = paging(request)
    result = choice(request, "result", res.RESULTS, "invalid_result", "invalid_result")
    services = request.app["services"]
    tz = services.clock.tz
    async with services.db.session() as db:
        broadcast = await svc.get_visible(db, principal, int(request.match_info["id"]), services.texts)
        total, items = await res.deliveries(db, broadcast, result=result, limit=limit, offset=offset)
    for item in items:
        item["sent_at"] = _iso(item["sent_at"], tz)
    return web.json_response({"total": total, "deliveries": items})


@routes.post(f"/api/v1/admin/broadcasts/{ID}/cancel")
async def cancel(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    services = request.app["services"]
    async with services.db.session() as db:
        broadcast = await svc.cancel(
            db, principal, int(request.match_info["id"]), services.clock.now(), services.texts
        )
        payload = svc.to_json(broadcast, services.clock.tz)
        payload["progress"] = await res.progress(db, broadcast)
    return web.json_response(payload)
