"""Small pieces several handlers share."""

from __future__ import annotations

from handlers.base import Context
from models import Trainee


async def bound_trainee(ctx: Context) -> Trainee | None:
    """The trainee this chat account is bound to; otherwise asks the user to bind first.

    Only a bound user may see their own attendance and claims, so every handler
    that shows personal data goes through here.
    """
    if ctx.user.trainee_id is not None:
        trainee = await ctx.db.get(Trainee, ctx.user.trainee_id)
        if trainee is not None:
            return trainee
    ctx.say_key("common.bind_first", [ctx.t("common.bind_button")])
    return None
