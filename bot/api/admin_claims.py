"""Staff API of subsidy claims: submit (one, many, or a whole class), list and read them.

Moving claims through the state machine is `bot.api.admin_claim_transitions`;
the publicity list of 第十七条 is `bot.api.admin_publicity`. Scope follows
`bot.staff.scope`: a claim belongs to its class, so the bureau where the class
ran and the class's institution see it; an institution operator may submit and
resubmit its own claims but never review, publicise or pay them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.api.claim_fields import (
    DIGITS,
    ID,
    amount_field,
    date_field,
    err,
    int_field,
    invalid,
    of_class,
    query_choice,
    query_int,
)
from bot.api.claims_json import add_events, batch_error, claims_json, visible_claim
from bot.audit import audit
from bot.auth import Principal
from bot.claims.config import get_claims_config
from bot.claims.due_dates import overdue_clause
from bot.claims.lifecycle import NewClaim, Submitted, submit_claims
from bot.claims.states import BatchError
from bot.http import read_json
from bot.staff.http import Staff, paging, staff_api
from bot.staff.scope import claim_scope
from models import Claim, Enrollment, TrainingClass
from models.claims import CLAIM_STATES, SUBSIDY_TYPES

routes = web.RouteTableDef()


# -- submit -----------------------------------------------------------------


def _may_submit(principal: Principal) -> Any:
    def check(klass: TrainingClass) -> bool:
        return principal.covers(region_code=klass.region_code, institution_id=klass.institution_id)

    return check


async def _submit(staff: Staff, items: list[NewClaim], on: date | None) -> web.Response:
    principal, services = staff.principal, staff.services
    today = services.clock.today()
    async with services.db.session() as db:
        try:
            done: list[Submitted] = await submit_claims(
                db, services, items, actor=principal.actor, may_submit=_may_submit(principal), on=on
            )
        except BatchError as exc:
            raise batch_error(services, exc) from None
        late = [s for s in done if s.late]
        await audit(
            db,
            principal.actor,
            "submit_claims",
            "claim",
            None,
            claim_ids=[s.claim.id for s in done],
            late=[s.claim.id for s in late],
        )
        payload = await claims_json(db, [s.claim for s in done], today)
    for item, sub in zip(payload, done, strict=True):
        item["submission_deadline"] = sub.submission_deadline.isoformat()
        item["submission_deadline_certain"] = sub.deadline_certain
        item["late"] = sub.late
    return web.json_response({"claims": payload}, status=201)


@routes.post("/api/v1/admin/claims")
@staff_api
async def submit(request: web.Request, staff: Staff) -> web.StreamResponse:
    """Submit claims listed one by one (any trainees, any classes in scope)."""
    services = staff.services
    body = await read_json(request)
    raw = body.get("claims")
    max_batch = get_claims_config().max_batch
    if not isinstance(raw, list) or not raw:
        raise invalid(services, "claims", "应为非空列表")
    if len(raw) > max_batch:
        raise err(services, 400, "too_many", max=max_batch)
    items = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise invalid(services, f"claims[{i}]", "应为对象")
        subsidy_type = entry.get("subsidy_type")
        if not isinstance(subsidy_type, str):
            raise invalid(services, f"claims[{i}].subsidy_type", "、".join(SUBSIDY_TYPES))
        items.append(
            NewClaim(
                trainee_id=int_field(services, entry.get("trainee_id"), f"claims[{i}].trainee_id") or 0,
                class_id=int_field(services, entry.get("class_id"), f"claims[{i}].class_id") or 0,
                subsidy_type=subsidy_type,
                amount=amount_field(services, entry.get("amount"), f"claims[{i}].amount"),
            )
        )
    return await _submit(staff, items, date_field(services, body.get("on"), "on"))


@routes.post(f"/api/v1/admin/classes/{ID}/claims")
@staff_api
async def submit_class(request: web.Request, staff: Staff) -> web.StreamResponse:
    """Submit one subsidy type for a whole class: every enrolled trainee, or those listed."""
    principal, services = staff.principal, staff.services
    class_id = int(request.match_info["id"])
    body = await read_json(request)
    subsidy_type = body.get("subsidy_type")
    if not isinstance(subsidy_type, str) or subsidy_type not in SUBSIDY_TYPES:
        raise invalid(services, "subsidy_type", "、".join(SUBSIDY_TYPES))
    raw_ids = body.get("trainee_ids")
    raw_amounts = body.get("amounts") or {}
    if not isinstance(raw_amounts, dict):
        raise invalid(services, "amounts", "应为 {学员编号: 金额} 对象")
    amounts: dict[int, Decimal | None] = {}
    for key, value in raw_amounts.items():
        if not DIGITS.match(str(key)):
            raise invalid(services, "amounts", "键应为学员编号")
        amounts[int(key)] = amount_field(services, value, f"amounts.{key}")
    async with services.db.session() as db:
        klass = await db.get(TrainingClass, class_id)
        if klass is None or not principal.covers(
            region_code=klass.region_code, institution_id=klass.institution_id
        ):
            raise err(services, 404, "class_not_found", class_id=class_id)
        if raw_ids is None:
            trainee_ids = list(
                (
                    await db.execute(
                        select(Enrollment.trainee_id)
                        .where(Enrollment.class_id == class_id, Enrollment.status != "withdrawn")
                        .order_by(Enrollment.trainee_id)
                    )
                ).scalars()
            )
        else:
            if not isinstance(raw_ids, list) or not raw_ids:
                raise invalid(services, "trainee_ids", "应为非空列表")
            trainee_ids = [int_field(services, v, "trainee_ids") or 0 for v in raw_ids]
    if not trainee_ids:
        raise err(services, 409, "no_claims")
    if len(trainee_ids) > get_claims_config().max_batch:
        raise err(services, 400, "too_many", max=get_claims_config().max_batch)
    items = [NewClaim(tid, class_id, subsidy_type, amounts.get(tid)) for tid in trainee_ids]
    return await _submit(staff, items, date_field(services, body.get("on"), "on"))


# -- read -------------------------------------------------------------------


@routes.get("/api/v1/admin/claims")
@staff_api
async def list_claims(request: web.Request, staff: Staff) -> web.StreamResponse:
    """Claims in scope, overdue steps first, then by due date."""
    services = staff.services
    limit, offset = paging(request)
    query = of_class(
        services,
        request,
        select(Claim)
        .join(TrainingClass, TrainingClass.id == Claim.class_id)
        .where(claim_scope(staff.principal)),
    )
    trainee_id = query_int(services, request, "trainee_id")
    state = query_choice(services, request, "state", CLAIM_STATES)
    subsidy_type = query_choice(services, request, "subsidy_type", SUBSIDY_TYPES)
    overdue = query_choice(services, request, "overdue", ("true", "false"))
    today = services.clock.today()
    if trainee_id is not None:
        query = query.where(Claim.trainee_id == trainee_id)
    if state is not None:
        query = query.where(Claim.state == state)
    if subsidy_type is not None:
        query = query.where(Claim.subsidy_type == subsidy_type)
    is_overdue = overdue_clause(today)
    if overdue == "true":
        query = query.where(is_overdue)
    elif overdue == "false":
        query = query.where(~is_overdue)
    query = query.order_by(is_overdue.desc(), Claim.due_on.is_(None), Claim.due_on, Claim.id)
    async with services.db.session() as db:
        claims = list((await db.execute(query.limit(limit).offset(offset))).scalars())
        payload = await claims_json(db, claims, today)
    return web.json_response({"claims": payload})


@routes.get(f"/api/v1/admin/claims/{ID}")
@staff_api
async def get_claim(request: web.Request, staff: Staff) -> web.StreamResponse:
    services = staff.services
    async with services.db.session() as db:
        claim = await visible_claim(db, services, staff.principal, int(request.match_info["id"]))
        payload = await add_events(db, services, (await claims_json(db, [claim], services.clock.today()))[0])
    return web.json_response(payload)
