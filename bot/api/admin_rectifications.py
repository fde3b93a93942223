"""Staff API of rectification letters (第二十七条): record one, list them, mark one done.

A letter is addressed to an institution, so the bureau over that institution
records and closes it; an institution operator may read its own letters only.
The institution is reminded before its one-month deadline (`bot.claims.deadlines`).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.api.claim_fields import ID, date_field, err, int_field, invalid, query_choice, text_field
from bot.api.claims_json import iso
from bot.audit import audit
from bot.claims.formatting import article_of
from bot.http import read_json
from bot.staff.http import Staff, paging, staff_api
from bot.staff.scope import institution_scope
from models import Institution, Rectification

routes = web.RouteTableDef()


def rectification_json(row: Rectification) -> dict[str, Any]:
    return {
        "id": row.id,
        "institution_id": row.institution_id,
        "received_on": row.received_on.isoformat(),
        "due_on": row.due_on.isoformat(),
        "subject": row.subject,
        "completed_on": iso(row.completed_on),
        "article": article_of("rectification"),
    }


def _bureau(staff: Staff) -> None:
    """Only a bureau records and closes letters; the institution they address may not."""
    if staff.principal.is_operator:
        raise err(staff.services, 403, "forbidden")


@routes.post("/api/v1/admin/rectifications")
@staff_api
async def create_rectification(request: web.Request, staff: Staff) -> web.StreamResponse:
    """Record a rectification letter; the institution is reminded before its one-month deadline."""
    from bot.policy.deadlines import compute_deadline

    _bureau(staff)
    principal, services = staff.principal, staff.services
    body = await read_json(request)
    institution_id = int_field(services, body.get("institution_id"), "institution_id")
    received_on = date_field(services, body.get("received_on"), "received_on")
    subject = text_field(services, body.get("subject"), "subject")
    if received_on is None:
        raise invalid(services, "received_on", "必填，YYYY-MM-DD")
    if subject is None:
        raise invalid(services, "subject", "必填：整改事项")
    if received_on > services.clock.today():
        raise err(services, 400, "date_in_future", on=received_on.isoformat())
    async with services.db.session() as db:
        inst = (
            await db.execute(
                select(Institution).where(Institution.id == institution_id, institution_scope(principal))
            )
        ).scalar_one_or_none()
        if inst is None:
            raise err(services, 404, "institution_not_found", institution_id=institution_id)
        row = Rectification(
            institution_id=inst.id,
            received_on=received_on,
            due_on=compute_deadline("rectification", received_on).deadline,
            subject=subject,
            created_by=principal.actor,
            created_at=services.clock.now(),
        )
        db.add(row)
        await db.flush()
        await audit(
            db, principal.actor, "create_rectification", "rectification", row.id, institution_id=inst.id
        )
        payload = rectification_json(row)
    return web.json_response(payload, status=201)


@routes.get("/api/v1/admin/rectifications")
@staff_api
async def list_rectifications(request: web.Request, staff: Staff) -> web.StreamResponse:
    principal, services = staff.principal, staff.services
    limit, offset = paging(request)
    open_only = query_choice(services, request, "open", ("true", "false"))
    query = (
        select(Rectification)
        .join(Institution, Institution.id == Rectification.institution_id)
        .where(institution_scope(principal))
    )
    if open_only == "true":
        query = query.where(Rectification.completed_on.is_(None))
    elif open_only == "false":
        query = query.where(Rectification.completed_on.is_not(None))
    async with services.db.session() as db:
        rows = (
            await db.execute(
                query.order_by(Rectification.due_on, Rectification.id).limit(limit).offset(offset)
            )
        ).scalars()
        payload = [rectification_json(r) for r in rows]
    return web.json_response({"rectifications": payload})


@routes.post(f"/api/v1/admin/rectifications/{ID}/complete")
@staff_api
async def complete_rectification(request: web.Request, staff: Staff) -> web.StreamResponse:
    _bureau(staff)
    principal, services = staff.principal, staff.services
    body = await read_json(request)
    on = date_field(services, body.get("on"), "on") or services.clock.today()
    if on > services.clock.today():
        raise err(services, 400, "date_in_future", on=on.isoformat())
    rid = int(request.match_info["id"])
    async with services.db.session() as db:
        row = (
            await db.execute(
                select(Rectification)
                .join(Institution, Institution.id == Rectification.institution_id)
                .where(Rectification.id == rid, institution_scope(principal))
                .with_for_update()
            )
        ).scalar_one_or_none()
        if row is None:
            raise err(services, 404, "rectification_not_found", rectification_id=rid)
        if row.completed_on is not None:
            raise err(services, 409, "already_completed", on=row.completed_on.isoformat())
        if on < row.received_on:
            raise err(
                services, 409, "date_before_state", on=on.isoformat(), since=row.received_on.isoformat()
            )
        row.completed_on = on
        await audit(db, principal.actor, "complete_rectification", "rectification", row.id)
        payload = rectification_json(row)
    return web.json_response(payload)
