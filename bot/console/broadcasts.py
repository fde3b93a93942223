"""Console pages for broadcast notices: the form with its live audience preview, the
list, the progress of one broadcast (which refreshes itself while sending), cancel."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.broadcasts import audience as aud
from bot.broadcasts import results as res
from bot.broadcasts import sending as svc
from bot.console.config import get_config
from bot.console.page import ID, Page, console_page, labels_of, paging, redirect
from bot.console.reasons import reason_key
from bot.errors import ApiError
from bot.policy.params import get_policy
from bot.staff.scope import class_scope, institution_scope
from models import Institution, StaffAccount, TrainingClass
from models.claims import CLAIM_STATES

routes = web.RouteTableDef()


# --- broadcasts -----------------------------------------------------------------


@routes.get("/console/broadcasts")
@console_page()
async def broadcasts(request: web.Request, page: Page) -> web.StreamResponse:
    limit, offset = paging(request)
    items = await page.scoped(svc.list_visible, limit=limit + 1, offset=offset)
    return page.render(
        "broadcasts.html", items=items[:limit], offset=offset, limit=limit, has_more=len(items) > limit
    )


async def _form_choices(page: Page) -> dict[str, Any]:
    async with page.services.db.session() as db:
        institutions = (
            await db.execute(
                select(Institution.id, Institution.name, Institution.region_code)
                .where(institution_scope(page.principal))
                .order_by(Institution.region_code, Institution.name)
            )
        ).all()
        classes = (
            await db.execute(
                select(TrainingClass.id, TrainingClass.name, TrainingClass.code, Institution.name)
                .join(Institution, Institution.id == TrainingClass.institution_id)
                .where(class_scope(page.principal), TrainingClass.status != "cancelled")
                .order_by(TrainingClass.start_date.desc())
                .limit(500)
            )
        ).all()
    policy = get_policy()
    return {
        "institutions": institutions,
        "classes": classes,
        "regions": sorted({r.region_code for r in institutions}),
        "groups": [(g, policy.group_by_id[g].name) for g in policy.group_ids],
        "claim_states": CLAIM_STATES,
        "channels": aud.PUSH_CHANNELS,
        "debounce_ms": get_config().preview_debounce_ms,
    }


def _form_body(form: Any) -> dict[str, Any]:
    """The notice as the API takes it, from the console form's fields."""
    audience = {k: str(form.get(k, "")).strip() for k in aud.AUDIENCE_FIELDS}
    body: dict[str, Any] = {
        "title": str(form.get("title", "")),
        "text": str(form.get("text", "")),
        "link": str(form.get("link", "")).strip() or None,
        "target": str(form.get("target", "trainees")),
        "audience": {k: v for k, v in audience.items() if v},
        "wechat_fallback": str(form.get("wechat_fallback", "template")),
    }
    if form.get("when") == "later":
        body["send_at"] = str(form.get("send_at", "")).strip() or "missing"
    return body


@routes.get("/console/broadcasts/new")
@console_page()
async def new_broadcast(request: web.Request, page: Page) -> web.StreamResponse:
    values = {k: request.query.get(k, "") for k in ("target", *aud.AUDIENCE_FIELDS)}
    return page.render("broadcast_new.html", values=values, error=None, **await _form_choices(page))


@routes.post("/console/broadcasts")
@console_page()
async def create_broadcast(request: web.Request, page: Page) -> web.StreamResponse:
    form = await request.post()
    services = page.services
    now = services.clock.now()
    try:
        notice = svc.parse_notice(_form_body(form), now, services.texts)
        async with services.db.session() as db:
            broadcast = await svc.create_broadcast(db, page.principal, notice, now, services.texts)
    except ApiError as exc:
        # Every refusal (an out-of-scope region code too) keeps what was typed, with the reason.
        values = {k: str(v) for k, v in form.items() if k != "_csrf"}
        return page.render(
            "broadcast_new.html",
            status=exc.status,
            values=values,
            error=exc.message,
            **await _form_choices(page),
        )
    svc.start_delivery(request.app, broadcast)
    return redirect(f"/console/broadcasts/{broadcast.id}")


def _summary(labels: dict[str, Any], result: dict[str, Any], fallback: str) -> list[str]:
    b = labels["broadcast"]
    lines = [b["preview_total"].format(n=result["recipients"])]
    parts = []
    for channel, counts in result["by_channel"].items():
        part = b["preview_channel"].format(channel=labels["channels"][channel], n=counts["reachable"])
        if channel == "wechat" and counts["outside_window"]:
            how = b["preview_fallback_template"] if fallback == "template" else b["preview_fallback_skip"]
            part += b["preview_window"].format(n=counts["outside_window"], fallback=how)
        parts.append(part)
    if parts:
        lines.append("；".join(parts))
    if result["unreachable"]:
        lines.append(b["preview_unreachable"].format(n=result["unreachable"]))
    return lines


