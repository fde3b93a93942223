"""The console's overview: what needs doing in the caller's scope, the latest notices, and two pictures.

The pictures are open claims by stage (the overdue part in red) and the
overdue steps per county (the class's region code, where the reviewing
bureau sits), both cut to the caller's scope like the board they link to.
Counties are named as staff say them (`bot.places`): with their city for
whoever looks across cities (长春市南关区), alone within one's own city (南关区).
"""

from __future__ import annotations

from datetime import date

from aiohttp import web
from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.auth import Principal
from bot.broadcasts import sending as svc
from bot.console.charts import stacked_bars
from bot.console.page import Page, console_page, labels_of
from bot.places import PROVINCE_CODE, parent, region_name, short_name
from bot.staff import queries
from bot.staff.scope import claim_scope
from models import Claim, TrainingClass
from models.claims import CLAIM_STATES

routes = web.RouteTableDef()


async def claims_by_stage(db: AsyncSession, principal: Principal, today: date) -> list[tuple[str, int, int]]:
    """(state, on time, overdue) for every open state, in the order claims move."""
    rows = await db.execute(
        select(Claim.state, func.count(Claim.id), func.count(Claim.id).filter(Claim.due_on < today))
        .where(claim_scope(principal), Claim.state.not_in(queries.FINAL_CLAIM_STATES))
        .group_by(Claim.state)
    )
    counts = {state: (int(n), int(late or 0)) for state, n, late in rows}
    return [(s, counts[s][0] - counts[s][1], counts[s][1]) for s in CLAIM_STATES if s in counts]


async def overdue_by_county(db: AsyncSession, principal: Principal, today: date) -> list[tuple[str, int]]:
    rows = await db.execute(
        select(TrainingClass.region_code, func.count(Claim.id))
        .join(TrainingClass, TrainingClass.id == Claim.class_id)
        .where(claim_scope(principal), Claim.state.not_in(queries.FINAL_CLAIM_STATES), Claim.due_on < today)
        .group_by(TrainingClass.region_code)
        .order_by(func.count(Claim.id).desc(), TrainingClass.region_code)
    )
    return [(region, int(n)) for region, n in rows]


def county_label(code: str, principal: Principal) -> str:
    """The county's name, its city's short name first unless the caller works inside that city."""
    name = region_name(code)
    if name is None:
        return code  # not a division of the places file: the code is all there is to say
    city = parent(code)
    if city is None or city == PROVINCE_CODE or principal.is_operator:
        return name
    if not principal.is_province and principal.region_code.startswith(city[:4]):
        return name
    return f"{short_name(city) or ''}{name}"


@routes.get("/console/")
@console_page()
async def home(request: web.Request, page: Page) -> web.StreamResponse:
    services = page.services
    today = services.clock.today()
    async with services.db.session() as db:
        counts = await queries.overview(db, page.principal, today)
        recent = await svc.list_visible(db, page.principal, limit=5)
        stages = await claims_by_stage(db, page.principal, today)
        counties = [
            (region, county_label(region, page.principal), n)
            for region, n in await overdue_by_county(db, page.principal, today)
        ]
    labels = labels_of(request)
    stage_chart = Markup("")
    if stages:
        stage_chart = stacked_bars(
            [(labels["claim_states"][s], on_time, late) for s, on_time, late in stages],
            title=labels["overview"]["chart"],
            chart_id="chart-stages",
            legend=(labels["claims"]["on_time"], labels["claims"]["overdue_legend"]),
        )
    county_chart = Markup("")
    if counties:
        county_chart = stacked_bars(
            [(label, 0, n) for _, label, n in counties],
            title=labels["overview"]["by_county"],
            chart_id="chart-counties",
            legend=(labels["claims"]["on_time"], labels["claims"]["overdue_legend"]),
        )
    return page.render(
        "home.html",
        counts=counts,
        recent=recent,
        stage_chart=stage_chart,
        county_chart=county_chart,
        counties=counties,
    )
