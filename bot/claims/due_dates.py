"""When each claim step is due by law, and when the money should arrive.

Each state knows the statutory latest date of its next step (`Claim.due_on`,
from `bot.policy.deadlines`); `outlook` chains the remaining periods to the
latest date the money is due if everything goes normally. Kept apart from
the state machine because the chat answer, the formatting of notifications
and the staff alerts (`bot.claims.deadlines`) read these dates without
changing any claim.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ColumnElement, and_, or_

from bot.policy import get_calendar, get_policy
from bot.policy.deadlines import compute_deadline
from models import Claim

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