@routes.post("/console/broadcasts/preview")
@console_page(json=True)
async def preview(request: web.Request, page: Page) -> web.StreamResponse:
    """The live audience count of the form, as the browser edits it."""
    raw = await request.json() if request.content_type == "application/json" else await request.post()
    if not isinstance(raw, dict) and not hasattr(raw, "get"):
        raise ApiError(400, "invalid_audience", page.services.texts.get("console.errors.audience_object"))
    body = _form_body(raw)
    services = page.services
    audience = aud.parse_audience(body["target"], body["audience"], services.texts)
    async with services.db.session() as db:
        await aud.check_audience(db, page.principal, audience, services.texts)
        result = await aud.preview(db, page.principal, audience, services.clock.now())
    result["summary"] = _summary(labels_of(request), result, body["wechat_fallback"])
    return web.json_response(result)


async def _describe(db: Any, labels: dict[str, Any], broadcast: Any) -> list[tuple[str, str]]:
    """The audience in words: which filters, by name."""
    b = labels["broadcast"]
    out = [(b["target"], b["targets"][broadcast.target])]
    audience = broadcast.audience
    if "region" in audience:
        out.append((b["region"], audience["region"]))
    if "institution_id" in audience:
        inst = await db.get(Institution, audience["institution_id"])
        out.append((b["institution"], inst.name if inst else str(audience["institution_id"])))
    if "class_id" in audience:
        klass = await db.get(TrainingClass, audience["class_id"])
        out.append((b["class"], klass.name if klass else str(audience["class_id"])))
    if "group" in audience:
        group = get_policy().group_by_id.get(audience["group"])
        out.append((b["group"], group.name if group else audience["group"]))
    if "claim_state" in audience:
        out.append((b["claim_state"], labels["claim_states"].get(audience["claim_state"], "")))
    if "channel" in audience:
        out.append((b["channel"], labels["channels"].get(audience["channel"], "")))
    return out


async def _progress_context(request: web.Request, page: Page) -> dict[str, Any]:
    services = page.services
    limit, offset = paging(request)
    result = request.query.get("result") or None
    if result not in (None, *res.RESULTS):
        result = None
    async with services.db.session() as db:
        broadcast = await svc.get_visible(
            db, page.principal, int(request.match_info["id"]), services.texts, services.clock.now()
        )
        progress = await res.progress(db, broadcast)
        total, rows = await res.deliveries(db, broadcast, result=result, limit=limit, offset=offset)
        described = await _describe(db, labels_of(request), broadcast)
        account = await db.get(StaffAccount, broadcast.created_by) if broadcast.created_by else None
    sender = account.name if account else labels_of(request)["broadcast"]["admin_token"]
    return {
        "sender": sender,
        "b": broadcast,
        "progress": progress,
        "rows": rows,
        "rows_total": total,
        "result": result,
        "offset": offset,
        "limit": limit,
        "results": res.RESULTS,
        "described": described,
        "final": progress["status"] in ("done", "cancelled") and progress["results"]["queued"] == 0,
        "refresh_ms": get_config().progress_refresh_ms,
        "qs": request.query_string,
        "request_notice": request.query.get("notice"),
        "reason": reason_key,
    }


@routes.get(f"/console/broadcasts/{ID}")
@console_page()
async def broadcast_detail(request: web.Request, page: Page) -> web.StreamResponse:
    return page.render("broadcast_detail.html", **await _progress_context(request, page))


@routes.get(f"/console/broadcasts/{ID}/progress")
@console_page()
async def broadcast_progress(request: web.Request, page: Page) -> web.StreamResponse:
    """The progress block alone, which the detail page swaps in while sending."""
    return page.render("_progress.html", **await _progress_context(request, page))


@routes.post(f"/console/broadcasts/{ID}/cancel")
@console_page()
async def cancel_broadcast(request: web.Request, page: Page) -> web.StreamResponse:
    services = page.services
    bid = int(request.match_info["id"])
    try:
        async with services.db.session() as db:
            await svc.cancel(db, page.principal, bid, services.clock.now(), services.texts)
    except ApiError as exc:
        if exc.status != 409:
            raise
        # Everything was delivered meanwhile: the page says so instead of an error page.
        return redirect(f"/console/broadcasts/{bid}?notice=finished")
    return redirect(f"/console/broadcasts/{bid}")
