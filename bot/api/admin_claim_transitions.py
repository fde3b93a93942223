"""Staff API moving claims through the state machine of `bot.claims.states`, one or
many at once; a batch is all-or-nothing and answers with a per-claim report."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.api.claim_fields import ID, amount_field, date_field, err, int_field, invalid, text_field
from bot.api.claims_json import add_events, batch_error, claim_error, claims_json, visible_claim
from bot.audit import audit
from bot.claims.config import get_claims_config
from bot.claims.lifecycle import transition_claims
from bot.claims.states import BatchError
from bot.http import read_json
from bot.services import Services
from bot.staff.http import Staff, staff_api
from bot.staff.scope import claim_scope
from models import Claim
from models.claims import CLAIM_STATES, SUBSIDY_TYPES

routes = web.RouteTableDef()


def _transition_args(services: Services, body: dict[str, Any]) -> dict[str, Any]:
    to = body.get("to")
    if not isinstance(to, str) or to not in CLAIM_STATES:
        raise invalid(services, "to", "可选值：" + "、".join(CLAIM_STATES))
    return {
        "to": to,
        "on": date_field(services, body.get("on"), "on"),
        "note": text_field(services, body.get("note"), "note"),
        "reason": text_field(services, body.get("reason"), "reason"),
        "amount": amount_field(services, body.get("amount"), "amount"),
    }


async def _transition(
    db: AsyncSession, staff: Staff, claims: list[Claim], args: dict[str, Any]
) -> list[dict[str, Any]]:
    principal, services = staff.principal, staff.services
    to = args.pop("to")
    events = await transition_claims(
        db, services, claims, to, actor=principal.actor, operator=principal.is_operator, **args
    )
    await audit(
        db,
        principal.actor,
        "claim_transition",
        "claim",
        claims[0].id if len(claims) == 1 else None,
        to=to,
        claim_ids=[c.id for c in claims],
        on=events[0].on_date.isoformat() if events else None,
    )
    return await claims_json(db, claims, services.clock.today())


@routes.post(f"/api/v1/admin/claims/{ID}/transitions")
@staff_api
async def transition_one(request: web.Request, staff: Staff) -> web.StreamResponse:
    services = staff.services
    args = _transition_args(services, await read_json(request))
    async with services.db.session() as db:
        claim = await visible_claim(db, services, staff.principal, int(request.match_info["id"]))
        try:
            payload = (await _transition(db, staff, [claim], args))[0]
        except BatchError as exc:
            error = exc.results[0].error
            assert error is not None
            raise claim_error(services, error) from None
        payload = await add_events(db, services, payload)
    return web.json_response(payload)


async def _claims_of_class(
    db: AsyncSession, staff: Staff, class_id: int, body: dict[str, Any]
) -> list[Claim]:
    """A class's claims in scope, optionally of one subsidy type and state, locked in id order."""
    services = staff.services
    subsidy_type = body.get("subsidy_type")
    state = body.get("state")
    if subsidy_type is not None and subsidy_type not in SUBSIDY_TYPES:
        raise invalid(services, "subsidy_type", "、".join(SUBSIDY_TYPES))
    if state is not None and state not in CLAIM_STATES:
        raise invalid(services, "state", "、".join(CLAIM_STATES))
    query = select(Claim).where(Claim.class_id == class_id, claim_scope(staff.principal))
    if subsidy_type is not None:
        query = query.where(Claim.subsidy_type == subsidy_type)
    if state is not None:
        query = query.where(Claim.state == state)
    claims = list((await db.execute(query.order_by(Claim.id).with_for_update())).scalars())
    if not claims:
        raise err(services, 404, "no_claims")
    max_batch = get_claims_config().max_batch
    if len(claims) > max_batch:
        raise err(services, 400, "too_many", max=max_batch)
    return claims


async def _listed_claims(db: AsyncSession, staff: Staff, raw_ids: Any) -> list[Claim]:
    """The claims named by `claim_ids`, in that order, locked; any unknown one is a 404."""
    services = staff.services
    max_batch = get_claims_config().max_batch
    if not isinstance(raw_ids, list) or not raw_ids:
        raise invalid(services, "claim_ids", "应为非空列表")
    if len(raw_ids) > max_batch:
        raise err(services, 400, "too_many", max=max_batch)
    ids = [int_field(services, v, "claim_ids") or 0 for v in raw_ids]
    if len(set(ids)) != len(ids):
        raise invalid(services, "claim_ids", "有重复的编号")
    found = {
        c.id: c
        for c in (
            await db.execute(
                select(Claim).where(Claim.id.in_(ids), claim_scope(staff.principal)).with_for_update()
            )
        ).scalars()
    }
    missing = [i for i in ids if i not in found]
    if missing:
        raise err(services, 404, "claim_not_found", claim_id="、".join(map(str, missing)))
    return [found[i] for i in ids]


@routes.post("/api/v1/admin/claims/transitions")
@staff_api
async def transition_many(request: web.Request, staff: Staff) -> web.StreamResponse:
    """Move many claims at once: by `claim_ids`, or a class's claims (`class_id`, optional
    `subsidy_type` and `state`). All or nothing."""
    services = staff.services
    body = await read_json(request)
    args = _transition_args(services, body)
    raw_ids = body.get("claim_ids")
    class_id = int_field(services, body.get("class_id"), "class_id", required=False)
    if (raw_ids is None) == (class_id is None):
        raise invalid(services, "claim_ids", "请给出 claim_ids 或 class_id 之一")
    async with services.db.session() as db:
        if raw_ids is not None:
            claims = await _listed_claims(db, staff, raw_ids)
        else:
            claims = await _claims_of_class(db, staff, class_id or 0, body)
        try:
            payload = await _transition(db, staff, claims, args)
        except BatchError as exc:
            raise batch_error(services, exc) from None
    return web.json_response({"claims": payload})
