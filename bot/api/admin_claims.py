"""Staff API of subsidy claims, bind codes and rectification letters.

Claims: submit (one, many, or a whole class) and move them through the
state machine of `bot.claims.lifecycle`, one or many at once — batches are
all-or-nothing and answer with a per-claim report. The publicity list of
第十七条 comes out as CSV (UTF-8 with BOM for Excel) with ID numbers masked.

Scope follows `bot.staff.scope`: a claim belongs to its class, so the bureau
where the class ran and the class's institution see it; an institution
operator may submit and resubmit its own claims but never review, publicise
or pay them.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.audit import audit
from bot.auth import Principal, authenticate
from bot.binding.service import issue_code
from bot.claims.config import get_claims_config
from bot.claims.formatting import article_of, subsidy_name
from bot.claims.lifecycle import (
    TRANSITIONS,
    BatchError,
    ClaimError,
    NewClaim,
    Submitted,
    outlook,
    overdue_clause,
    parse_amount,
    submit_claims,
    transition_claims,
)
from bot.errors import ApiError
from bot.http import read_json
from bot.services import Services
from bot.staff.http import paging
from bot.staff.scope import claim_scope, institution_scope, trainee_scope
from models import (
    Claim,
    ClaimEvent,
    Enrollment,
    Institution,
    Rectification,
    StaffAccount,
    Trainee,
    TrainingClass,
)
from models.binding import BIND_CODE_KINDS
from models.claims import CLAIM_STATES, SUBSIDY_TYPES

routes = web.RouteTableDef()

ID = r"{id:\d{1,9}}"
MAX_TEXT = 2000
_DIGITS = re.compile(r"^[0-9]{1,10}$")


# -- request helpers --------------------------------------------------------


def _err(services: Services, status: int, code: str, **fmt: Any) -> ApiError:
    return ApiError(status, code, services.texts.get(f"claims.api.{code}", **fmt))


def _invalid(services: Services, field: str, detail: str) -> ApiError:
    return _err(services, 400, "invalid_field", field=field, detail=detail)


def _int(services: Services, value: Any, field: str, *, required: bool = True) -> int | None:
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2**31 - 1:
        raise _invalid(services, field, "应为正整数")
    return value


def _date(services: Services, value: Any, field: str) -> date | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _invalid(services, field, "应为 YYYY-MM-DD 格式的日期")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _invalid(services, field, "应为 YYYY-MM-DD 格式的日期") from None


def _text(services: Services, value: Any, field: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise _invalid(services, field, f"应为不超过{MAX_TEXT}字的文字")
    return value.strip() or None


def _amount(services: Services, value: Any, field: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return parse_amount(value)
    except ValueError:
        raise _invalid(services, field, "应为不小于0、最多两位小数的金额") from None


def _query_int(services: Services, request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if not _DIGITS.match(raw) or not 1 <= int(raw) <= 2**31 - 1:
        raise _invalid(services, name, "应为正整数")
    return int(raw)


def _query_choice(
    services: Services, request: web.Request, name: str, allowed: tuple[str, ...]
) -> str | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if raw not in allowed:
        raise _invalid(services, name, "可选值：" + "、".join(allowed))
    return raw


def _claim_error(services: Services, exc: ClaimError) -> ApiError:
    return _err(services, exc.status, exc.code, **exc.fmt)


def _batch_error(services: Services, exc: BatchError) -> ApiError:
    failed = [r for r in exc.results if r.error is not None]
    statuses = [r.error.status for r in failed if r.error is not None]
    status = 409 if 409 in statuses else statuses[0]
    results = []
    for r in exc.results:
        item: dict[str, Any] = {"index": r.index, **r.ref, "ok": r.error is None}
        if r.error is not None:
            item["error"] = {
                "status": r.error.status,
                "code": r.error.code,
                "message": services.texts.get(f"claims.api.{r.error.code}", **r.error.fmt),
            }
        results.append(item)
    return ApiError(
        status,
        "batch_failed",
        services.texts.get("claims.api.batch_failed", failed=len(failed)),
        results=results,
    )


# -- claim JSON -------------------------------------------------------------


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def claim_json(claim: Claim, klass: TrainingClass, trainee: Trainee, today: date) -> dict[str, Any]:
    look = outlook(claim, today)
    due = look.due
    return {
        "id": claim.id,
        "trainee_id": trainee.id,
        "trainee_name": trainee.name,
        "id_card_masked": trainee.id_card_masked,
        "class_id": klass.id,
        "class_code": klass.code,
        "class_name": klass.name,
        "institution_id": klass.institution_id,
        "region_code": klass.region_code,
        "subsidy_type": claim.subsidy_type,
        "subsidy_name": subsidy_name(claim.subsidy_type),
        "state": claim.state,
        "state_since": _iso(claim.state_since),
        "submitted_on": _iso(claim.submitted_on),
        "amount": None if claim.amount is None else f"{claim.amount:.2f}",
        "reason": claim.reason,
        "due_on": _iso(claim.due_on),
        "due_event": due.event,
        "due_article": article_of(due.event) if due.event else None,
        "calendar_certain": claim.due_certain,
        "overdue": look.overdue,
        "payment_due_by": _iso(look.payment_by),
        "payment_due_certain": look.payment_certain,
        "approved_on": _iso(claim.approved_on),
        "publicity_start": _iso(claim.publicity_start),
        "publicity_end": _iso(claim.publicity_end),
        "payment_from": _iso(claim.payment_from),
        "paid_on": _iso(claim.paid_on),
        "allowed_transitions": list(TRANSITIONS[claim.state]),
    }


def event_json(event: ClaimEvent, tz: Any) -> dict[str, Any]:
    return {
        "from": event.from_state,
        "to": event.to_state,
        "on": event.on_date.isoformat(),
        "actor": event.actor,
        "note": event.note,
        "due_on": _iso(event.due_on),
        "calendar_certain": event.due_certain,
        "at": event.created_at.astimezone(tz).isoformat(),
    }


async def _claims_json(db: AsyncSession, claims: list[Claim], today: date) -> list[dict[str, Any]]:
    if not claims:
        return []
    classes = {
        k.id: k
        for k in (
            await db.execute(select(TrainingClass).where(TrainingClass.id.in_({c.class_id for c in claims})))
        ).scalars()
    }
    trainees = {
        t.id: t
        for t in (
            await db.execute(select(Trainee).where(Trainee.id.in_({c.trainee_id for c in claims})))
        ).scalars()
    }
    return [claim_json(c, classes[c.class_id], trainees[c.trainee_id], today) for c in claims]


# -- submit -----------------------------------------------------------------


def _may_submit(principal: Principal) -> Any:
    def check(klass: TrainingClass) -> bool:
        return principal.covers(region_code=klass.region_code, institution_id=klass.institution_id)

    return check


async def _submit(
    request: web.Request, principal: Principal, items: list[NewClaim], on: date | None
) -> web.Response:
    services: Services = request.app["services"]
    today = services.clock.today()
    async with services.db.session() as db:
        try:
            done: list[Submitted] = await submit_claims(
                db, services, items, actor=principal.actor, may_submit=_may_submit(principal), on=on
            )
        except BatchError as exc:
            raise _batch_error(services, exc) from None
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
        payload = await _claims_json(db, [s.claim for s in done], today)
    for item, sub in zip(payload, done, strict=True):
        item["submission_deadline"] = sub.submission_deadline.isoformat()
        item["submission_deadline_certain"] = sub.deadline_certain
        item["late"] = sub.late
    return web.json_response({"claims": payload}, status=201)


@routes.post("/api/v1/admin/claims")
async def submit(request: web.Request) -> web.Response:
    """Submit claims listed one by one (any trainees, any classes in scope)."""
    principal = await authenticate(request)
    services: Services = request.app["services"]
    body = await read_json(request)
    raw = body.get("claims")
    max_batch = get_claims_config().max_batch
    if not isinstance(raw, list) or not raw:
        raise _invalid(services, "claims", "应为非空列表")
    if len(raw) > max_batch:
        raise _err(services, 400, "too_many", max=max_batch)
    items = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise _invalid(services, f"claims[{i}]", "应为对象")
        subsidy_type = entry.get("subsidy_type")
        if not isinstance(subsidy_type, str):
            raise _invalid(services, f"claims[{i}].subsidy_type", "、".join(SUBSIDY_TYPES))
        items.append(
            NewClaim(
                trainee_id=_int(services, entry.get("trainee_id"), f"claims[{i}].trainee_id") or 0,
                class_id=_int(services, entry.get("class_id"), f"claims[{i}].class_id") or 0,
                subsidy_type=subsidy_type,
                amount=_amount(services, entry.get("amount"), f"claims[{i}].amount"),
            )
        )
    return await _submit(request, principal, items, _date(services, body.get("on"), "on"))


@routes.post(f"/api/v1/admin/classes/{ID}/claims")
async def submit_class(request: web.Request) -> web.Response:
    """Submit one subsidy type for a whole class: every enrolled trainee, or those listed."""
    principal = await authenticate(request)
    services: Services = request.app["services"]
    class_id = int(request.match_info["id"])
    body = await read_json(request)
    subsidy_type = body.get("subsidy_type")
    if not isinstance(subsidy_type, str) or subsidy_type not in SUBSIDY_TYPES:
        raise _invalid(services, "subsidy_type", "、".join(SUBSIDY_TYPES))
    raw_ids = body.get("trainee_ids")
    raw_amounts = body.get("amounts") or {}
    if not isinstance(raw_amounts, dict):
        raise _invalid(services, "amounts", "应为 {学员编号: 金额} 对象")
    amounts: dict[int, Decimal | None] = {}
    for key, value in raw_amounts.items():
        if not _DIGITS.match(str(key)):
            raise _invalid(services, "amounts", "键应为学员编号")
        amounts[int(key)] = _amount(services, value, f"amounts.{key}")
    async with services.db.session() as db:
        klass = await db.get(TrainingClass, class_id)
        if klass is None or not principal.covers(
            region_code=klass.region_code, institution_id=klass.institution_id
        ):
            raise _err(services, 404, "class_not_found", class_id=class_id)
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
                raise _invalid(services, "trainee_ids", "应为非空列表")
            trainee_ids = [_int(services, v, "trainee_ids") or 0 for v in raw_ids]
    if not trainee_ids:
        raise _err(services, 409, "no_claims")
    if len(trainee_ids) > get_claims_config().max_batch:
        raise _err(services, 400, "too_many", max=get_claims_config().max_batch)
    items = [NewClaim(tid, class_id, subsidy_type, amounts.get(tid)) for tid in trainee_ids]
    return await _submit(request, principal, items, _date(services, body.get("on"), "on"))


# -- read -------------------------------------------------------------------


async def _visible_claim(db: AsyncSession, services: Services, principal: Principal, claim_id: int) -> Claim:
    claim = (
        await db.execute(select(Claim).where(Claim.id == claim_id, claim_scope(principal)).with_for_update())
    ).scalar_one_or_none()
    if claim is None:
        raise _err(services, 404, "claim_not_found", claim_id=claim_id)
    return claim


@routes.get("/api/v1/admin/claims")
async def list_claims(request: web.Request) -> web.Response:
    """Claims in scope, overdue steps first, then by due date."""
    principal = await authenticate(request)
    services: Services = request.app["services"]
    limit, offset = paging(request)
    class_id = _query_int(services, request, "class_id")
    institution_id = _query_int(services, request, "institution_id")
    trainee_id = _query_int(services, request, "trainee_id")
    state = _query_choice(services, request, "state", CLAIM_STATES)
    subsidy_type = _query_choice(services, request, "subsidy_type", SUBSIDY_TYPES)
    overdue = _query_choice(services, request, "overdue", ("true", "false"))
    today = services.clock.today()
    query = (
        select(Claim).join(TrainingClass, TrainingClass.id == Claim.class_id).where(claim_scope(principal))
    )
    if class_id is not None:
        query = query.where(Claim.class_id == class_id)
    if institution_id is not None:
        query = query.where(TrainingClass.institution_id == institution_id)
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
        payload = await _claims_json(db, claims, today)
    return web.json_response({"claims": payload})


@routes.get(f"/api/v1/admin/claims/{ID}")
async def get_claim(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    services: Services = request.app["services"]
    async with services.db.session() as db:
        claim = await _visible_claim(db, services, principal, int(request.match_info["id"]))
        payload = (await _claims_json(db, [claim], services.clock.today()))[0]
        events = (
            await db.execute(
                select(ClaimEvent).where(ClaimEvent.claim_id == claim.id).order_by(ClaimEvent.id)
            )
        ).scalars()
        payload["events"] = [event_json(e, services.clock.tz) for e in events]
    return web.json_response(payload)


# -- transitions -------------------------------------------------------------


def _transition_args(services: Services, body: dict[str, Any]) -> dict[str, Any]:
    to = body.get("to")
    if not isinstance(to, str) or to not in CLAIM_STATES:
        raise _invalid(services, "to", "可选值：" + "、".join(CLAIM_STATES))
    return {
        "to": to,
        "on": _date(services, body.get("on"), "on"),
        "note": _text(services, body.get("note"), "note"),
        "reason": _text(services, body.get("reason"), "reason"),
        "amount": _amount(services, body.get("amount"), "amount"),
    }


async def _transition(
    db: AsyncSession, services: Services, principal: Principal, claims: list[Claim], args: dict[str, Any]
) -> list[dict[str, Any]]:
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
    return await _claims_json(db, claims, services.clock.today())


@routes.post(f"/api/v1/admin/claims/{ID}/transitions")
async def transition_one(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    services: Services = request.app["services"]
    args = _transition_args(services, await read_json(request))
    async with services.db.session() as db:
        claim = await _visible_claim(db, services, principal, int(request.match_info["id"]))
        try:
            payload = (await _transition(db, services, principal, [claim], args))[0]
        except BatchError as exc:
            error = exc.results[0].error
            assert error is not None
            raise _claim_error(services, error) from None
        events = (
            await db.execute(
                select(ClaimEvent).where(ClaimEvent.claim_id == claim.id).order_by(ClaimEvent.id)
            )
        ).scalars()
        payload["events"] = [event_json(e, services.clock.tz) for e in events]
    return web.json_response(payload)


@routes.post("/api/v1/admin/claims/transitions")
async def transition_many(request: web.Request) -> web.Response:
    """Move many claims at once: by `claim_ids`, or a class's claims (`class_id`, optional
    `subsidy_type` and `state`). All or nothing."""
    principal = await authenticate(request)
    services: Services = request.app["services"]
    body = await read_json(request)
    args = _transition_args(services, body)
    max_batch = get_claims_config().max_batch
    raw_ids = body.get("claim_ids")
    class_id = _int(services, body.get("class_id"), "class_id", required=False)
    if (raw_ids is None) == (class_id is None):
        raise _invalid(services, "claim_ids", "请给出 claim_ids 或 class_id 之一")
    async with services.db.session() as db:
        if raw_ids is not None:
            if not isinstance(raw_ids, list) or not raw_ids:
                raise _invalid(services, "claim_ids", "应为非空列表")
            if len(raw_ids) > max_batch:
                raise _err(services, 400, "too_many", max=max_batch)
            ids = [_int(services, v, "claim_ids") or 0 for v in raw_ids]
            if len(set(ids)) != len(ids):
                raise _invalid(services, "claim_ids", "有重复的编号")
            found = {
                c.id: c
                for c in (
                    await db.execute(
                        select(Claim).where(Claim.id.in_(ids), claim_scope(principal)).with_for_update()
                    )
                ).scalars()
            }
            missing = [i for i in ids if i not in found]
            if missing:
                raise _err(services, 404, "claim_not_found", claim_id="、".join(map(str, missing)))
            claims = [found[i] for i in ids]
        else:
            subsidy_type = body.get("subsidy_type")
            state = body.get("state")
            if subsidy_type is not None and subsidy_type not in SUBSIDY_TYPES:
                raise _invalid(services, "subsidy_type", "、".join(SUBSIDY_TYPES))
            if state is not None and state not in CLAIM_STATES:
                raise _invalid(services, "state", "、".join(CLAIM_STATES))
            query = select(Claim).where(Claim.class_id == class_id, claim_scope(principal))
            if subsidy_type is not None:
                query = query.where(Claim.subsidy_type == subsidy_type)
            if state is not None:
                query = query.where(Claim.state == state)
            claims = list((await db.execute(query.order_by(Claim.id).with_for_update())).scalars())
            if not claims:
                raise _err(services, 404, "no_claims")
            if len(claims) > max_batch:
                raise _err(services, 400, "too_many", max=max_batch)
        try:
            payload = await _transition(db, services, principal, claims, args)
        except BatchError as exc:
            raise _batch_error(services, exc) from None
    return web.json_response({"claims": payload})


# -- publicity list ------------------------------------------------------------


@routes.get("/api/v1/admin/claims/publicity.csv")
async def publicity_csv(request: web.Request) -> web.StreamResponse:
    """The publicity list of 第十七条: approved and publicised claims, ID numbers masked."""
    principal = await authenticate(request)
    services: Services = request.app["services"]
    class_id = _query_int(services, request, "class_id")
    institution_id = _query_int(services, request, "institution_id")
    subsidy_type = _query_choice(services, request, "subsidy_type", SUBSIDY_TYPES)
    states = ("approved", "in_publicity")
    state = _query_choice(services, request, "state", states)
    query = (
        select(Claim, Trainee, TrainingClass, Institution)
        .join(Trainee, Trainee.id == Claim.trainee_id)
        .join(TrainingClass, TrainingClass.id == Claim.class_id)
        .join(Institution, Institution.id == TrainingClass.institution_id)
        .where(claim_scope(principal), Claim.state.in_([state] if state else states))
        .order_by(Institution.id, TrainingClass.id, Claim.subsidy_type, Trainee.id)
    )
    if class_id is not None:
        query = query.where(Claim.class_id == class_id)
    if institution_id is not None:
        query = query.where(TrainingClass.institution_id == institution_id)
    if subsidy_type is not None:
        query = query.where(Claim.subsidy_type == subsidy_type)
    lines = get_claims_config().complaint_lines
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(services.texts.raw("claims.publicity_columns"))
    async with services.db.session() as db:
        rows = (await db.execute(query)).all()
    for n, (claim, trainee, klass, inst) in enumerate(rows, 1):
        occupation = klass.occupation + (f"（{klass.level}）" if klass.level else "")
        writer.writerow(
            [
                n,
                inst.name,
                trainee.name,
                trainee.id_card_masked,
                subsidy_name(claim.subsidy_type),
                occupation,
                "" if claim.amount is None else f"{claim.amount:.2f}",
                lines.for_region(klass.region_code),
                # 补贴标准 (第十七条): set locally per fund source (第十八条) and not kept by
                # the bot; the column is there for the bureau to fill before publishing.
                "",
            ]
        )
    body = ("\ufeff" + out.getvalue()).encode("utf-8")
    name = f"publicity-{services.clock.today().isoformat()}.csv"
    return web.Response(
        body=body,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# -- bind codes ----------------------------------------------------------------


@routes.post("/api/v1/admin/bind-codes")
async def create_bind_code(request: web.Request) -> web.Response:
    """A one-time code a trainee, an institution contact or a staff member types to bind a chat."""
    principal = await authenticate(request)
    services: Services = request.app["services"]
    body = await read_json(request)
    kind = body.get("kind")
    if not isinstance(kind, str) or kind not in BIND_CODE_KINDS:
        raise _invalid(services, "kind", "、".join(BIND_CODE_KINDS))
    now = services.clock.now()
    targets: dict[str, int | None] = {}
    async with services.db.session() as db:
        if kind == "trainee":
            trainee_id = _int(services, body.get("trainee_id"), "trainee_id")
            found = (
                await db.execute(select(Trainee.id).where(Trainee.id == trainee_id, trainee_scope(principal)))
            ).scalar_one_or_none()
            if found is None:
                raise _err(services, 404, "trainee_not_found", trainee_id=trainee_id)
            targets["trainee_id"] = trainee_id
        elif kind == "institution":
            institution_id = _int(services, body.get("institution_id"), "institution_id")
            found = (
                await db.execute(
                    select(Institution.id).where(
                        Institution.id == institution_id, institution_scope(principal)
                    )
                )
            ).scalar_one_or_none()
            if found is None:
                raise _err(services, 404, "institution_not_found", institution_id=institution_id)
            targets["institution_id"] = institution_id
        else:
            staff_id = _int(services, body.get("staff_id"), "staff_id", required=False) or principal.staff_id
            if staff_id is None:
                raise _err(services, 400, "no_staff_account")
            if staff_id != principal.staff_id and not principal.is_province:
                raise _err(services, 403, "forbidden")
            account = await db.get(StaffAccount, staff_id)
            if account is None or account.revoked_at is not None:
                raise _err(services, 404, "staff_not_found", staff_id=staff_id)
            targets["staff_id"] = staff_id
        code, row = await issue_code(
            db, kind=kind, actor=principal.actor, now=now, key=services.settings.hash_key(), **targets
        )
    return web.json_response(
        {
            "code": code,
            "kind": kind,
            **targets,
            "expires_at": row.expires_at.astimezone(services.clock.tz).isoformat(),
            "wechat_text": f"绑定 {code}",
            "telegram_start": f"bind_{code}",
        },
        status=201,
    )


# -- rectification letters (第二十七条) ----------------------------------------


def rectification_json(row: Rectification) -> dict[str, Any]:
    return {
        "id": row.id,
        "institution_id": row.institution_id,
        "received_on": row.received_on.isoformat(),
        "due_on": row.due_on.isoformat(),
        "subject": row.subject,
        "completed_on": _iso(row.completed_on),
        "article": article_of("rectification"),
    }


@routes.post("/api/v1/admin/rectifications")
async def create_rectification(request: web.Request) -> web.Response:
    """Record a rectification letter; the institution is reminded before its one-month deadline."""
    from bot.policy.deadlines import compute_deadline

    principal = await authenticate(request)
    services: Services = request.app["services"]
    if principal.is_operator:
        raise _err(services, 403, "forbidden")
    body = await read_json(request)
    institution_id = _int(services, body.get("institution_id"), "institution_id")
    received_on = _date(services, body.get("received_on"), "received_on")
    subject = _text(services, body.get("subject"), "subject")
    if received_on is None:
        raise _invalid(services, "received_on", "必填，YYYY-MM-DD")
    if subject is None:
        raise _invalid(services, "subject", "必填：整改事项")
    if received_on > services.clock.today():
        raise _err(services, 400, "date_in_future", on=received_on.isoformat())
    async with services.db.session() as db:
        inst = (
            await db.execute(
                select(Institution).where(Institution.id == institution_id, institution_scope(principal))
            )
        ).scalar_one_or_none()
        if inst is None:
            raise _err(services, 404, "institution_not_found", institution_id=institution_id)
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
async def list_rectifications(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    services: Services = request.app["services"]
    limit, offset = paging(request)
    open_only = _query_choice(services, request, "open", ("true", "false"))
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
async def complete_rectification(request: web.Request) -> web.Response:
    principal = await authenticate(request)
    services: Services = request.app["services"]
    if principal.is_operator:
        raise _err(services, 403, "forbidden")
    body = await read_json(request)
    on = _date(services, body.get("on"), "on") or services.clock.today()
    if on > services.clock.today():
        raise _err(services, 400, "date_in_future", on=on.isoformat())
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
            raise _err(services, 404, "rectification_not_found", rectification_id=rid)
        if row.completed_on is not None:
            raise _err(services, 409, "already_completed", on=row.completed_on.isoformat())
        if on < row.received_on:
            raise _err(
                services, 409, "date_before_state", on=on.isoformat(), since=row.received_on.isoformat()
            )
        row.completed_on = on
        await audit(db, principal.actor, "complete_rectification", "rectification", row.id)
        payload = rectification_json(row)
    return web.json_response(payload)
