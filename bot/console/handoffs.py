"""The console's hand-over inbox (转人工): open requests, the conversation, replying.

The inbox lists open requests in the signed-in member's scope, the
longest-waiting first; the conversation page shows the transcript (kept live
by polling `…/messages.json`), a reply box, and claim / hand back / close.
Every action goes through `bot.handover.service`, as the staff API does.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.console.page import ID, NotFound, Page, console_page, fmt_dt, int_query, paging, redirect
from bot.handover import inbox, service
from bot.handover.config import handover_config
from bot.handover.views import line_json, waiting_minutes
from bot.outbox import kick
from bot.staff.http import found
from models import ChatUser

routes = web.RouteTableDef()


def _labels(page: Page) -> dict[str, Any]:
    labels: dict[str, Any] = page.services.texts.raw("handover.console")
    return labels


async def _chat_user(db: AsyncSession, request: web.Request, page: Page) -> ChatUser:
    """The chat user of the page's address; a 404 page when unknown, 403 outside the scope."""
    user = await db.get(ChatUser, int(request.match_info["id"]))
    return found(await inbox.user_in_scope(db, page.principal, user), NotFound("chat user"))


def waited(labels: dict[str, Any], minutes: int) -> str:
    if minutes < 60:
        return str(labels["minutes"]).format(n=minutes)
    return str(labels["hours"]).format(h=minutes // 60, m=minutes % 60)


@routes.get("/console/handoffs")
@console_page()
async def handoffs(request: web.Request, page: Page) -> web.StreamResponse:
    limit, offset = paging(request)
    total, rows = await page.scoped(inbox.open_requests, limit=limit, offset=offset)
    now, labels = page.services.clock.now(), _labels(page)
    config = handover_config(page.services)
    items = [
        {
            "row": r,
            "waited": waited(labels, waiting_minutes(r.handover, now)),
            "minutes": waiting_minutes(r.handover, now),
            "region": config.region_name(r.handover.region_code) or labels["province_queue"],
        }
        for r in rows
    ]
    return page.render("handoffs.html", HV=labels, items=items, total=total, offset=offset, limit=limit)


@routes.get("/console/handoffs/count.json")
@console_page(json=True)
async def count(request: web.Request, page: Page) -> web.StreamResponse:
    """The header's count of open requests in scope (polled by every console page)."""
    return web.json_response({"open": await page.scoped(inbox.open_count)})


@routes.get(f"/console/handoffs/{ID}")
@console_page()
async def conversation(request: web.Request, page: Page) -> web.StreamResponse:
    async with page.services.db.session() as db:
        user = await _chat_user(db, request, page)
        lines = await inbox.transcript(db, user.id, limit=200)
        handover = await inbox.latest(db, user.id)
        name = await inbox.display_name(db, user)
    is_open = handover is not None and handover.state in ("waiting", "held")
    labels = _labels(page)
    flashes = {**labels["sent_flash"], **{k: labels[k] for k in ("claimed", "handed_back", "closed")}}
    flashes["empty"] = labels["empty_reply"]
    flash = request.query.get("done")
    config = handover_config(page.services)
    return page.render(
        "handoff_detail.html",
        HV=labels,
        user=user,
        name=name,
        lines=lines,
        handover=handover if is_open else None,
        region=config.region_name(handover.region_code) if handover else None,
        last_id=lines[-1].id if lines else 0,
        flash=flash if flash in flashes else None,
        flash_text=flashes.get(flash or ""),
    )


@routes.get(f"/console/handoffs/{ID}/messages.json")
@console_page(json=True)
async def messages(request: web.Request, page: Page) -> web.StreamResponse:
    """Transcript lines after `after` (the page appends them), and who holds the conversation."""
    async with page.services.db.session() as db:
        user = await _chat_user(db, request, page)
        lines = await inbox.transcript(db, user.id, after=int_query(request, "after"), limit=200)
        handover = await inbox.latest(db, user.id)
    tz, labels = page.services.clock.tz, _labels(page)
    fmt = fmt_dt(tz)
    who = {"in": labels["user_said"], "out": labels["bot_said"]}
    items = [
        {**line_json(line, tz), "id": line.id, "who": line.staff or who[line.direction], "time": fmt(line.at)}
        for line in lines
    ]
    state = handover.state if handover is not None else None
    holder = handover.holder_name if handover is not None and state == "held" else None
    return web.json_response({"messages": items, "state": state, "holder": holder})


@routes.post(f"/console/handoffs/{ID}/reply")
@console_page()
async def reply(request: web.Request, page: Page) -> web.StreamResponse:
    form = await request.post()
    text = str(form.get("text", "")).strip()
    services = page.services
    user_id = int(request.match_info["id"])
    if not text:
        return redirect(f"/console/handoffs/{user_id}?done=empty")
    limit = handover_config(services).max_reply_chars
    async with services.db.session() as db:
        user = await _chat_user(db, request, page)
        await service.lock_user(db, user.id)
        sent = await service.reply(services, db, page.principal, user, text[:limit])
    if sent.delivery == "queued":
        kick(services)
    return redirect(f"/console/handoffs/{user_id}?done={sent.delivery}")


@routes.post(f"/console/handoffs/{ID}/{{action:(claim|hand-back|close)}}")
@console_page()
async def act(request: web.Request, page: Page) -> web.StreamResponse:
    action = request.match_info["action"]
    services = page.services
    user_id = int(request.match_info["id"])
    do = {"claim": service.claim, "hand-back": service.hand_back, "close": service.close}[action]
    async with services.db.session() as db:
        user = await _chat_user(db, request, page)
        await service.lock_user(db, user.id)
        try:
            await do(services, db, page.principal, user)
        except service.NoOpenRequest:
            return redirect(f"/console/handoffs/{user_id}")
    if action != "claim":
        kick(services)
    done = {"claim": "claimed", "hand-back": "handed_back", "close": "closed"}[action]
    return redirect(f"/console/handoffs/{user_id}?done={done}")
