"""`config/claims.yaml`: the operational knobs of binding, claims and deadline reminders.

Validated once, at first use: a reminder point the law makes meaningless
(the 12th working day of a 10-working-day submission period) stops the
service with a message instead of silently never firing.
"""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import Field, ValidationError, model_validator

from bot.config_file import StrictModel, load_yaml
from bot.policy import get_policy
from bot.settings import CONFIG_DIR
from models.staff import STAFF_ROLES

CONFIG_FILE = CONFIG_DIR / "claims.yaml"


class ClaimsConfigError(Exception):
    """config/claims.yaml is invalid; the message says where."""


class Binding(StrictModel):
    max_failures: int = Field(ge=1, le=100)
    lock_minutes: int = Field(ge=1, le=7 * 24 * 60)
    code_length: int = Field(ge=6, le=16)
    code_min_length: int = Field(ge=4, le=16)
    code_max_length: int = Field(ge=4, le=32)
    code_ttl_days: int = Field(ge=1, le=365)
    unbind_words: tuple[str, ...] = Field(min_length=1)
    code_words: tuple[str, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _lengths(self) -> Binding:
        if not self.code_min_length <= self.code_length <= self.code_max_length:
            raise ValueError("need code_min_length <= code_length <= code_max_length")
        return self


class MonthlyReport(StrictModel):
    working_day_of_month: int = Field(ge=1, le=20)
    roles: tuple[str, ...]
    extra_regions: tuple[str, ...] = ()


class Reminders(StrictModel):
    run_at: time
    class_application_working_days_before: tuple[int, ...] = Field(min_length=1)
    claim_submission_working_days_after: tuple[int, ...] = Field(min_length=1)
    rectification_working_days_before: tuple[int, ...] = Field(min_length=1)
    staff_alert_roles: tuple[str, ...]
    monthly_report: MonthlyReport

    @model_validator(mode="after")
    def _points(self) -> Reminders:
        submission = get_policy().deadlines["claim_submission"].count
        for name in (
            "class_application_working_days_before",
            "claim_submission_working_days_after",
            "rectification_working_days_before",
        ):
            points = getattr(self, name)
            if any(p < 0 for p in points) or len(set(points)) != len(points):
                raise ValueError(f"{name}: points must be distinct and not negative")
        if any(p < 1 or p > submission for p in self.claim_submission_working_days_after):
            raise ValueError(
                f"claim_submission_working_days_after: each point must lie within the statutory "
                f"{submission} working days (config/policy/deadlines.yaml)"
            )
        for role in (*self.staff_alert_roles, *self.monthly_report.roles):
            if role not in STAFF_ROLES:
                raise ValueError(f"unknown staff role {role!r}")
        return self


class ComplaintLines(StrictModel):
    default: str = Field(min_length=1)
    by_region: dict[str, str] = Field(default_factory=dict)

    def for_region(self, region_code: str | None) -> str:
        """The line of the most specific region prefix that matches, else the default."""
        best, best_len = self.default, -1
        for prefix, line in self.by_region.items():
            if region_code and region_code.startswith(prefix) and len(prefix) > best_len:
                best, best_len = line, len(prefix)
        return best


class ClaimsConfig(StrictModel):
    binding: Binding
    reminders: Reminders
    complaint_lines: ComplaintLines
    max_batch: int = Field(ge=1, le=10_000)


def load_claims_config(path: Path = CONFIG_FILE) -> ClaimsConfig:
    try:
        return load_yaml(ClaimsConfig, path)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise ClaimsConfigError(f"{path}: {exc}") from exc


@lru_cache(maxsize=1)
def get_claims_config() -> ClaimsConfig:
    return load_claims_config()
