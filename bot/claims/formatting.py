"""Claims in plain Chinese: the trainee's status answer and the notification of each step.

Kept apart from the state machine so the words (config/messages/claims.yaml)
can change without touching the rules, and so the chat answer and the
outbox notification say a stage the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.claims.config import get_claims_config
from bot.claims.due_dates import Outlook, outlook
from bot.policy import get_calendar, get_policy
from bot.texts import Texts
from models import Claim, ClaimEvent, Institution, TrainingClass


@dataclass(frozen=True)
class ClaimView:
    claim: Claim
    klass: TrainingClass
    institution: Institution | None = None


def fmt_date(texts: Texts, d: date, today: date) -> str:
    key = "claims.date_same_year" if d.year == today.year else "claims.date_other_year"
    return texts.get(key, year=d.year, month=d.month, day=d.day)


def subsidy_name(subsidy_type: str) -> str:
    return get_policy().subsidies.subsidies[subsidy_type].name  # type: ignore[index]


def article_of(event: str) -> str:
    return get_policy().deadlines[event].article


def provisional_years(dates: list[date | None]) -> list[int]:
    """Years spanned by these dates whose official holiday arrangement is not loaded."""
    known = [d for d in dates if d is not None]
    if not known:
        return []
    cal = get_calendar()
    return [y for y in range(min(known).year, max(known).year + 1) if not cal.is_certain(y)]


def provisional_line(texts: Texts, dates: list[date | None]) -> str | None:
    years = provisional_years(dates)
    if not years:
        return None
    return texts.get("claims.provisional", years="、".join(str(y) for y in years))


def status_block(texts: Texts, claim: Any, class_name: str, today: date, complaint_line: str) -> str:
    """One claim as the trainee sees it: stage, since when, next step, payment date, what to do.

    `claim` is a `Claim` or a row with its columns (the chat reads rows, issue 17).
    """
    d = lambda value: fmt_date(texts, value, today)  # noqa: E731
    look: Outlook = outlook(claim, today)
    lines = [
        texts.get("claims.header", subsidy=subsidy_name(claim.subsidy_type), class_name=class_name),
        texts.get(
            "claims.stage", state=texts.get(f"claims.states.{claim.state}"), since=d(claim.state_since)
        ),
    ]
    due = look.due
    if claim.state == "in_publicity" and claim.publicity_end is not None and claim.publicity_end < today:
        lines.append(texts.get("claims.publicity_ended", date=d(claim.publicity_end)))
    if due.event is not None and due.on is not None:
        lines.append(
            texts.get(
                "claims.next",
                step=texts.get(f"claims.steps.{due.event}"),
                due=d(due.on),
                article=article_of(due.event),
            )
        )
    if claim.state == "paid" and claim.paid_on is not None:
        lines.append(texts.get("claims.paid", date=d(claim.paid_on)))
    elif look.payment_by is not None and look.due.event != "payment":
        key = "claims.payment_by_overdue" if look.overdue else "claims.payment_by"
        lines.append(texts.get(key, date=d(look.payment_by)))
    if claim.amount is not None:
        lines.append(texts.get("claims.amount_line", amount=texts.get("claims.amount", amount=claim.amount)))
    elif claim.state not in ("rejected", "returned"):
        lines.append(texts.get("claims.amount_unknown"))
    if claim.state == "returned":
        lines.append(texts.get("claims.returned", reason=claim.reason or ""))
    elif claim.state == "rejected":
        lines.append(texts.get("claims.rejected", reason=claim.reason or "", line=complaint_line))
    elif claim.state == "objection":
        lines.append(texts.get("claims.objection", payment_days=get_policy().deadlines["payment"].count))
    if look.overdue and due.on is not None and due.event is not None:
        lines.append(
            texts.get("claims.overdue", due=d(due.on), article=article_of(due.event), line=complaint_line)
        )
    if claim.state != "paid":
        note = provisional_line(texts, [due.on, look.payment_by])
        if note:
            lines.append(note)
    return "\n".join(lines)


def notification(
    texts: Texts, view: ClaimView, event: ClaimEvent, today: date, complaint_line: str = ""
) -> tuple[str, dict[str, Any]]:
    """The outbox text of one step, and the WeChat template fields for outside the 48-hour window."""
    claim, klass = view.claim, view.klass
    look = outlook(claim, today)
    line = complaint_line or get_claims_config().complaint_lines.for_region(klass.region_code)
    d = lambda value: fmt_date(texts, value, today) if value else ""  # noqa: E731
    amount = texts.get("claims.amount", amount=claim.amount) if claim.amount is not None else ""
    state = event.to_state
    text = texts.get(
        f"claims.notify.{state}",
        subsidy=subsidy_name(claim.subsidy_type),
        class_name=klass.name,
        due=d(look.due.on),
        payment=d(look.payment_by),
        reason=claim.reason or "",
        amount=amount,
        on=d(event.on_date),
        line=line,
    )
    note = provisional_line(texts, [look.due.on, look.payment_by]) if state != "paid" else None
    parts = [text] + ([note] if note else []) + [texts.get("claims.notify.query_hint")]
    next_step = ""
    if look.due.event is not None and look.due.on is not None:
        next_step = f"{texts.get(f'claims.steps.{look.due.event}')} {d(look.due.on)}"
    template = {
        "template": "claim_update",
        "fields": {
            "class_name": klass.name,
            "state": texts.get(f"claims.states.{state}"),
            "date": event.on_date.isoformat(),
            "next_step": next_step,
        },
    }
    return "\n".join(parts), template
