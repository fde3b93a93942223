"""`config/policy/texts.yaml`: the cited sentences the engine says; the keys it needs are checked at load."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from bot.policy.schema.cited import Cited, Strict, require_keys

# Texts the engine looks up by key; checked at load so a missing one fails early.
REQUIRED_REASONS = (
    "enterprise_employee",
    "employee_retired",
    "key_group",
    "designated",
    "graduate_in_year",
    "graduate_unemployed_window",
    "graduate_employed",
    "graduate_window_passed",
    "graduate_not_yet",
    "retired_pension",
    "retired_not_assessed",
    "retired_assessed",
    "no_category",
    "identity_at_class_end",
    "training_covered",
    "evaluation_covered",
    "evaluation_not_key_group",
    "evaluation_not_first",
    "living_covered",
    "living_not_covered",
)
REQUIRED_CONDITIONS = ("certificate", "attendance", "evaluation_certificate", "evaluation_first")
REQUIRED_NOTES = ("where_to_apply", "documents", "screening")


class TextParam(Cited):
    text: str = Field(min_length=1)


class TextsFile(Strict):
    law: dict[str, Any]
    reasons: dict[str, TextParam]
    conditions: dict[str, TextParam]
    living_covered_description: TextParam
    notes: dict[str, TextParam]

    @model_validator(mode="after")
    def _complete(self) -> TextsFile:
        for section, keys in (
            ("reasons", REQUIRED_REASONS),
            ("conditions", REQUIRED_CONDITIONS),
            ("notes", REQUIRED_NOTES),
        ):
            require_keys(section, keys, getattr(self, section))
        return self
