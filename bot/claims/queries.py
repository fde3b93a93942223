"""Read-only claim look-ups shared by the batch operations, the notifications and the chat."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Claim, Institution, TrainingClass


async def by_id(db: AsyncSession, model: Any, ids: Iterable[int]) -> dict[int, Any]:
    ids = list(ids)
    if not ids:
        return {}
    return {row.id: row for row in (await db.execute(select(model).where(model.id.in_(ids)))).scalars()}


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
