"""`config/policy/subsidies.yaml`: what the eligible get (第十五条): attendance rates, the three subsidies."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import Field, model_validator

from bot.policy.schema.cited import Cited, Strict, require_keys

SUBSIDY_IDS = ("training", "evaluation", "living")


class RateParam(Cited):
    value: Decimal = Field(gt=0, le=1)


class FlagParam(Cited):
    value: bool


class AttendanceParams(Strict):
    exam_min_rate: RateParam
    share_min_rate: RateParam
    full_rate: RateParam
    threshold_inclusive: FlagParam

    @model_validator(mode="after")
    def _ordered(self) -> AttendanceParams:
        if self.share_min_rate.value > self.full_rate.value:
            raise ValueError("share_min_rate must not exceed full_rate")
        return self


class Requirement(Strict):
    """One way to meet a qualified group's extra condition: a household or another group."""

    household: str | None = None
    group: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Requirement:
        if (self.household is None) == (self.group is None):
            raise ValueError("a requirement names exactly one of household or group")
        return self


class QualifiedGroup(Strict):
    group: str
    if_any: tuple[Requirement, ...] = Field(min_length=1)


class SubsidyParam(Cited):
    name: str
    covers: Literal["eligible", "key_group", "groups"]
    conditions: tuple[str, ...]
    first_in_year_only: bool = False
    groups: tuple[str, ...] = ()
    qualified_groups: tuple[QualifiedGroup, ...] = ()


class TrainingTypeParam(Cited):
    name: str


class SubsidiesFile(Strict):
    law: dict[str, Any]
    attendance: AttendanceParams
    subsidies: dict[Literal["training", "evaluation", "living"], SubsidyParam]
    training_types: dict[Literal["enterprise_employee", "key_group", "project"], TrainingTypeParam]

    @model_validator(mode="after")
    def _complete(self) -> SubsidiesFile:
        require_keys("subsidies", SUBSIDY_IDS, self.subsidies)
        return self
