"""The subsidy claim state machine of 第十六条 and 第十七条.

    submitted ──> under_review ──> approved ──> in_publicity ──> payment_pending ──> paid
        │  ^           │  │                        │                 ^
        v  │           │  v                        v                 │
      returned <───────┘ rejected <──────────── objection ───────────┘

One claim per trainee, class and subsidy type. Every transition is stamped
(`ClaimEvent`: date, actor, note, the deadline it set) and told to the
trainee through the outbox in the same transaction, so a committed step is
never silent and a rolled-back one never announced. A transition the graph
does not allow is refused whole (409); batches are all-or-nothing.

Each state knows the statutory latest date of its next step (`Claim.due_on`,
from `bot.policy.deadlines`); `outlook` chains the remaining periods to the
latest date the money is due if everything goes normally.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.policy import get_calendar, get_policy
from bot.policy.deadlines import compute_deadline
from bot.services import Services
from models import ChatUser, Claim, ClaimEvent, Enrollment, Institution, OutboxMessage, Trainee, TrainingClass
from models.claims import CLAIM_STATES, SUBSIDY_TYPES

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "submitted": ("under_review", "returned"),
    "under_review": ("approved", "returned", "rejected"),
    "returned": ("submitted",),
    "approved": ("in_publicity",),
    "in_publicity": ("objection", "payment_pending"),
    "objection": ("payment_pending", "rejected"),
    "payment_pending": ("paid",),
    "paid": (),
    "rejected": (),
}
# What an institution operator may do to its own claims: resubmit after a
# return. Review, publicity and payment are the bureau's (第十七条).
INSTITUTION_TRANSITIONS = frozenset({("returned", "submitted")})
# States entered only with a stated reason (what is missing, why refused, what the objection says).
NEEDS_REASON = frozenset({"returned", "rejected", "objection"})
# States that publish or pay an amount, so it must be known by then (第十七条: 公示内容包括补贴金额).
NEEDS_AMOUNT = frozenset({"in_publicity", "paid"})
FINAL_STATES = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)

# The statutory period each state waits on, and the chain of periods left
# until payment when all goes normally.
DUE_EVENT: dict[str, str] = {
    "submitted": "claim_review",
    "under_review": "claim_review",
    "approved": "publicity_start",
    "in_publicity": "publicity_end",
    "payment_pending": "payment",
}
PAYMENT_CHAIN: dict[str, tuple[str, ...]] = {
    "submitted": ("claim_review", "publicity_start", "publicity_end", "payment"),
    "under_review": ("claim_review", "publicity_start", "publicity_end", "payment"),
    "approved": ("publicity_start", "publicity_end", "payment"),
    "in_publicity": ("publicity_end", "payment"),
    "payment_pending": ("payment",),
}
# Steps whose lateness is the bureau's (alerts to staff); publicity simply
# ends by itself, so an unrecorded end is not an overdue step.
OVERDUE_STATES = frozenset({"submitted", "under_review", "approved", "payment_pending"})

MAX_AMOUNT = Decimal("99999999.99")


class ClaimError(Exception):
    """A refused claim operation: HTTP status, stable code, and the values its message needs."""

    def __init__(self, status: int, code: str, **fmt: Any) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.fmt = fmt


@dataclass
class ItemResult:
    """One line of a batch report: which item, and why it was refused if it was."""

    index: int
    ref: dict[str, Any]
    error: ClaimError | None = None


class BatchError(Exception):
    """At least one item of an all-or-nothing batch was refused; nothing was changed."""

    def __init__(self, results: list[ItemResult]) -> None:
        super().__init__("batch refused")
        self.results = results


@dataclass(frozen=True)
class Due:
    event: str | None
    on: date | None
    certain: bool = True


@dataclass(frozen=True)
class Outlook:
    """What a trainee or a staff member wants to know about a claim today."""

    due: Due
    overdue: bool
    payment_by: date | None
    payment_certain: bool
    steps: tuple[Due, ...] = field(default_factory=tuple)


def parse_amount(value: Any) -> Decimal:
    """A money amount from JSON (number or string), exact to the fen; ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("amount must be a number or a decimal string")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError("amount is not a number") from exc
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise ValueError("amount out of range")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError("amount has more than two decimals")
    return amount.quantize(Decimal("0.01"))


# -- deadlines -------------------------------------------------------------


def _deadline(event: str, start: date) -> Due:
    dl = compute_deadline(event, start)
    return Due(event, dl.deadline, dl.calendar_certain)


def _period_start(claim: Claim, event: str) -> date | None:
    return {
        "claim_review": claim.submitted_on,
        "publicity_start": claim.approved_on,
        "publicity_end": claim.publicity_start,
        "payment": claim.payment_from,
    }[event]


