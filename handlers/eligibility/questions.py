"""Which question to ask next, and the day identity is judged on (第十二条)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select

from bot.policy import get_policy
from bot.policy.assessment import Assessment
from bot.policy.eligibility import assess
from handlers.base import Context
from handlers.eligibility.answers import BOOL_FIELDS
from models import Enrollment, TrainingClass


def _outcome(result: Assessment, *, details: bool) -> tuple[Any, ...]:
    """What a trainee would notice of a result: the decision and categories, then each subsidy."""
    subsidies = tuple((k, s.eligible) for k, s in result.subsidies.items()) if details else ()
    return result.eligible, result.categories, subsidies


def _values(field: str, as_of: date) -> list[Any]:
    """Every answer a field can take, or one year on each side of each graduate-window edge."""
    pol = get_policy()
    if field in BOOL_FIELDS:
        return [True, False]
    if field == "employment":
        return list(pol.eligibility.employment_values)
    if field == "household":
        return list(pol.eligibility.household_values)
    if field == "graduation_year":
        window = pol.eligibility.graduate_window
        span = max(window.graduation_year_offsets) + window.unemployed_years_after
        return [as_of.year - back for back in range(min(window.graduation_year_offsets) - 1, span + 2)]
    return [[], *([g] for g in pol.group_ids)]


def next_question(result: Assessment, answers: dict[str, Any], skipped: list[str], as_of: date) -> str | None:
    """The engine's next question, skipping what was answered 不清楚.

    The engine counts a 不清楚 field as one that may still be answered, so once
    something is skipped, a later question may only matter through it (the
    graduation year when the groups are unknown). Such a question is passed
    over: it is asked only if some answer to it would change what the person
    is told while the skipped fields stay unknown — and while it is unknown
    whether they can join at all, only what could settle that is asked (the
    subsidy details come after).
    """
    if not skipped:
        return result.missing[0] if result.missing else None
    details = result.eligible is not None
    base = _outcome(result, details=details)
    for field in result.missing:
        if field in skipped:
            continue
        for value in _values(field, as_of):
            if _outcome(assess({**answers, field: value}, as_of), details=details) != base:
                return field
    return None


async def class_end(ctx: Context) -> date | None:
    """End of the running class of a bound trainee: the day identity is judged (第十二条)."""
    if ctx.user.trainee_id is None:
        return None
    query = (
        select(func.min(TrainingClass.end_date))
        .join(Enrollment, Enrollment.class_id == TrainingClass.id)
        .where(
            Enrollment.trainee_id == ctx.user.trainee_id,
            Enrollment.status == "enrolled",
            TrainingClass.status != "cancelled",
            TrainingClass.end_date >= ctx.today,
        )
    )
    end: date | None = (await ctx.db.execute(query)).scalar_one_or_none()
    return end


def groups_matter(answers: dict[str, Any], pending: list[str], as_of: date) -> bool:
    """Whether one more group than those already named could change what the person is told.

    If not, "还有其他情况吗" is a question that cannot matter and is not asked.
    """

    def noticed(result: Assessment) -> tuple[Any, ...]:
        # The decision and each subsidy: another category name alone changes nothing for them.
        return result.eligible, tuple((k, s.eligible) for k, s in result.subsidies.items())

    outcome = noticed(assess({**answers, "groups": sorted(pending)}, as_of))
    for gid in get_policy().group_ids:
        if gid in pending:
            continue
        if noticed(assess({**answers, "groups": sorted([*pending, gid])}, as_of)) != outcome:
            return True
    return False
