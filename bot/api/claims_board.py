"""The claims board staff work from: search, filters, paging and its export, one query for console and API.

Search covers what a clerk has in hand when a trainee phones: the name, the
masked ID number as printed on the publicity list (or its last digits), the
class code or name, the institution. Overdue means past the statutory due
date of the claim's current step (`Claim.due_on`, set by `bot.claims`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from aiohttp import web
from sqlalchemy import case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.api.spreadsheets import download, export_format
from bot.auth import Principal
from bot.claims.formatting import subsidy_name
from bot.staff.http import Staff, paging, staff_api
from bot.staff.queries import FINAL_CLAIM_STATES, BoardRow
from bot.staff.scope import claim_scope
from models import Claim, Institution, Trainee, TrainingClass
from models.claims import CLAIM_STATES, SUBSIDY_TYPES

routes = web.RouteTableDef()
MAX_QUERY = 50
MAX_EXPORT = 20000


@dataclass(frozen=True)
class BoardFilter:
    q: str | None = None
    state: str | None = None
    overdue: bool = False
    class_id: int | None = None
    institution_id: int | None = None
    subsidy_type: str | None = None

    @classmethod
    def from_query(cls, query: Any) -> BoardFilter:
        """Lenient (the console keeps a page up on a bad link): unknown values are dropped."""
        q = (query.get("q") or "").strip()[:MAX_QUERY] or None
        state = query.get("state") or None
        subsidy = query.get("subsidy_type") or None

        def number(name: str) -> int | None:
            raw = query.get(name) or ""
            return int(raw) if raw.isdigit() and len(raw) < 10 else None

        return cls(
            q=q,
            state=state if state in CLAIM_STATES else None,
            overdue=(query.get("overdue") or "") in ("1", "true", "on"),
            class_id=number("class_id"),
            institution_id=number("institution_id"),
            subsidy_type=subsidy if subsidy in SUBSIDY_TYPES else None,
        )

    def query_string(self) -> dict[str, str]:
        out = {"q": self.q, "state": self.state, "subsidy_type": self.subsidy_type}
        params = {k: v for k, v in out.items() if v}
        if self.overdue:
            params["overdue"] = "1"
        if self.class_id:
            params["class_id"] = str(self.class_id)
        if self.institution_id:
            params["institution_id"] = str(self.institution_id)
        return params


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _where(principal: Principal, f: BoardFilter, today: date) -> list[Any]:
    where: list[Any] = [claim_scope(principal)]
    where.append(Claim.state == f.state if f.state else Claim.state.not_in(FINAL_CLAIM_STATES))
    if f.overdue:
        where.append(Claim.due_on < today)
    if f.class_id:
        where.append(Claim.class_id == f.class_id)
    if f.institution_id:
        where.append(TrainingClass.institution_id == f.institution_id)
    if f.subsidy_type:
        where.append(Claim.subsidy_type == f.subsidy_type)
    if f.q:
        words = [w for w in f.q.replace("，", " ").split() if w]
        for word in words:
            # 220102********0317 or its last digits: match the masked form's visible parts.
            pattern = _like(word)
            by_id = (
                Trainee.id_card_masked == word.upper()
                if "*" in word
                else Trainee.id_card_masked.ilike(pattern, escape="\\")
            )
            where.append(
                or_(
                    Trainee.name.ilike(pattern, escape="\\"),
                    by_id,
                    TrainingClass.code.ilike(pattern, escape="\\"),
                    TrainingClass.name.ilike(pattern, escape="\\"),
                    Institution.name.ilike(pattern, escape="\\"),
                )
            )
    return where


def _joined(query: Any) -> Any:
    return (
        query.join(Trainee, Trainee.id == Claim.trainee_id)
        .join(TrainingClass, TrainingClass.id == Claim.class_id)
        .join(Institution, Institution.id == TrainingClass.institution_id)
    )


async def board(
    db: AsyncSession, principal: Principal, today: date, f: BoardFilter, *, limit: int, offset: int = 0
) -> tuple[int, int, list[BoardRow]]:
    """(matching, of which overdue, page): overdue first (longest overdue on top), then by due date."""
    where = _where(principal, f, today)
    overdue = Claim.due_on < today
    total, overdue_count = (
        await db.execute(
            _joined(select(func.count(Claim.id), func.count(Claim.id).filter(overdue))).where(*where)
        )
    ).one()
    rows = (
        await db.execute(
            _joined(select(Claim, Trainee.name, Trainee.id_card_masked, TrainingClass.name, Institution.name))
            .where(*where)
            .order_by(case((overdue, 0), else_=1), Claim.due_on.asc().nulls_last(), Claim.id)
            .limit(limit)
            .offset(offset)
        )
    ).all()
    page = []
    for claim, trainee, masked, class_name, institution in rows:
        late = (today - claim.due_on).days if claim.due_on and claim.due_on < today else None
        left = (claim.due_on - today).days if claim.due_on and claim.due_on >= today else None
        page.append(BoardRow(claim, trainee, masked, class_name, institution, late, left))
    return int(total), int(overdue_count or 0), page


def board_table(texts: Any, rows: list[BoardRow]) -> tuple[list[str], list[list[Any]]]:
    """The board as a sheet: the columns a county clerk files, states in Chinese."""
    header: list[str] = texts.raw("console.claims.export_columns")
    states = texts.raw("console.claim_states")
    out = []
    for r in rows:
        c = r.claim
        out.append(
            [
                c.id,
                r.trainee,
                r.id_card_masked,
                r.class_name,
                r.institution,
                subsidy_name(c.subsidy_type),
                states.get(c.state, c.state),
                c.state_since,
                c.due_on,
                r.overdue_days or "",
                None if c.amount is None else c.amount,
            ]
        )
    return header, out


def row_json(r: BoardRow) -> dict[str, Any]:
    c = r.claim
    return {
        "id": c.id,
        "trainee_name": r.trainee,
        "id_card_masked": r.id_card_masked,
        "class_id": c.class_id,
        "class_name": r.class_name,
        "institution": r.institution,
        "subsidy_type": c.subsidy_type,
        "state": c.state,
        "state_since": c.state_since.isoformat(),
        "due_on": c.due_on.isoformat() if c.due_on else None,
        "overdue_days": r.overdue_days,
        "days_left": r.days_left,
        "amount": None if c.amount is None else f"{c.amount:.2f}",
    }


@routes.get("/api/v1/admin/claims/board")
@staff_api
async def board_json(request: web.Request, staff: Staff) -> web.StreamResponse:
    """The board with search (`q`), `state`, `overdue`, `class_id`, `institution_id`, `limit`/`offset`."""
    services = staff.services
    limit, offset = paging(request)
    f = BoardFilter.from_query(request.query)
    async with services.db.session() as db:
        total, overdue, rows = await board(
            db, staff.principal, services.clock.today(), f, limit=limit, offset=offset
        )
    return web.json_response(
        {"total": total, "overdue": overdue, "claims": [row_json(r) for r in rows], "offset": offset}
    )


async def board_download(staff: Staff, f: BoardFilter, fmt: str) -> web.Response:
    services = staff.services
    today = services.clock.today()
    async with services.db.session() as db:
        _, _, rows = await board(db, staff.principal, today, f, limit=MAX_EXPORT)
    header, table = board_table(services.texts, rows)
    title = services.texts.get("console.claims.heading")
    return download(fmt, f"{title}-{today.isoformat()}", title, header, table)


@routes.get("/api/v1/admin/claims/board/export")
@staff_api
async def board_export(request: web.Request, staff: Staff) -> web.StreamResponse:
    """The filtered board as .xlsx (default) or CSV (`format=csv`)."""
    return await board_download(staff, BoardFilter.from_query(request.query), export_format(request))