def next_due(claim: Claim) -> Due:
    """The statutory latest date of the step the claim is waiting for (None where the law sets none)."""
    event = DUE_EVENT.get(claim.state)
    if event is None:
        return Due(None, None)
    start = _period_start(claim, event)
    if start is None:
        return Due(event, None)
    return _deadline(event, start)


def refresh_due(claim: Claim) -> Due:
    due = next_due(claim)
    claim.due_on = due.on
    claim.due_certain = due.certain
    return due


def outlook(claim: Claim, today: date) -> Outlook:
    """The current step, whether it is late, and the latest payment date if all goes normally.

    When the current step is already late, the rest of the chain is counted
    from today: even done today, the money is not due before that date. The
    objection investigation and a returned claim have no statutory length,
    so no payment date can be promised for them.
    """
    due = next_due(claim)
    if claim.state == "in_publicity" and due.on is not None and due.on < today:
        # Publicity is over by the calendar even if nobody has recorded it yet:
        # the payment period already runs (第十七条).
        due = _deadline("payment", due.on)
        assert due.on is not None
        return Outlook(due, due.on < today, due.on, due.certain, (due,))
    overdue = claim.state in OVERDUE_STATES and due.on is not None and due.on < today
    if claim.state == "paid":
        return Outlook(due, False, claim.paid_on, True)
    chain = PAYMENT_CHAIN.get(claim.state)
    if chain is None or due.on is None:
        return Outlook(due, overdue, None, True)
    steps = [due]
    certain = due.certain
    previous = today if overdue and len(chain) > 1 else due.on
    for event in chain[1:]:
        step = _deadline(event, previous)
        steps.append(step)
        certain = certain and step.certain
        assert step.on is not None
        previous = step.on
    return Outlook(due, overdue, steps[-1].on, certain, tuple(steps))


def overdue_clause(today: date) -> ColumnElement[bool]:
    """SQL for "a step is overdue today", the same verdict as `outlook(...).overdue`.

    An unrecorded end of publicity is late once its payment period has run
    out: publicity_end before the payment count's working day before today.
    """
    payment_days = get_policy().deadlines["payment"].count
    cutoff, _ = get_calendar().add_working_days(today, -payment_days)
    return or_(
        and_(Claim.state.in_(OVERDUE_STATES), Claim.due_on < today),
        and_(Claim.state == "in_publicity", Claim.publicity_end < cutoff),
    )


# -- transitions -----------------------------------------------------------


def _apply_dates(claim: Claim, from_state: str | None, to: str, on: date) -> None:
    """Record the date each statutory period will count from."""
    if to == "submitted":
        claim.submitted_on = on
    elif to == "approved":
        claim.approved_on = on
    elif to == "in_publicity":
        claim.publicity_start = on
        claim.publicity_end = compute_deadline("publicity_end", on).deadline
    elif to == "payment_pending":
        end = claim.publicity_end or on
        # After an objection found groundless the clock cannot start before
        # the investigation ended (第十七条: 核实异议事项与事实不符…应于12个工作日内支付).
        claim.payment_from = end if from_state == "in_publicity" else max(end, on)
    elif to == "paid":
        claim.paid_on = on
    claim.state = to
    claim.state_since = on


def check_transition(
    claim: Claim,
    to: str,
    *,
    on: date,
    today: date,
    reason: str | None,
    amount: Decimal | None,
    operator: bool,
) -> None:
    """Raise ClaimError when this step may not happen; changes nothing."""
    if to not in CLAIM_STATES:
        raise ClaimError(400, "unknown_state", state=to)
    if to not in TRANSITIONS[claim.state]:
        raise ClaimError(409, "illegal_transition", from_state=claim.state, to_state=to)
    if operator and (claim.state, to) not in INSTITUTION_TRANSITIONS:
        raise ClaimError(403, "forbidden_transition", from_state=claim.state, to_state=to)
    if on > today:
        raise ClaimError(400, "date_in_future", on=on.isoformat())
    if on < claim.state_since:
        raise ClaimError(409, "date_before_state", on=on.isoformat(), since=claim.state_since.isoformat())
    if to in NEEDS_REASON and not (reason and reason.strip()):
        raise ClaimError(400, "reason_required", to_state=to)
    if to in NEEDS_AMOUNT and amount is None and claim.amount is None:
        raise ClaimError(400, "amount_required", to_state=to)
    if claim.state == "in_publicity" and claim.publicity_end is not None:
        if to == "payment_pending" and on < claim.publicity_end:
            raise ClaimError(409, "publicity_not_over", end=claim.publicity_end.isoformat())
        if to == "objection" and on > claim.publicity_end:
            raise ClaimError(409, "publicity_over", end=claim.publicity_end.isoformat())


