"""The console's claims board: find a claim (name, masked ID, class, institution), filter, page, and act.

Acting goes through the staff API's own transition code
(`bot.api.admin_claim_transitions`), so the console enforces exactly the
API's checks — the state machine of `bot.claims.states`, the operator's
limits, the all-or-nothing batch — and shows the statutory due date each
step carries. A failed batch is shown inline, claim by claim, with the form
as it was typed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.api import admin_claim_transitions as transitions
from bot.api.admin_publicity import publicity_download
from bot.api.claims_board import BoardFilter, board, board_download
from bot.claims.states import TRANSITIONS, BatchError
from bot.console.page import Page, console_page, paging, redirect
from bot.errors import ApiError
from bot.staff import queries
from models.claims import CLAIM_STATES

routes = web.RouteTableDef()
# The steps staff take from the board, in the order they happen.
ACTIONS = (
    "under_review",
    "returned",
    "approved",
    "rejected",
    "in_publicity",
    "objection",
    "payment_pending",
    "paid",
)


async def _render(
    page: Page, request: web.Request, f: BoardFilter, status: int = 200, **extra: Any
) -> web.Response:
    limit, offset = paging(request)
    today = page.services.clock.today()
    async with page.services.db.session() as db:
        total, overdue, rows = await board(db, page.principal, today, f, limit=limit, offset=offset)
        classes = await queries.classes_in_scope(db, page.principal, limit=200)
    params = f.query_string()
    actions = ("submitted",) if page.principal.is_operator else ACTIONS
    return page.render(
        "claims.html",
        status=status,
        rows=rows,
        total=total,
        overdue=overdue,
        f=f,
        state=f.state,
        states=[s for s in CLAIM_STATES if s not in queries.FINAL_CLAIM_STATES],
        all_states=CLAIM_STATES,
        classes=classes,
        actions=actions,
        next_steps=TRANSITIONS,
        offset=offset,
        limit=limit,
        keep="&" + urlencode(params) if params else "",
        query=urlencode(params),
        form=extra.pop("form", {}),
        done=request.query.get("done"),
        done_to=request.query.get("to") if request.query.get("to") in CLAIM_STATES else None,
        **extra,
    )


@routes.get("/console/claims")
@console_page()
async def claims(request: web.Request, page: Page) -> web.StreamResponse:
    return await _render(page, request, BoardFilter.from_query(request.query))


@routes.get("/console/claims/export.{fmt:(xlsx|csv)}")
@console_page()
async def claims_export(request: web.Request, page: Page) -> web.StreamResponse:
    return await board_download(page, BoardFilter.from_query(request.query), request.match_info["fmt"])


@routes.get("/console/claims/publicity.{fmt:(xlsx|csv)}")
@console_page()
async def publicity_export(request: web.Request, page: Page) -> web.StreamResponse:
    return await publicity_download(request, page, request.match_info["fmt"])


def _words(texts: Any, item: dict[str, Any]) -> str:
    """The API's per-claim message with state ids ("under_review") said as the board says them."""
    message = str(item["error"]["message"])
    for state, label in texts.raw("console.claim_states").items():
        message = message.replace(f"“{state}”", f"“{label}”")
    return message


def _body(form: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"to": str(form.get("to", ""))}
    for name in ("note", "reason", "amount"):
        value = str(form.get(name, "")).strip()
        if value:
            body[name] = value
    return body


@routes.post("/console/claims/act")
@console_page()
async def act(request: web.Request, page: Page) -> web.StreamResponse:
    """Advance the ticked claims, or a whole class's claims at one step; all or nothing."""
    form = await request.post()
    f = BoardFilter.from_query(form)
    kept = {k: str(form.get(k, "")) for k in ("to", "note", "reason", "amount", "scope")}
    texts = page.services.texts
    raw_ids = [str(v) for v in form.getall("ids", [])]
    scope = kept["scope"] or "selected"
    if (scope == "selected" and not raw_ids) or (scope == "class" and not f.class_id):
        return await _render(
            page, request, f, 400, form=kept, error=texts.get("console.claims.nothing_selected")
        )
    try:
        body = _body(form)
        args = transitions._transition_args(page.services, body)
        to = args["to"]
        async with page.services.db.session() as db:
            if scope == "class":
                class_body = {"state": f.state} if f.state else {}
                targets = await transitions._claims_of_class(db, page, f.class_id or 0, class_body)
            else:
                ids = [int(v) if v.isdigit() and len(v) < 10 else v for v in raw_ids]
                targets = await transitions._listed_claims(db, page, ids)
            await transitions._transition(db, page, targets, args)
    except ApiError as exc:
        return await _render(page, request, f, exc.status, form=kept, error=exc.message)
    except BatchError as exc:
        api = transitions.batch_error(page.services, exc)
        problems = [
            texts.get("console.claims.row_failed", id=item.get("claim_id", ""), message=_words(texts, item))
            for item in api.extra.get("results", [])
            if not item["ok"]
        ]
        headline = texts.get("console.claims.failed")
        return await _render(page, request, f, api.status, form=kept, error=headline, problems=problems)
    params = {**f.query_string(), "done": str(len(targets)), "to": to}
    return redirect("/console/claims?" + urlencode(params))
