"""The word lists of the facts reader (`config/nlu/facts.yaml`), validated once.

Separate from the reader so the reader stays readable; strict, so a typo in a
key stops the service at start instead of silently reading nothing.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from nlu.config import DEFAULT_CONFIG_DIR


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SexWords(_Strict):
    male: tuple[str, ...]
    female: tuple[str, ...]
    bare: dict[str, str]


class HouseholdWords(_Strict):
    rural: tuple[str, ...]
    urban: tuple[str, ...]
    hukou_words: tuple[str, ...]
    rural_with_hukou: tuple[str, ...]
    urban_with_hukou: tuple[str, ...]
    not_before: tuple[str, ...]
    opposite: dict[str, str]


class EmploymentWords(_Strict):
    employed: tuple[str, ...]
    unemployed: tuple[str, ...]
    flexible: tuple[str, ...]
    student: tuple[str, ...]
    weak_unemployed: tuple[str, ...]


class SinceGraduationWords(_Strict):
    markers: tuple[str, ...]
    employed: tuple[str, ...]
    not_employed: tuple[str, ...]


class TwoAfterWords(_Strict):
    school: tuple[str, ...]
    stop: tuple[str, ...]
    window: int


class GraduationWords(_Strict):
    word: str
    not_college: tuple[str, ...]
    not_graduated: tuple[str, ...]


class PensionWords(_Strict):
    topics: tuple[str, ...]
    residents: tuple[str, ...]
    negative: tuple[str, ...]
    insurance: tuple[str, ...]
    not_paid: tuple[str, ...]
    denials: tuple[str, ...]
    negative_after: tuple[str, ...]
    amount: tuple[str, ...]


class RetirementWords(_Strict):
    topic: str
    not_topic_after: tuple[str, ...]
    reached: tuple[str, ...]
    age_topic: tuple[str, ...]


class AssessmentWords(_Strict):
    topic: str
    done: tuple[str, ...]


class EvaluationWords(_Strict):
    topics: tuple[str, ...]
    year: str
    first: tuple[str, ...]
    not_first: tuple[str, ...]


class FactWords(_Strict):
    negations: tuple[str, ...]
    negation_window: int
    question_markers: tuple[str, ...]
    rhetorical: tuple[str, ...] = ()
    unsure_markers: tuple[str, ...]
    corrections: tuple[str, ...]
    sex: SexWords
    age_leads: tuple[str, ...]
    age_fillers: tuple[str, ...]
    not_age_after: tuple[str, ...]
    age_context: tuple[str, ...]
    age_range: tuple[int, int]
    household: HouseholdWords
    employment: EmploymentWords
    since_graduation: SinceGraduationWords
    extra_groups: dict[str, tuple[str, ...]]
    two_after: TwoAfterWords
    graduation: GraduationWords
    pension: PensionWords
    retirement: RetirementWords
    assessment: AssessmentWords
    evaluation: EvaluationWords


FACTS_FILE = DEFAULT_CONFIG_DIR / "facts.yaml"