def apply_transition(
    claim: Claim,
    to: str,
    *,
    on: date,
    actor: str,
    note: str | None,
    reason: str | None,
    amount: Decimal | None,
    now: Any,
) -> ClaimEvent:
    """Move the claim (already checked) and stamp the event; the caller adds it to the session."""
    from_state = claim.state
    _apply_dates(claim, from_state, to, on)
    if amount is not None:
        claim.amount = amount
    if to in ("returned", "rejected"):
        claim.reason = (reason or "").strip()
    elif to == "submitted":
        claim.reason = None
    due = refresh_due(claim)
    claim.updated_at = now
    stamped = note.strip() if note and note.strip() else None
    if to in NEEDS_REASON:
        stamped = (reason or "").strip() + (f"（{stamped}）" if stamped else "")
    return ClaimEvent(
        claim_id=claim.id,
        from_state=from_state,
        to_state=to,
        on_date=on,
        actor=actor,
        note=stamped,
        due_on=due.on,
        due_certain=due.certain,
        created_at=now,
    )


def replay(claim: Claim, events: Sequence[ClaimEvent]) -> None:
    """Rebuild a claim's dates and deadlines from its history (imports, demo data, repairs)."""
    for event in events:
        if event.from_state is None and event.to_state == "submitted":
            claim.submitted_on = event.on_date
            claim.state, claim.state_since = "submitted", event.on_date
        else:
            _apply_dates(claim, event.from_state, event.to_state, event.on_date)
        due = refresh_due(claim)
        event.due_on, event.due_certain = due.on, due.certain


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
    classes = await _by_id(db, TrainingClass, class_ids)
    trainees = await _by_id(db, Trainee, trainee_ids)
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


async def _by_id(db: AsyncSession, model: Any, ids: Iterable[int]) -> dict[int, Any]:
    ids = list(ids)
    if not ids:
        return {}
    return {row.id: row for row in (await db.execute(select(model).where(model.id.in_(ids)))).scalars()}


# -- notifications ---------------------------------------------------------


async def notify_trainees(
    db: AsyncSession, services: Services, pairs: Sequence[tuple[Claim, ClaimEvent]]
) -> int:
    """Tell every reachable chat account of each trainee about the step (idempotent per event)."""
    from bot.claims.formatting import ClaimView, notification

    if not pairs:
        return 0
    trainee_ids = {claim.trainee_id for claim, _ in pairs}
    users: dict[int, list[ChatUser]] = {}
    for user in (
        await db.execute(
            select(ChatUser).where(ChatUser.trainee_id.in_(trainee_ids), ChatUser.reachable.is_(True))
        )
    ).scalars():
        assert user.trainee_id is not None
        users.setdefault(user.trainee_id, []).append(user)
    if not users:
        return 0
    classes = await _by_id(db, TrainingClass, {claim.class_id for claim, _ in pairs})
    institutions = await _by_id(db, Institution, {k.institution_id for k in classes.values()})
    now = services.clock.now()
    rows: list[dict[str, Any]] = []
    for claim, event in pairs:
        klass = classes[claim.class_id]
        view = ClaimView(claim, klass, institutions.get(klass.institution_id))
        text, template = notification(services.texts, view, event, now.date())
        rows.extend(
            {
                "idempotency_key": f"claim:{claim.id}:event:{event.id}:user:{user.id}",
                "chat_user_id": user.id,
                "kind": "claim_update",
                "text": text,
                "choices": [],
                "template": template,
                "due_at": now,
                "status": "pending",
                "attempts": 0,
            }
            for user in users.get(claim.trainee_id, [])
        )
    return await enqueue_many(db, rows)


async def enqueue_many(db: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """`bot.outbox.enqueue` for many rows in one statement (a class's worth of notifications)."""
    if not rows:
        return 0
    insert = pg_insert if db.bind.dialect.name == "postgresql" else sqlite_insert
    result = await db.execute(
        insert(OutboxMessage).values(rows).on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def claims_of_trainee(
    db: AsyncSession, trainee_id: int
) -> list[tuple[Claim, TrainingClass, Institution]]:
    """A trainee's claims, newest class first, with what the answer needs to name them."""
    rows = await db.execute(
        select(Claim, TrainingClass, Institution)
        .join(TrainingClass, TrainingClass.id == Claim.class_id)
        .join(Institution, Institution.id == TrainingClass.institution_id)
        .where(Claim.trainee_id == trainee_id)
        .order_by(TrainingClass.end_date.desc(), Claim.id)
    )
    return [(c, k, i) for c, k, i in rows.all()]
