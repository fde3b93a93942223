"""`config/policy/questions.yaml`: the order of asking, and why each profile field is asked."""

from __future__ import annotations

from typing import Any

from pydantic import model_validator

from bot.policy.schema.cited import Cited, Strict

# The profile fields of the public contract, in no particular order (the
# order of asking lives in config/policy/questions.yaml).
PROFILE_FIELDS = (
    "employment",
    "groups",
    "graduation_year",
    "employed_since_graduation",
    "household",
    "reached_retirement_age",
    "receives_pension",
    "ability_assessed",
    "first_evaluation_this_year",
)


class QuestionParam(Cited):
    field: str
    label: str
    why: str


class QuestionsFile(Strict):
    law: dict[str, Any]
    fields: tuple[QuestionParam, ...]

    @model_validator(mode="after")
    def _every_field_once(self) -> QuestionsFile:
        names = [q.field for q in self.fields]
        if sorted(names) != sorted(PROFILE_FIELDS):
            raise ValueError(f"fields must list each profile field once: {sorted(PROFILE_FIELDS)}")
        return self
