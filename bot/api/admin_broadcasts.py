"""Staff API for broadcast notices: preview an audience, send or schedule, follow, cancel."""

from __future__ import annotations

from aiohttp import web

from bot.broadcasts import audience as aud
from bot.broadcasts import results as res
from bot.broadcasts import sending as svc
from bot.http import read_json
from bot.staff.http import Staff, choice, iso_time, paging, staff_api
from models.outbox import BROADCAST_STATUSES

routes = web.RouteTableDef()

ID = r"{id:\d{1,9}}"


@routes.post("/api/v1/admin/broadcasts/preview")
@staff_api
async def preview(request: web.Request, staff: Staff) -> web.StreamResponse:
    principal, services = staff.principal, staff.services
    body = await read_json(request)
    audience = aud.parse_audience(body.get("target"), body.get("audience"), services.texts)
    async with services.db.session() as db:
        await aud.check_audience(db, principal, audience, services.texts)
        result = await aud.preview(db, principal, audience, services.clock.now())
    return web.json_response(result)


@routes.post("/api/v1/admin/broadcasts")
@staff_api
async def create(request: web.Request, staff: Staff) -> web.StreamResponse:
    principal, services = staff.principal, staff.services
    body = await read_json(request)
    now = services.clock.now()
    notice = svc.parse_notice(body, now, services.texts)
    async with services.db.session() as db:
        broadcast = await svc.create_broadcast(db, principal, notice, now, services.texts)
        payload = svc.to_json(broadcast, services.clock.tz)
        payload["progress"] = await res.progress(db, broadcast)
    svc.start_delivery(request.app, broadcast)
    return web.json_response(payload, status=201)


@routes.get("/api/v1/admin/broadcasts")
@staff_api
async def list_broadcasts(request: web.Request, staff: Staff) -> web.StreamResponse:
    services = staff.services
    limit, offset = paging(request)
    status = choice(request, "status", BROADCAST_STATUSES, "invalid_status", "invalid_status")
    items = await staff.scoped(svc.list_visible, status=status, limit=limit, offset=offset)
    tz = services.clock.tz
    return web.json_response({"broadcasts": [svc.to_json(b, tz) for b in items]})


@routes.get(f"/api/v1/admin/broadcasts/{ID}")
@staff_api
async def detail(request: web.Request, staff: Staff) -> web.StreamResponse:
    principal, services = staff.principal, staff.services
    async with services.db.session() as db:
        broadcast = await svc.get_visible(
            db, principal, int(request.match_info["id"]), services.texts, services.clock.now()
        )
        payload = svc.to_json(broadcast, services.clock.tz)
        payload["progress"] = await res.progress(db, broadcast)
    return web.json_response(payload)


@routes.get(f"/api/v1/admin/broadcasts/{ID}/deliveries")
@staff_api
async def deliveries(request: web.Request, staff: Staff) -> web.StreamResponse:
    principal, services = staff.principal, staff.services
    limit, offset = paging(request)
    result = choice(request, "result", res.RESULTS, "invalid_result", "invalid_result")
    tz = services.clock.tz
    async with services.db.session() as db:
        broadcast = await svc.get_visible(db, principal, int(request.match_info["id"]), services.texts)
        total, items = await res.deliveries(db, broadcast, result=result, limit=limit, offset=offset)
    for item in items:
        item["sent_at"] = iso_time(item["sent_at"], tz)
    return web.json_response({"total": total, "deliveries": items})


@routes.post(f"/api/v1/admin/broadcasts/{ID}/cancel")
@staff_api
async def cancel(request: web.Request, staff: Staff) -> web.StreamResponse:
    principal, services = staff.principal, staff.services
    async with services.db.session() as db:
        broadcast = await svc.cancel(
            db, principal, int(request.match_info["id"]), services.clock.now(), services.texts
        )
        payload = svc.to_json(broadcast, services.clock.tz)
        payload["progress"] = await res.progress(db, broadcast)
    return web.json_response(payload)
