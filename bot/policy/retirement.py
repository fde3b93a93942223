"""The statutory retirement age as dated data (`config/policy/retirement.yaml`).

The screening must know whether someone has reached the statutory retirement
age (第十二条（二）). Since 2025-01-01 that age depends on the birth month as
well as on sex and the post's original age (国务院关于渐进式延迟法定退休年龄的
办法, 第二条), so an age alone settles it only away from the edges. `reached`
is three-valued like the rest of the engine: given the range of birth dates
an answer allows ("六十二", "二十出头", "68年的") and, if known, the sex, it is
True or False when every schedule and every birth date in the range agree,
else None — and `deciding` says what would settle it.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot.policy.params import POLICY_DIR
from bot.policy.schema.cited import PolicyError

Sex = Literal["male", "female"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    document: str = Field(min_length=1)
    adopted: date
    effective: date
    attachment: str
    article: str
    quote: str


class Schedule(_Strict):
    name: str
    original_age: int = Field(gt=0)
    every_months: int = Field(gt=0)
    target_age: int = Field(gt=0)

    @property
    def max_delay_months(self) -> int:
        return (self.target_age - self.original_age) * 12


class YoungGroups(_Strict):
    groups: tuple[str, ...]
    document: str
    article: str
    quote: str


class RetirementRules(_Strict):
    source: Source
    start: date
    not_of_retirement_age: YoungGroups
    by_sex: dict[Sex, tuple[str, ...]]
    schedules: dict[str, Schedule]

    @model_validator(mode="after")
    def _known_schedules(self) -> RetirementRules:
        for sex, names in self.by_sex.items():
            unknown = set(names) - set(self.schedules)
            if unknown:
                raise ValueError(f"by_sex.{sex} names unknown schedules {sorted(unknown)}")
        return self

    @property
    def citation(self) -> str:
        return f"{self.source.attachment}{self.source.article}"


def _add_months(d: date, months: int) -> date:
    """The same day `months` later; the 29th–31st of a short month become its last day."""
    idx = d.year * 12 + d.month - 1 + months
    year, month = divmod(idx, 12)
    month += 1
    for day in range(d.day, 27, -1) if d.day > 28 else (d.day,):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    return date(year, month, 28)


def retirement_age_months(rules: RetirementRules, schedule: str, birth: date) -> int:
    """The statutory retirement age in months for someone born on `birth` under `schedule`."""
    s = rules.schedules[schedule]
    original = s.original_age * 12
    original_month = _add_months(date(birth.year, birth.month, 1), original)
    since_start = (original_month.year - rules.start.year) * 12 + original_month.month - rules.start.month
    if since_start < 0:
        return original
    return original + min(since_start // s.every_months + 1, s.max_delay_months)


def retirement_date(rules: RetirementRules, schedule: str, birth: date) -> date:
    return _add_months(birth, retirement_age_months(rules, schedule, birth))


def births_for_age(lowest: int, highest: int, on: date) -> tuple[date, date]:
    """Earliest and latest birth dates of someone aged `lowest`–`highest` full years on `on`."""
    latest = _add_months(on, -12 * lowest)
    earliest = _add_months(on, -12 * (highest + 1)) + timedelta(days=1)
    return earliest, latest


def births_for_year(year: int) -> tuple[date, date]:
    return date(year, 1, 1), date(year, 12, 31)


def schedules_for(rules: RetirementRules, sex: Sex | None) -> tuple[str, ...]:
    if sex is None:
        return tuple(dict.fromkeys(n for names in rules.by_sex.values() for n in names))
    return rules.by_sex[sex]


def reached(
    births: tuple[date, date], as_of: date, sex: Sex | None = None, rules: RetirementRules | None = None
) -> bool | None:
    """Whether the statutory age is reached on `as_of`, for every birth date in range and schedule.

    A later birth never retires earlier, so the two ends of the range decide.
    """
    r = rules or get_retirement_rules()
    earliest, latest = births
    outcomes = set()
    for schedule in schedules_for(r, sex):
        outcomes.add(as_of >= retirement_date(r, schedule, latest))
        outcomes.add(as_of >= retirement_date(r, schedule, earliest))
    return outcomes.pop() if len(outcomes) == 1 else None


def deciding(
    births: tuple[date, date], as_of: date, sex: Sex | None = None, rules: RetirementRules | None = None
) -> Literal["sex", "ask"] | None:
    """What would settle an undecided `reached`: the sex (when it settles it for at least one
    sex, the cheaper question), or only the person themself."""
    r = rules or get_retirement_rules()
    if reached(births, as_of, sex, r) is not None:
        return None
    if sex is None and any(reached(births, as_of, s, r) is not None for s in r.by_sex):
        return "sex"
    return "ask"


def load_retirement_rules(path: Path = POLICY_DIR / "retirement.yaml") -> RetirementRules:
    try:
        return RetirementRules.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise PolicyError(f"{path}: {exc}") from exc


@lru_cache(maxsize=1)
def get_retirement_rules() -> RetirementRules:
    return load_retirement_rules()
