"""What the claims endpoints answer: a claim with its outlook, its events, the per-claim
report of a refused batch, and the scoped lookup of one claim (404 outside the scope)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.api.claim_fields import err
from bot.auth import Principal
from bot.claims.due_dates import outlook
from bot.claims.formatting import article_of, subsidy_name
from bot.claims.states import TRANSITIONS, BatchError, ClaimError
from bot.errors import ApiError
from bot.services import Services
from bot.staff.scope import claim_scope
from models import Claim, ClaimEvent, Trainee, TrainingClass


def iso(value: date | None) -> str | None:
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
        "state_since": iso(claim.state_since),
        "submitted_on": iso(claim.submitted_on),
        "amount": None if claim.amount is None else f"{claim.amount:.2f}",
        "reason": claim.reason,
        "due_on": iso(claim.due_on),
        "due_event": due.event,
        "due_article": article_of(due.event) if due.event else None,
        "calendar_certain": claim.due_certain,
        "overdue": look.overdue,
        "payment_due_by": iso(look.payment_by),
        "payment_due_certain": look.payment_certain,
        "approved_on": iso(claim.approved_on),
        "publicity_start": iso(claim.publicity_start),
        "publicity_end": iso(claim.publicity_end),
        "payment_from": iso(claim.payment_from),
        "paid_on": iso(claim.paid_on),
        "allowed_transitions": list(TRANSITIONS[claim.state]),
    }


def event_json(event: ClaimEvent, tz: Any) -> dict[str, Any]:
    return {
        "from": event.from_state,
        "to": event.to_state,
        "on": event.on_date.isoformat(),
        "actor": event.actor,
        "note": event.note,
        "due_on": iso(event.due_on),
        "calendar_certain": event.due_certain,
        "at": event.created_at.astimezone(tz).isoformat(),
    }


async def claims_json(db: AsyncSession, claims: list[Claim], today: date) -> list[dict[str, Any]]:
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


async def add_events(db: AsyncSession, services: Services, payload: dict[str, Any]) -> dict[str, Any]:
    """One claim's JSON with its history, oldest step first."""
    events = (
        await db.execute(
            select(ClaimEvent).where(ClaimEvent.claim_id == payload["id"]).order_by(ClaimEvent.id)
        )
    ).scalars()
    payload["events"] = [event_json(e, services.clock.tz) for e in events]
    return payload


async def visible_claim(db: AsyncSession, services: Services, principal: Principal, claim_id: int) -> Claim:
    """The claim, locked for a transition; unknown and out-of-scope claims are both a 404."""
    claim = (
        await db.execute(select(Claim).where(Claim.id == claim_id, claim_scope(principal)).with_for_update())
    ).scalar_one_or_none()
    if claim is None:
        raise err(services, 404, "claim_not_found", claim_id=claim_id)
    return claim


def claim_error(services: Services, exc: ClaimError) -> ApiError:
    return err(services, exc.status, exc.code, **exc.fmt)


def batch_error(services: Services, exc: BatchError) -> ApiError:
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
