"""Read-only claim look-ups shared by the batch operations, the notifications and the chat."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from models import Claim, Enrollment, TrainingClass

CLAIMS = Claim.__table__
CLASSES = TrainingClass.__table__
ENROLLMENTS = Enrollment.__table__

# The chat's 补贴到哪了 reads rows, not ORM objects: every claim column (the due-date
# arithmetic reads them by name) with the class's name and region, in one joined
# statement built once (its compiled form is cached).
SELECT_TRAINEE_CLAIMS = (
    select(
        *CLAIMS.columns,
        CLASSES.c.name.label("class_name"),
        CLASSES.c.region_code.label("class_region"),
    )
    .join(CLASSES, CLASSES.c.id == CLAIMS.c.class_id)
    .where(CLAIMS.c.trainee_id == bindparam("trainee_id"))
    .order_by(CLASSES.c.end_date.desc(), CLAIMS.c.id)
)
# The trainee's classes that count for a claim (not withdrawn, not cancelled), newest end first.
SELECT_CLAIMABLE_CLASSES = (
    select(CLASSES.c.id, CLASSES.c.name, CLASSES.c.end_date, CLASSES.c.region_code)
    .join(ENROLLMENTS, ENROLLMENTS.c.class_id == CLASSES.c.id)
    .where(
        ENROLLMENTS.c.trainee_id == bindparam("trainee_id"),
        ENROLLMENTS.c.status != "withdrawn",
        CLASSES.c.status != "cancelled",
    )
    .order_by(CLASSES.c.end_date.desc())
)


async def by_id(db: AsyncSession, model: Any, ids: Iterable[int]) -> dict[int, Any]:
    ids = list(ids)
    if not ids:
        return {}
    return {row.id: row for row in (await db.execute(select(model).where(model.id.in_(ids)))).scalars()}


async def claims_of_trainee(db: Any, trainee_id: int) -> list[Row[Any]]:
    """A trainee's claims, newest class first: rows of claim columns + class_name, class_region."""
    return list((await db.execute(SELECT_TRAINEE_CLAIMS, {"trainee_id": trainee_id})).all())


async def claimable_classes(db: Any, trainee_id: int) -> list[Row[Any]]:
    """The trainee's classes a claim could be for: id, name, end_date, region_code."""
    return list((await db.execute(SELECT_CLAIMABLE_CLASSES, {"trainee_id": trainee_id})).all())
