"""How the screening says its questions: wording, buttons (at most 8), the second group step."""

from __future__ import annotations

from typing import Any

from bot.policy import get_policy
from handlers.base import Context
from handlers.eligibility.answers import group_labels, group_menu, question_texts, year_choices
from handlers.eligibility.store import Store

STEP_GROUPS_MORE = "groups_more"
STEP_GROUPS_SUB = "groups_sub"  # the second step of a grouped button
STEP_SEX = "sex"  # asked only when an age is known and sex settles the retirement question


class Asking:
    """The saying half of the eligibility flow (a mixin: it keeps `flow.py` about the steps)."""

    def _ask(self, ctx: Context, store: Store, field: str, lead: str | None = None) -> None:
        cfg = question_texts(ctx, field)
        if field == "groups" and store.pending:
            ctx.goto(STEP_GROUPS_MORE)
            text = self._noted(ctx, store.pending) + cfg["more"]
            choices = [e.label for e in group_menu(ctx) if not set(e.groups) <= set(store.pending)]
            choices.append(cfg["done_label"])
        else:
            ctx.goto(field)
            text = cfg["ask"]
            choices = self._choices(ctx, field)
        ctx.set_data(misses=0)
        ctx.say(f"{lead}\n{text}" if lead else text, choices)

    def _choices(self, ctx: Context, field: str) -> list[str]:
        cfg = question_texts(ctx, field)
        if field == "groups":
            return [*(e.label for e in group_menu(ctx)), cfg["none_label"], cfg["unsure_label"]]
        if field == "graduation_year":
            years = [label for _, label in year_choices(ctx)]
            return [*years, cfg["earlier_label"], *self._plain_choices(ctx, field)]
        return self._plain_choices(ctx, field)

    def _ask_sub(self, ctx: Context, store: Store, groups: tuple[str, ...]) -> None:
        cfg = self._groups_cfg(ctx)
        labels = group_labels(ctx)
        choices = [labels[g] for g in groups if g not in store.pending]
        ctx.goto(STEP_GROUPS_SUB)
        ctx.say(cfg["sub_ask"], [*choices, cfg["back_label"]])

    @staticmethod
    def _ask_sex(ctx: Context, lead: str | None) -> None:
        cfg = ctx.services.texts.raw("eligibility.sex_question")
        ctx.goto(STEP_SEX)
        ctx.set_data(misses=0)
        ctx.say(f"{lead}\n{cfg['ask']}" if lead else cfg["ask"], [c["label"] for c in cfg["choices"]])

    @staticmethod
    def _groups_cfg(ctx: Context) -> dict[str, Any]:
        return question_texts(ctx, "groups")

    @staticmethod
    def _plain_choices(ctx: Context, field: str) -> list[str]:
        return [c["label"] for c in question_texts(ctx, field).get("choices", [])]

    @staticmethod
    def _noted(ctx: Context, groups: list[str]) -> str:
        labels = get_policy().group_by_id
        return ctx.t("eligibility.noted_groups", groups="、".join(labels[g].name for g in groups))

    @staticmethod
    def _texts(ctx: Context, key: str) -> list[str]:
        return list(ctx.services.texts.raw(f"eligibility.{key}"))

    @staticmethod
    def _law(ctx: Context) -> str:
        return str(ctx.services.texts.raw("eligibility.law_title"))
