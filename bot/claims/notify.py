"""Telling trainees about claim steps through the outbox, one row per step and chat account.

Separate from the batch operations so the wording (`bot.claims.formatting`)
can depend on the due dates without the state machine depending on the
wording: this module is the only place that joins the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.claims.formatting import ClaimView, notification
from bot.claims.queries import by_id
from bot.services import Services
from models import ChatUser, Claim, ClaimEvent, Institution, OutboxMessage, TrainingClass


async def notify_trainees(
    db: AsyncSession, services: Services, pairs: Sequence[tuple[Claim, ClaimEvent]]
) -> int:
    """Tell every reachable chat account of each trainee about the step (idempotent per event)."""
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
    classes = await by_id(db, TrainingClass, {claim.class_id for claim, _ in pairs})
    institutions = await by_id(db, Institution, {k.institution_id for k in classes.values()})
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
