"""The console's outbox pages: dead letters (and requeueing them), and the reminder plan of the days.

The reminder page shows, before the wave goes out, what the plan found
(`bot.attendance.planning`): reminders moved earlier, and alerts when a
channel's capacity or WeChat's daily quotas cannot carry the day, naming the
classes; and after it, per class and day, the reminders dropped because the
class had begun. Classes are cut to the caller's scope.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.attendance.planning import dropped_by_class, latest_plans
from bot.auth import Principal
from bot.console.page import Page, console_page, paging, redirect
from bot.console.reasons import reason_key
from bot.errors import ApiError
from bot.staff import queries
from bot.staff.scope import class_scope
from models import TrainingClass

routes = web.RouteTableDef()


@routes.get("/console/outbox/dead")
@console_page()
async def dead_letters(request: web.Request, page: Page) -> web.StreamResponse:
    limit, offset = paging(request)
    total, rows = await page.scoped(queries.dead_letters, limit=limit, offset=offset)
    return page.render(
        "dead.html",
        rows=rows,
        total=total,
        offset=offset,
        limit=limit,
        requeued=request.query.get("requeued"),
        reason=reason_key,
        notice=request.query.get("notice"),
    )


@routes.post("/console/outbox/requeue")
@console_page()
async def requeue(request: web.Request, page: Page) -> web.StreamResponse:
    form = await request.post()
    raw = [str(v) for v in form.getall("ids", [])]
    ids = [int(v) for v in raw if v.isdigit() and len(v) < 10]
    services = page.services
    if not raw:
        # Nothing ticked: say so on the same page instead of an error page.
        return redirect("/console/outbox/dead?notice=nothing_ticked")
    if len(ids) != len(raw):
        raise ApiError(400, "invalid_ids", services.texts.get("console.errors.invalid_ids"))
    done = await page.scoped(queries.requeue_dead, ids, services.clock.now(), services.texts)
    return redirect(f"/console/outbox/dead?requeued={len(done)}")


async def _in_scope(db: AsyncSession, principal: Principal, class_ids: set[int]) -> set[int]:
    if not class_ids:
        return set()
    rows = await db.execute(
        select(TrainingClass.id).where(TrainingClass.id.in_(sorted(class_ids)), class_scope(principal))
    )
    return set(rows.scalars())


async def reminder_days(db: AsyncSession, principal: Principal, today: date, tz: Any) -> dict[str, Any]:
    """Plans of today and tomorrow with their alerts, and drops of yesterday and today, in scope."""
    plans = await latest_plans(db, [today, today + timedelta(days=1)])
    drops = {day: await dropped_by_class(db, day, tz) for day in (today, today - timedelta(days=1))}
    ids = {c["id"] for p in plans for a in p.alerts for c in a["classes"]}
    ids |= {c["id"] for rows in drops.values() for c in rows}
    mine = await _in_scope(db, principal, ids)
    shown = []
    for plan in plans:
        alerts = []
        for alert in plan.alerts:
            classes = [c for c in alert["classes"] if c["id"] in mine]
            if classes:
                alerts.append({**alert, "classes": classes})
        shown.append({"plan": plan, "alerts": alerts})
    return {
        "plans": shown,
        "drops": [(day, [c for c in rows if c["id"] in mine]) for day, rows in drops.items()],
        "alerting": sum(len(p["alerts"]) for p in shown),
    }


@routes.get("/console/outbox/reminders")
@console_page()
async def reminder_plan(request: web.Request, page: Page) -> web.StreamResponse:
    services = page.services
    data = await page.scoped(reminder_days, services.clock.today(), services.clock.tz)
    return page.render("reminders.html", **data)
