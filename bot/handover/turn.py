"""The conversation side of a hand-over: asking for a person, and the bot stepping aside.

`request` is the 转人工 intent. `intercept` runs in every turn before the
engine routes the message: while a person holds the conversation it keeps
the bot silent (the message is already in the transcript, which the inbox
shows), acknowledges outside working hours at most every so often, and gives
control back on an exact 取消/菜单. `pending` returns what staff wrote to a
web user since their last turn, placed before the turn's own replies.
"""

from __future__ import annotations

from datetime import timedelta

from bot.handover import service
from bot.handover.config import handover_config
from bot.handover.delivery import PULL_CHANNELS, take_pending
from bot.handover.notify import notify_staff
from bot.handover.routing import RegionNames, bound_region, named_region
from bot.services import Services
from handlers.base import Context, Reply


def region_names(services: Services) -> RegionNames:
    names = services.extra.get("handover.region_names")
    if not isinstance(names, RegionNames):
        names = services.extra["handover.region_names"] = RegionNames()
    return names


def _menu(ctx: Context) -> list[str]:
    return [item["label"] for item in ctx.services.texts.raw("menu.menu")]


async def request(ctx: Context) -> None:
    """转人工: open (or repeat) the request, route it, and say who answers and when."""
    services, config = ctx.services, handover_config(ctx.services)
    ctx.end_flow()
    handover = await service.open_handover(ctx.db, ctx.user.id)
    if handover is not None:
        handover.last_request_at = ctx.now  # opened_at keeps the first request's time
        if handover.asking_region:
            ctx.say_key("handover.ask_region")
        else:
            office = service.office_name(services, config, handover.region_code)
            ctx.say_key("handover.still_waiting", office=office)
        return
    region = await bound_region(ctx.db, ctx.user)
    source = "bound" if region else None
    if region is None:
        region = await named_region(
            ctx.db, region_names(services), ctx.user, ctx.text, config.region_lookback_messages
        )
        source = "named" if region else None
    handover = await service.start(
        ctx.db, ctx.user, ctx.now, region=region, source=source, ask=region is None
    )
    if region is None:
        ctx.say_key("handover.ask_region")
        return
    await notify_staff(services, ctx.db, handover, ctx.now)
    ctx.say(service.promise(services, handover, ctx.now))


async def intercept(ctx: Context) -> bool:
    """True when the hand-over takes this message and the engine must not route it."""
    handover = await service.open_handover(ctx.db, ctx.user.id)
    if handover is None:
        return False
    services, config = ctx.services, handover_config(ctx.services)
    handover.last_user_message_at = ctx.now
    if handover.state == "waiting":
        if not handover.asking_region:
            return False  # nobody holds it yet: the bot keeps helping meanwhile
        if ctx.text in config.return_commands:
            await service.give_back_by_user(ctx.db, ctx.user, handover, ctx.now)
            ctx.say_key("handover.returned_by_user", _menu(ctx))
            return True
        # The answer to "您在哪个市县？" (asked once): route it, or leave it to the province queue.
        region = region_names(services).find(ctx.text)
        await service.set_region(ctx.db, handover, region, "named" if region else None)
        await notify_staff(services, ctx.db, handover, ctx.now)
        ctx.say(service.promise(services, handover, ctx.now))
        return True
    if ctx.text in config.return_commands:
        await service.give_back_by_user(ctx.db, ctx.user, handover, ctx.now)
        ctx.end_flow()
        ctx.say_key("handover.returned_by_user", _menu(ctx))
        return True
    hours = service.hours_of(services)
    every = timedelta(minutes=config.ack_every_minutes)
    if not hours.is_open(ctx.now) and (handover.acked_at is None or ctx.now - handover.acked_at >= every):
        handover.acked_at = ctx.now
        ctx.say_key(
            "handover.ack_after_hours", next_open=service.local_moment(services, hours.next_open(ctx.now))
        )
    return True


async def pending(ctx: Context) -> list[Reply]:
    """Staff messages a web (or console) user has not seen yet, to go before this turn's replies."""
    if ctx.user.channel not in PULL_CHANNELS:
        return []
    return [Reply(text, []) for text in await take_pending(ctx.db, ctx.user.id)]
