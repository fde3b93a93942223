"""Staff API: who am I, and the trainees in my scope."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.auth import Principal
from bot.errors import ApiError
from bot.identity import mask_phone
from bot.staff import queries
from bot.staff.http import Staff, found, paging, staff_api

routes = web.RouteTableDef()


def _principal_json(p: Principal) -> dict[str, Any]:
    return {
        "role": p.role,
        "region_code": p.region_code,
        "institution_id": p.institution_id,
        "staff_id": p.staff_id,
        "name": p.name,
    }


@routes.get("/api/v1/admin/me")
@staff_api
async def me(request: web.Request, staff: Staff) -> web.StreamResponse:
    return web.json_response(_principal_json(staff.principal))


def _optional_id(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if not raw.isdigit() or not 0 < int(raw) < 2**31:
        texts = request.app["services"].texts
        raise ApiError(400, "invalid_audience", texts.get("console.errors.audience_id", field=name))
    return int(raw)


@routes.get("/api/v1/admin/trainees")
@staff_api
async def trainees(request: web.Request, staff: Staff) -> web.StreamResponse:
    """Trainees the caller may see: numbers masked, as everywhere outside the real-name system."""
    principal, services = staff.principal, staff.services
    limit, offset = paging(request)
    class_id = _optional_id(request, "class_id")
    name = (request.query.get("name") or "").strip()[:50] or None
    async with services.db.session() as db:
        if class_id is not None:
            unknown = ApiError(404, "class_not_found", services.texts.get("console.errors.unknown_class"))
            found(await queries.class_in_scope(db, principal, class_id), unknown)
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
