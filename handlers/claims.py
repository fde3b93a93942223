"""我的补贴到哪了 / 钱什么时候到账 (intent `claim_status`).

The most anxious question a trainee has. The answer gives, per claim, the
stage in plain words and since when, the next step and its legal latest
date, the latest payment date if all goes normally, the amount where known,
and — when a step is overdue — the complaint line of 第十九条. Classes that
ended without a claim get the institution's own deadline (第十六条).

Only a bound account is answered, and only with its own trainee's claims.
"""

from __future__ import annotations

from typing import Any

from bot.claims.config import get_claims_config
from bot.claims.formatting import fmt_date, provisional_line, status_block
from bot.claims.queries import claimable_classes, claims_of_trainee
from bot.policy import get_policy
from bot.policy.deadlines import compute_deadline
from handlers.base import Context, on_intent
from handlers.common import bound_trainee, reader


async def unclaimed_classes(ctx: Context, trainee_id: int, claimed: set[int], db: Any) -> list[str]:
    """What the trainee should know about their classes that have no claim yet."""
    texts, today = ctx.services.texts, ctx.today
    d = lambda value: fmt_date(texts, value, today)  # noqa: E731
    complaint = get_claims_config().complaint_lines
    lines = []
    for klass in await claimable_classes(db, trainee_id):
        if klass.id in claimed:
            continue
        if klass.end_date >= today:
            days = get_policy().deadlines["claim_submission"].count
            lines.append(
                texts.get("claims.none_running", class_name=klass.name, end=d(klass.end_date), days=days)
            )
            continue
        limit = compute_deadline("claim_submission", klass.end_date)
        key = "claims.none_finished_late" if limit.deadline < today else "claims.none_finished"
        lines.append(
            texts.get(
                key,
                class_name=klass.name,
                end=d(klass.end_date),
                deadline=d(limit.deadline),
                line=complaint.for_region(klass.region_code),
            )
        )
        if not limit.calendar_certain:
            note = provisional_line(texts, [limit.deadline])
            if note:
                lines.append(note)
    return lines


@on_intent("claim_status")
async def claim_status(ctx: Context) -> None:
    trainee = await bound_trainee(ctx)
    if trainee is None:
        return
    texts, today = ctx.services.texts, ctx.today
    complaint = get_claims_config().complaint_lines
    db = reader(ctx)
    rows = await claims_of_trainee(db, trainee.id)
    blocks = [
        status_block(texts, row, row.class_name, today, complaint.for_region(row.class_region))
        for row in rows
    ]
    others = await unclaimed_classes(ctx, trainee.id, {row.class_id for row in rows}, db)
    if not blocks:
        ctx.say("\n".join([texts.get("claims.none"), *others, texts.get("claims.none_hint")]))
        return
    parts = [texts.get("claims.intro", count=len(blocks)) if len(blocks) > 1 else None, *blocks, *others]
    ctx.say("\n\n".join(p for p in parts if p))
