"""How the screening words its questions: buttons (at most 8 per message), labels, texts."""

from __future__ import annotations

from typing import Any

from bot.policy import get_policy
from handlers.base import Context
from handlers.eligibility.answers import group_menu, question_texts, year_choices


class Asking:
    """Wording helpers of the eligibility flow (a mixin; the steps themselves stay in `flow.py`)."""

    def _choices(self, ctx: Context, field: str) -> list[str]:
        cfg = question_texts(ctx, field)
        if field == "groups":
            return [*(e.label for e in group_menu(ctx)), cfg["none_label"], cfg["unsure_label"]]
        if field == "graduation_year":
            years = [label for _, label in year_choices(ctx)]
            return [*years, cfg["earlier_label"], *self._plain_choices(ctx, field)]
        return self._plain_choices(ctx, field)

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
