"""Greeting, the help menu, thanks, cancel, hand-over to a person, and the fallback.

Also the tiny "clarify" flow: when the NLU is unsure, the engine offers the
two likeliest meanings (or asks "您是想签到吗？" when one is likely) and this
flow routes the answer.
"""

from __future__ import annotations

from bot.handover.turn import request as request_handover
from handlers import rules
from handlers.base import Context, Flow, intent_handler, on_intent, register_flow
from nlu.answers import yes_no


def menu_labels(ctx: Context) -> list[str]:
    return [item["label"] for item in ctx.services.texts.raw("menu.menu")]


@on_intent("greet")
async def greet(ctx: Context) -> None:
    ctx.say_key("menu.welcome", menu_labels(ctx))


@on_intent("help")
async def show_help(ctx: Context) -> None:
    ctx.say_key("menu.menu_prompt", menu_labels(ctx))


@on_intent("thanks")
async def thanks(ctx: Context) -> None:
    ctx.say_key("menu.thanks")


@on_intent("cancel")
async def cancel(ctx: Context) -> None:
    if ctx.flow:
        ctx.end_flow()
        ctx.say_key("menu.cancelled", menu_labels(ctx))
    else:
        ctx.say_key("menu.nothing_to_cancel", menu_labels(ctx))


@on_intent("human_agent")
async def human_agent(ctx: Context) -> None:
    """A real hand-over (bot.handover): routed to the right office, answered from the console."""
    await request_handover(ctx)


@on_intent("out_of_scope", "affirm", "deny")
async def fallback(ctx: Context) -> None:
    """Outside any flow: the knowledge base (any question it knows), else an honest "I don't know"."""
    answer = ctx.services.nlu.answer_question(ctx.text, ctx.parse) if ctx.text else None
    if answer is not None:
        rules.say_answer(ctx, answer)
        return
    if rules.is_question(ctx.text):
        rules.say_unknown(ctx)
        return
    ctx.say_key("menu.fallback", [*menu_labels(ctx)])


class Clarify(Flow):
    name = "clarify"

    async def start(self, ctx: Context) -> None:
        # Question and labels come from the NLU (config/nlu), the one place intents are named.
        ctx.say(ctx.data["question"], ctx.data["labels"])

    async def on_message(self, ctx: Context) -> bool:
        intent = ctx.data.get("options", {}).get(ctx.text)
        yes = ctx.data.get("yes")
        if intent is None and yes:
            # "您是想签到吗？" — 嗯/对/👌 run it; 不是 gets the menu, not a guess.
            answer = yes_no(ctx.text)
            if answer is True:
                intent = yes
            elif answer is False:
                ctx.end_flow()
                ctx.say_key("menu.clarify_declined", menu_labels(ctx))
                return True
        ctx.end_flow()
        if intent is None:
            return False
        handler = intent_handler(intent)
        if handler is None:
            return False
        await handler(ctx)
        return True

    async def reask(self, ctx: Context) -> None:
        # Unreachable in practice: on_message always ends this flow, and the engine
        # then routes the message afresh. Kept so the flow is complete on its own.
        await fallback(ctx)


register_flow(Clarify())
