"""Small pieces several handlers share."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select

from bot.turn_store import LazySession
from handlers.base import Context
from models import Trainee

TRAINEES = Trainee.__table__
SELECT_BOUND = select(TRAINEES.c.id, TRAINEES.c.name).where(TRAINEES.c.id == bindparam("trainee_id"))


def reader(ctx: Context) -> Any:
    """Where a read-only personal answer runs its Core statements.

    A status answer (补贴到哪了, 签到, 我的出勤率) needs rows, not an ORM object
    graph: on the turn's own connection it skips making the ORM session and
    the flush it would cost at the end of the turn (issue 17). Once a session
    exists (or in a caller that passed a real one) it is used, so the reads
    see what the turn has already changed.
    """
    db = ctx.db
    return db.reader() if isinstance(db, LazySession) else db


async def bound_trainee(ctx: Context) -> Any | None:
    """The trainee (id, name) this chat account is bound to; otherwise asks the user to bind first.

    Only a bound user may see their own attendance and claims, so every handler
    that shows personal data goes through here.
    """
    if ctx.user.trainee_id is not None:
        db = reader(ctx)
        trainee = (await db.execute(SELECT_BOUND, {"trainee_id": ctx.user.trainee_id})).first()
        if trainee is not None:
            return trainee
    ctx.say_key("common.bind_first", [ctx.t("common.bind_button")])
    return None
