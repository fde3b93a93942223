"""The subsidy claim state machine of 第十六条 and 第十七条: which step may follow which.

    submitted ──> under_review ──> approved ──> in_publicity ──> payment_pending ──> paid
        │  ^           │  │                        │                 ^
        v  │           │  v                        v                 │
      returned <───────┘ rejected <──────────── objection ───────────┘

Pure rules on one claim, no database: kept apart from the batch operations
(`bot.claims.lifecycle`) so the API, the demo data and repairs (`replay`)
all judge and apply a step the same way. A transition the graph does not
allow is refused whole (`ClaimError`, 409).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.claims.due_dates import refresh_due
from bot.policy.deadlines import compute_deadline
from models import Claim, ClaimEvent
from models.claims import CLAIM_STATES

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
