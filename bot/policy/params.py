"""Loading and validating the rules of 吉人社规〔2024〕3号 from `config/policy/`.

The rules are data so that a new policy version is a YAML edit. Validation is
strict and happens once, at start: a parameter without its article, a group
id that does not exist or a text the engine needs but cannot find stops the
service with a message instead of producing a wrong answer for a trainee.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.settings import CONFIG_DIR

POLICY_DIR = CONFIG_DIR / "policy"

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
CATEGORY_IDS = ("enterprise_employee", "key_group", "designated")
SUBSIDY_IDS = ("training", "evaluation", "living")
CLAIM_IDS = ("enterprise_employee", "key_group", "project", "evaluation", "living")
DEADLINE_RULES = ("working_days_after", "working_days_before", "working_days_including", "calendar_months")

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

_ARTICLE = re.compile(r"^第[一二三四五六七八九十百零〇]+条$")


class PolicyError(Exception):
    """The policy configuration is invalid; the message names the file and the place."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Cited(_Strict):
    """Anything that is law: it says where it comes from and since when."""

    article: str
    document: str = Field(min_length=1)
    effective: date
    clause: str | None = None
    quote: str | None = None
    note: str | None = None

    @field_validator("article")
    @classmethod
    def _article_shape(cls, v: str) -> str:
        if not _ARTICLE.match(v):
            raise ValueError(f"article must look like 第十二条, got {v!r}")
        return v

    @property
    def citation(self) -> str:
        """The article with its item, e.g. 第十五条（三）, for people reading the source."""
        return self.article + (self.clause or "")


# --- eligibility.yaml -------------------------------------------------------


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


class EligibilityFile(_Strict):
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
        missing = set(CATEGORY_IDS) - set(self.categories)
        if missing:
            raise ValueError(f"categories missing: {sorted(missing)}")
        ids = [g.id for g in self.groups]
        if len(ids) != len(set(ids)):
            raise ValueError("duplicate group ids")
        if self.graduate_window.group not in ids:
            raise ValueError(f"graduate_window.group {self.graduate_window.group!r} is not a group")
        unknown = set(self.categories["enterprise_employee"].employment) - set(self.employment_values)
        if unknown:
            raise ValueError(f"enterprise_employee.employment has unknown values {sorted(unknown)}")
        return self


# --- subsidies.yaml ---------------------------------------------------------


class RateParam(Cited):
    value: Decimal = Field(gt=0, le=1)


class FlagParam(Cited):
    value: bool


class CountParam(Cited):
    value: int = Field(gt=0)


class ClassParams(_Strict):
    offline_max_size: CountParam


class AttendanceParams(_Strict):
    exam_min_rate: RateParam
    share_min_rate: RateParam
    full_rate: RateParam
    threshold_inclusive: FlagParam

    @model_validator(mode="after")
    def _ordered(self) -> AttendanceParams:
        if self.share_min_rate.value > self.full_rate.value:
            raise ValueError("share_min_rate must not exceed full_rate")
        return self


class Requirement(_Strict):
    """One way to meet a qualified group's extra condition: a household or another group."""

    household: str | None = None
    group: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Requirement:
        if (self.household is None) == (self.group is None):
            raise ValueError("a requirement names exactly one of household or group")
        return self


class QualifiedGroup(_Strict):
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


class SubsidiesFile(_Strict):
    law: dict[str, Any]
    attendance: AttendanceParams
    classes: ClassParams
    subsidies: dict[Literal["training", "evaluation", "living"], SubsidyParam]
    training_types: dict[Literal["enterprise_employee", "key_group", "project"], TrainingTypeParam]

    @model_validator(mode="after")
    def _complete(self) -> SubsidiesFile:
        missing = set(SUBSIDY_IDS) - set(self.subsidies)
        if missing:
            raise ValueError(f"subsidies missing: {sorted(missing)}")
        return self


# --- documents.yaml ---------------------------------------------------------


class DocumentItem(_Strict):
    key: str
    text: str
    provided_by: Literal["trainee", "institution"]
    only_for_groups: tuple[str, ...] = ()


class ClaimParam(Cited):
    name: str
    items: tuple[DocumentItem, ...] = Field(min_length=1)


class DocumentsFile(_Strict):
    law: dict[str, Any]
    claims: dict[Literal["enterprise_employee", "key_group", "project", "evaluation", "living"], ClaimParam]

    @model_validator(mode="after")
    def _complete(self) -> DocumentsFile:
        missing = set(CLAIM_IDS) - set(self.claims)
        if missing:
            raise ValueError(f"claims missing: {sorted(missing)}")
        return self


# --- deadlines.yaml ---------------------------------------------------------


class DeadlineParam(Cited):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str
    from_: str = Field(alias="from")
    rule: Literal["working_days_after", "working_days_before", "working_days_including", "calendar_months"]
    count: int = Field(gt=0, le=366)


class DeadlinesFile(_Strict):
    law: dict[str, Any]
    events: dict[str, DeadlineParam] = Field(min_length=1)


# --- questions.yaml ---------------------------------------------------------


class QuestionParam(Cited):
    field: str
    label: str
    why: str


class QuestionsFile(_Strict):
    law: dict[str, Any]
    fields: tuple[QuestionParam, ...]

    @model_validator(mode="after")
    def _every_field_once(self) -> QuestionsFile:
        names = [q.field for q in self.fields]
        if sorted(names) != sorted(PROFILE_FIELDS):
            raise ValueError(f"fields must list each profile field once: {sorted(PROFILE_FIELDS)}")
        return self


# --- texts.yaml -------------------------------------------------------------


