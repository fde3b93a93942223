"""Claim batches: submitting claims and moving them through the state machine, all or nothing.

Every transition is stamped (`ClaimEvent`: date, actor, note, the deadline it
set) and told to the trainee through the outbox in the same transaction, so a
committed step is never silent and a rolled-back one never announced. The
rules of a single step live in `bot.claims.states`; a batch with one refused
item is refused whole (`BatchError` with a per-item report).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.claims.due_dates import refresh_due
from bot.claims.notify import notify_trainees
from bot.claims.queries import by_id
from bot.claims.states import BatchError, ClaimError, ItemResult, apply_transition, check_transition
from bot.policy.deadlines import compute_deadline
from bot.services import Services
from models import Claim, ClaimEvent, Enrollment, Trainee, TrainingClass
from models.claims import SUBSIDY_TYPES


async def transition_claims(
    db: AsyncSession,
    services: Services,
    claims: Sequence[Claim],
    to: str,
    *,
    actor: str,
    operator: bool = False,
    on: date | None = None,
    note: str | None = None,
    reason: str | None = None,
    amount: Decimal | None = None,
) -> list[ClaimEvent]:
    """Move every claim to `to`, or none of them (BatchError with a per-claim report)."""
    now = services.clock.now()
    today = now.date()
    day = on or today
    results = []
    for i, claim in enumerate(claims):
        result = ItemResult(i, {"claim_id": claim.id})
        try:
            check_transition(claim, to, on=day, today=today, reason=reason, amount=amount, operator=operator)
        except ClaimError as exc:
            result.error = exc
        results.append(result)
    if any(r.error for r in results):
        raise BatchError(results)
    events = []
    for claim in claims:
        event = apply_transition(
            claim, to, on=day, actor=actor, note=note, reason=reason, amount=amount, now=now
        )
        db.add(event)
        events.append(event)
    await db.flush()
    await notify_trainees(db, services, list(zip(claims, events, strict=True)))
    return events


# -- submission ------------------------------------------------------------


@dataclass(frozen=True)
class NewClaim:
    trainee_id: int
    class_id: int
    subsidy_type: str
    amount: Decimal | None = None


@dataclass(frozen=True)
class Submitted:
    claim: Claim
    submission_deadline: date
    deadline_certain: bool

    @property
    def late(self) -> bool:
        return self.claim.submitted_on > self.submission_deadline


async def submit_claims(
    db: AsyncSession,
    services: Services,
    items: Sequence[NewClaim],
    *,
    actor: str,
    may_submit: Callable[[TrainingClass], bool],
    on: date | None = None,
) -> list[Submitted]:
    """Create claims for finished classes' enrolled trainees, all or none (BatchError).

    A submission after the 10 working days of 第十六条 is still accepted (the
    bureau decides what lateness means) but reported as late.
    """
    now = services.clock.now()
    today = now.date()
    day = on or today
    class_ids = {item.class_id for item in items}
    trainee_ids = {item.trainee_id for item in items}
    classes = await by_id(db, TrainingClass, class_ids)
    trainees = await by_id(db, Trainee, trainee_ids)
    enrolled = {
        (e.class_id, e.trainee_id)
        for e in (
            await db.execute(
                select(Enrollment).where(
                    Enrollment.class_id.in_(class_ids),
                    Enrollment.trainee_id.in_(trainee_ids),
                    Enrollment.status != "withdrawn",
                )
            )
        ).scalars()
    }
    existing = {
        (c.trainee_id, c.class_id, c.subsidy_type)
        for c in (
            await db.execute(
                select(Claim).where(Claim.class_id.in_(class_ids), Claim.trainee_id.in_(trainee_ids))
            )
        ).scalars()
    }
    seen: set[tuple[int, int, str]] = set()
    results: list[ItemResult] = []
    for i, item in enumerate(items):
        key = (item.trainee_id, item.class_id, item.subsidy_type)
        result = ItemResult(
            i, {"trainee_id": item.trainee_id, "class_id": item.class_id, "subsidy_type": item.subsidy_type}
        )
        klass = classes.get(item.class_id)
        if item.subsidy_type not in SUBSIDY_TYPES:
            result.error = ClaimError(400, "unknown_subsidy_type", subsidy_type=item.subsidy_type)
        elif klass is None:
            result.error = ClaimError(404, "class_not_found", class_id=item.class_id)
        elif not may_submit(klass):
            result.error = ClaimError(403, "forbidden")
        elif item.trainee_id not in trainees:
            result.error = ClaimError(404, "trainee_not_found", trainee_id=item.trainee_id)
        elif (item.class_id, item.trainee_id) not in enrolled:
            result.error = ClaimError(409, "not_enrolled", trainee_id=item.trainee_id, class_id=klass.id)
        elif klass.status == "cancelled":
            result.error = ClaimError(409, "class_cancelled", class_id=klass.id)
        elif day < klass.end_date:
            result.error = ClaimError(409, "class_not_finished", end=klass.end_date.isoformat())
        elif day > today:
            result.error = ClaimError(400, "date_in_future", on=day.isoformat())
        elif key in existing or key in seen:
            result.error = ClaimError(409, "claim_exists", trainee_id=item.trainee_id)
        seen.add(key)
        results.append(result)
    if any(r.error for r in results):
        raise BatchError(results)

    claims = [
        Claim(
            trainee_id=item.trainee_id,
            class_id=item.class_id,
            subsidy_type=item.subsidy_type,
            state="submitted",
            amount=item.amount,
            submitted_on=day,
            state_since=day,
            created_at=now,
            updated_at=now,
        )
        for item in items
    ]
    dues = [refresh_due(claim) for claim in claims]
    db.add_all(claims)
    await db.flush()  # one multi-row INSERT … RETURNING for the ids
    events = [
        ClaimEvent(
            claim_id=claim.id,
            from_state=None,
            to_state="submitted",
            on_date=day,
            actor=actor,
            due_on=due.on,
            due_certain=due.certain,
            created_at=now,
        )
        for claim, due in zip(claims, dues, strict=True)
    ]
    db.add_all(events)
    await db.flush()
    pairs = list(zip(claims, events, strict=True))
    limits = {cid: compute_deadline("claim_submission", k.end_date) for cid, k in classes.items()}
    out = [
        Submitted(claim, limits[claim.class_id].deadline, limits[claim.class_id].calendar_certain)
        for claim in claims
    ]
    await notify_trainees(db, services, pairs)
    return out
