"""The publicity list of 第十七条 as CSV (UTF-8 with BOM for Excel), ID numbers masked.

Operators see their own institution's list; bureaus the classes run in their region.
"""

from __future__ import annotations

import io

from aiohttp import web
from sqlalchemy import select

from bot.api.claim_fields import of_class, query_choice
from bot.claims.config import get_claims_config
from bot.claims.formatting import subsidy_name
from bot.csv_safe import SafeWriter
from bot.staff.http import Staff, staff_api
from bot.staff.scope import claim_scope
from models import Claim, Institution, Trainee, TrainingClass
from models.claims import SUBSIDY_TYPES

routes = web.RouteTableDef()


@routes.get("/api/v1/admin/claims/publicity.csv")
@staff_api
async def publicity_csv(request: web.Request, staff: Staff) -> web.StreamResponse:
    """The publicity list of 第十七条: approved and publicised claims, ID numbers masked."""
    services = staff.services
    query = of_class(
        services,
        request,
        select(Claim, Trainee, TrainingClass, Institution)
        .join(Trainee, Trainee.id == Claim.trainee_id)
        .join(TrainingClass, TrainingClass.id == Claim.class_id)
        .join(Institution, Institution.id == TrainingClass.institution_id)
        .where(claim_scope(staff.principal))
        .order_by(Institution.id, TrainingClass.id, Claim.subsidy_type, Trainee.id),
    )
    subsidy_type = query_choice(services, request, "subsidy_type", SUBSIDY_TYPES)
    states = ("approved", "in_publicity")
    state = query_choice(services, request, "state", states)
    query = query.where(Claim.state.in_([state] if state else states))
    if subsidy_type is not None:
        query = query.where(Claim.subsidy_type == subsidy_type)
    lines = get_claims_config().complaint_lines
    out = io.StringIO()
    writer = SafeWriter(out, lineterminator="\r\n")  # names from imports: no formulas
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
