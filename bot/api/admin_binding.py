"""Staff API issuing bind codes: the one-time code a trainee, an institution contact or a
staff member types into a chat to bind it (the binding itself is `bot.binding`)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from bot.api.claim_fields import err, int_field, invalid
from bot.binding.service import issue_code
from bot.http import read_json
from bot.staff.http import Staff, staff_api
from bot.staff.scope import institution_scope, trainee_scope
from models import Institution, StaffAccount, Trainee
from models.binding import BIND_CODE_KINDS

routes = web.RouteTableDef()


@routes.post("/api/v1/admin/bind-codes")
@staff_api
async def create_bind_code(request: web.Request, staff: Staff) -> web.StreamResponse:
    """A one-time code a trainee, an institution contact or a staff member types to bind a chat."""
    principal, services = staff.principal, staff.services
    body = await read_json(request)
    kind = body.get("kind")
    if not isinstance(kind, str) or kind not in BIND_CODE_KINDS:
        raise invalid(services, "kind", "、".join(BIND_CODE_KINDS))
    now = services.clock.now()
    targets: dict[str, int | None] = {}
    async with services.db.session() as db:
        if kind == "trainee":
            trainee_id = int_field(services, body.get("trainee_id"), "trainee_id")
            found = (
                await db.execute(select(Trainee.id).where(Trainee.id == trainee_id, trainee_scope(principal)))
            ).scalar_one_or_none()
            if found is None:
                raise err(services, 404, "trainee_not_found", trainee_id=trainee_id)
            targets["trainee_id"] = trainee_id
        elif kind == "institution":
            institution_id = int_field(services, body.get("institution_id"), "institution_id")
            found = (
                await db.execute(
                    select(Institution.id).where(
                        Institution.id == institution_id, institution_scope(principal)
                    )
                )
            ).scalar_one_or_none()
            if found is None:
                raise err(services, 404, "institution_not_found", institution_id=institution_id)
            targets["institution_id"] = institution_id
        else:
            staff_id = (
                int_field(services, body.get("staff_id"), "staff_id", required=False) or principal.staff_id
            )
            if staff_id is None:
                raise err(services, 400, "no_staff_account")
            if staff_id != principal.staff_id and not principal.is_province:
                raise err(services, 403, "forbidden")
            account = await db.get(StaffAccount, staff_id)
            if account is None or account.revoked_at is not None:
                raise err(services, 404, "staff_not_found", staff_id=staff_id)
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
