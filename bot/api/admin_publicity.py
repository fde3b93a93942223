"""The publicity list of 第十七条 as CSV (UTF-8 with BOM for Excel) or .xlsx, ID numbers masked.

Cells are formula-safe (`bot.api.spreadsheets`): a name typed as "=..." stays text.

Operators see their own institution's list; bureaus the classes run in their region.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from bot.api.claim_fields import of_class, query_choice
from bot.api.spreadsheets import download
from bot.claims.config import get_claims_config
from bot.claims.formatting import subsidy_name
from bot.staff.http import Staff, staff_api
from bot.staff.scope import claim_scope
from models import Claim, Institution, Trainee, TrainingClass
from models.claims import SUBSIDY_TYPES

routes = web.RouteTableDef()


@routes.get("/api/v1/admin/claims/publicity.csv")
@staff_api
async def publicity_csv(request: web.Request, staff: Staff) -> web.StreamResponse:
    """The publicity list of 第十七条: approved and publicised claims, ID numbers masked."""
    return await publicity_download(request, staff, "csv")


@routes.get("/api/v1/admin/claims/publicity.xlsx")
@staff_api
async def publicity_xlsx(request: web.Request, staff: Staff) -> web.StreamResponse:
    """The same list as an Excel workbook."""
    return await publicity_download(request, staff, "xlsx")


async def publicity_download(request: web.Request, staff: Staff, fmt: str) -> web.Response:
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
    texts = services.texts
    header = [*texts.raw("claims.publicity_columns"), texts.get("claims.publicity_standard_column")]
    standards = texts.raw("claims.publicity_standards")
    async with services.db.session() as db:
        rows = (await db.execute(query)).all()
    table = []
    for n, (claim, trainee, klass, inst) in enumerate(rows, 1):
        occupation = klass.occupation + (f"（{klass.level}）" if klass.level else "")
        table.append(
            [
                n,
                inst.name,
                trainee.name,
                trainee.id_card_masked,
                subsidy_name(claim.subsidy_type),
                occupation,
                "" if claim.amount is None else f"{claim.amount:.2f}",
                lines.for_region(klass.region_code),
                standards[claim.subsidy_type],
            ]
        )
    today = services.clock.today().isoformat()
    return download(fmt, f"publicity-{today}", texts.get("claims.publicity_title"), header, table)
