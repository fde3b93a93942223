"""`config/policy/eligibility.yaml`: who may join (第十二条): categories, groups, graduates, retirement."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from bot.policy.schema.cited import Cited, Strict, require_keys

CATEGORY_IDS = ("enterprise_employee", "key_group", "designated")


class CategoryParam(Cited):
    name: str
    employment: tuple[str, ...] = ()
    excluded_when_retired: bool = False


class GroupParam(Cited):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    category: Literal["key_group", "designated"] | None


class GraduateWindow(Cited):
    group: str
    graduation_year_offsets: tuple[int, ...]
    unemployed_years_after: int = Field(ge=0)


class RetirementParam(Cited):
    applies_to: Literal["key_group"]
    requires_receives_pension: bool
    requires_ability_assessed: bool
    assessed_by: str
    filed_with: str


class IdentityParam(Cited):
    judged_at: Literal["class_end"]


class ApplyAt(Cited):
    where: str


class EligibilityFile(Strict):
    law: dict[str, Any]
    categories: dict[Literal["enterprise_employee", "key_group", "designated"], CategoryParam]
    employment_values: dict[str, str]
    household_values: dict[str, str]
    groups: tuple[GroupParam, ...]
    graduate_window: GraduateWindow
    retirement: RetirementParam
    identity: IdentityParam
    apply_at: ApplyAt

    @model_validator(mode="after")
    def _complete(self) -> EligibilityFile:
        require_keys("categories", CATEGORY_IDS, self.categories)
        ids = [g.id for g in self.groups]
        if len(ids) != len(set(ids)):
            raise ValueError("duplicate group ids")
        if self.graduate_window.group not in ids:
            raise ValueError(f"graduate_window.group {self.graduate_window.group!r} is not a group")
        unknown = set(self.categories["enterprise_employee"].employment) - set(self.employment_values)
        if unknown:
            raise ValueError(f"enterprise_employee.employment has unknown values {sorted(unknown)}")
        return self
