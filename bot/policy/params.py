"""Loading the rules of 吉人社规〔2024〕3号 from `config/policy/` into one validated `Policy`.

The rules are data so that a new policy version is a YAML edit. Validation is
strict and happens once, at start: a parameter without its article, a group
id that does not exist or a text the engine needs but cannot find stops the
service with a message instead of producing a wrong answer for a trainee.
Each file's model is in `bot.policy.schema`; here they are read, checked
against each other, and given the lookup tables the engine uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from bot import yaml_io
from bot.policy.schema.cited import Cited, PolicyError
from bot.policy.schema.deadlines import DeadlineParam, DeadlinesFile
from bot.policy.schema.documents import DocumentsFile
from bot.policy.schema.eligibility import EligibilityFile, GroupParam
from bot.policy.schema.questions import QuestionParam, QuestionsFile
from bot.policy.schema.subsidies import AttendanceParams, SubsidiesFile
from bot.policy.schema.texts import TextsFile
from bot.settings import CONFIG_DIR

POLICY_DIR = CONFIG_DIR / "policy"


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
    # Per-policy memo for structures the engines derive once (see screening.prepared).
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
        return yaml_io.safe_load(path.read_text(encoding="utf-8"))
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