class TextParam(Cited):
    text: str = Field(min_length=1)


class TextsFile(_Strict):
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
            missing = set(keys) - set(getattr(self, section))
            if missing:
                raise ValueError(f"{section} missing: {sorted(missing)}")
        return self


# --- the assembled policy ---------------------------------------------------


def percent(rate: Decimal) -> str:
    """0.70 -> '70%': thresholds are shown the way the law writes them."""
    text = f"{rate * 100:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text + "%"


@dataclass(frozen=True)
class Policy:
    """The validated rules, plus lookup tables precomputed for the hot path of `assess`."""

    eligibility: EligibilityFile
    subsidies: SubsidiesFile
    documents: DocumentsFile
    deadlines: dict[str, DeadlineParam]
    questions: tuple[QuestionParam, ...]
    texts: TextsFile
    group_by_id: dict[str, GroupParam] = field(init=False)
    key_group_ids: tuple[str, ...] = field(init=False)
    designated_group_ids: tuple[str, ...] = field(init=False)
    question_order: dict[str, int] = field(init=False)
    rendered_conditions: dict[str, str] = field(init=False)
    rate_texts: dict[str, str] = field(init=False)
    # Per-policy memo for structures the engines derive once (see eligibility._prepared).
    memo: dict[str, Any] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        groups = {g.id: g for g in self.eligibility.groups}
        set_ = object.__setattr__
        set_(self, "group_by_id", groups)
        set_(self, "key_group_ids", tuple(g.id for g in self.eligibility.groups if g.category == "key_group"))
        set_(
            self,
            "designated_group_ids",
            tuple(g.id for g in self.eligibility.groups if g.category == "designated"),
        )
        set_(self, "question_order", {q.field: i for i, q in enumerate(self.questions)})
        att = self.subsidies.attendance
        set_(
            self,
            "rate_texts",
            {"min_rate": percent(att.share_min_rate.value), "full_rate": percent(att.full_rate.value)},
        )
        set_(self, "memo", {})
        set_(
            self,
            "rendered_conditions",
            {k: v.text.format(**self.rate_texts) for k, v in self.texts.conditions.items()},
        )
        self._check_references()

    @property
    def document(self) -> str:
        return self.eligibility.identity.document

    @property
    def effective(self) -> date:
        """The latest date any parameter took effect: the version of the rules in force."""
        return max(p.effective for p in self.all_params())

    @property
    def group_ids(self) -> tuple[str, ...]:
        return tuple(self.group_by_id)

    @property
    def attendance(self) -> AttendanceParams:
        return self.subsidies.attendance

    def question(self, field_name: str) -> QuestionParam:
        return self.questions[self.question_order[field_name]]

    def all_params(self) -> list[Cited]:
        """Every cited parameter, for audits and tests that every one carries its source."""
        e, s, t = self.eligibility, self.subsidies, self.texts
        out: list[Cited] = [*e.categories.values(), *e.groups, e.graduate_window, e.retirement, e.identity]
        out += [e.apply_at, s.attendance.exam_min_rate, s.attendance.share_min_rate, s.attendance.full_rate]
        out += [s.attendance.threshold_inclusive, *s.subsidies.values(), *s.training_types.values()]
        out += [*self.documents.claims.values(), *self.deadlines.values(), *self.questions]
        out += [*t.reasons.values(), *t.conditions.values(), t.living_covered_description, *t.notes.values()]
        return out

    def _check_references(self) -> None:
        groups = self.group_by_id
        living = self.subsidies.subsidies["living"]
        named = list(living.groups)
        for qg in living.qualified_groups:
            named.append(qg.group)
            for req in qg.if_any:
                if req.group is not None:
                    named.append(req.group)
                if req.household is not None and req.household not in self.eligibility.household_values:
                    raise PolicyError(f"subsidies.yaml: unknown household {req.household!r}")
        for claim in self.documents.claims.values():
            for item in claim.items:
                named.extend(item.only_for_groups)
        unknown = sorted(set(named) - set(groups))
        if unknown:
            raise PolicyError(f"config/policy names unknown groups: {unknown}")
        for sid, sub in self.subsidies.subsidies.items():
            bad = set(sub.conditions) - set(self.texts.conditions)
            if bad:
                raise PolicyError(f"subsidies.yaml: {sid} names unknown conditions {sorted(bad)}")


def _read(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise PolicyError(f"{path}: {exc}") from exc


def _parse(model: type[BaseModel], path: Path) -> Any:
    try:
        return model.model_validate(_read(path))
    except ValidationError as exc:
        raise PolicyError(f"{path}: {exc}") from exc


def load_policy(directory: Path = POLICY_DIR) -> Policy:
    """Read and validate every policy file; raises PolicyError naming the bad file."""
    deadlines: DeadlinesFile = _parse(DeadlinesFile, directory / "deadlines.yaml")
    questions: QuestionsFile = _parse(QuestionsFile, directory / "questions.yaml")
    try:
        return Policy(
            eligibility=_parse(EligibilityFile, directory / "eligibility.yaml"),
            subsidies=_parse(SubsidiesFile, directory / "subsidies.yaml"),
            documents=_parse(DocumentsFile, directory / "documents.yaml"),
            deadlines=dict(deadlines.events),
            questions=questions.fields,
            texts=_parse(TextsFile, directory / "texts.yaml"),
        )
    except (KeyError, ValueError) as exc:
        raise PolicyError(f"{directory}: {exc}") from exc


@lru_cache(maxsize=1)
def get_policy() -> Policy:
    """The policy of `config/policy/`, loaded once per process."""
    return load_policy()
