"""Loading and validating the NLU data files in `config/nlu/`.

Everything the language layer knows about the domain (training examples,
commands, synonyms, the law's articles, thresholds) is data, reviewed like
code; a malformed file fails loudly at start-up with the file named, not
with a KeyError during a user's conversation.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DEFAULT_CONFIG_DIR = Path(__file__).resolve().parent.parent / "config" / "nlu"

# The contract's intent ids (`/api/v1/nlu/parse`); the training data must
# cover exactly these.
INTENTS: tuple[str, ...] = (
    "greet",
    "thanks",
    "help",
    "check_eligibility",
    "subsidy_info",
    "documents_needed",
    "find_training",
    "class_info",
    "check_in",
    "attendance_query",
    "claim_status",
    "bind_identity",
    "reminder_settings",
    "complaint",
    "human_agent",
    "affirm",
    "deny",
    "cancel",
    "out_of_scope",
)
OUT_OF_SCOPE = "out_of_scope"

# The contract's group ids (section "Eligibility").
GROUPS: tuple[str, ...] = (
    "rural_migrant",
    "poverty_alleviated",
    "college_graduate",
    "two_after",
    "veteran",
    "registered_unemployed",
    "disabled",
    "detox",
    "prisoner",
    "community_correction",
    "employment_difficulty",
    "zero_employment_family",
    "urban_dibao",
    "designated",
)

# Files whose content decides the trained model; their bytes key the cache.
MODEL_INPUT_FILES = (
    "train.yaml",
    "concepts.yaml",
    "domain_dict.txt",
    "model.yaml",
    "lexicon.yaml",
    "groups.yaml",
    "colloquial.yaml",
)


class ConfigError(ValueError):
    """A data file in config/nlu is missing or malformed."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeatureParams(_Strict):
    char_ngram_min: int = Field(ge=1)
    char_ngram_max: int = Field(ge=1)
    word_bigrams: bool

    @model_validator(mode="after")
    def _ordered(self) -> FeatureParams:
        if self.char_ngram_min > self.char_ngram_max:
            raise ValueError("char_ngram_min must not exceed char_ngram_max")
        return self


class TrainingParams(_Strict):
    l2: float = Field(gt=0)
    iterations: int = Field(ge=1)
    learning_rate: float = Field(gt=0)
    seed: int
    folds: int = Field(ge=2)


class Thresholds(_Strict):
    out_of_scope_below: float = Field(ge=0, le=1)
    clarify_below: float = Field(ge=0, le=1)
    clarify_min_choice: float = Field(ge=0, le=1)
    clarify_one_min: float = Field(ge=0, le=1)
    clarify_one_ratio: float = Field(ge=1)


class ModelParams(_Strict):
    features: FeatureParams
    training: TrainingParams
    temperature: float = Field(gt=0)
    thresholds: Thresholds


class GroupFile(_Strict):
    negation_prefixes: tuple[str, ...]
    question_markers: tuple[str, ...]
    groups: dict[str, tuple[str, ...]]

    @field_validator("groups")
    @classmethod
    def _contract_ids(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        unknown = set(value) - set(GROUPS)
        if unknown:
            raise ValueError(f"unknown group ids (not in the contract): {sorted(unknown)}")
        missing = set(GROUPS) - set(value)
        if missing:
            raise ValueError(f"group ids without synonyms: {sorted(missing)}")
        return value


class CommandFile(_Strict):
    exact: dict[str, tuple[str, ...]]
    global_commands: dict[str, tuple[str, ...]]
    strip_particles: str
    escapes: dict[str, tuple[str, ...]] = Field(default_factory=dict)

    @field_validator("exact", "global_commands", "escapes")
    @classmethod
    def _contract_intents(cls, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        unknown = set(value) - set(INTENTS)
        if unknown:
            raise ValueError(f"unknown intent ids: {sorted(unknown)}")
        return value


class AnswerWords(_Strict):
    affirmative: tuple[str, ...]
    negative: tuple[str, ...]
    unsure: tuple[str, ...]
    question_markers: tuple[str, ...]
    particles: str
    leading_pronouns: tuple[str, ...]
    max_negative_tail: int = Field(ge=0)
    emoji_yes: str = ""
    emoji_no: str = ""


class Lexicon(_Strict):
    """Small word lists the entity extractors need."""

    number_idioms: tuple[str, ...]
    measure_words: str
    modal_after_cheng: str
    not_day_after_hao: str
    retrieval_stopwords: tuple[str, ...]


class IntentInfo(_Strict):
    label: str = Field(min_length=1)


class IntentFile(_Strict):
    intents: dict[str, IntentInfo]

    @field_validator("intents")
    @classmethod
    def _all_intents(cls, value: dict[str, IntentInfo]) -> dict[str, IntentInfo]:
        if set(value) != set(INTENTS):
            raise ValueError(f"intents.yaml must label exactly the contract intents: {sorted(INTENTS)}")
        return value


def read_yaml(path: Path) -> Any:
    try:
        with path.open("rb") as fh:
            return yaml.load(fh, Loader=yaml.CSafeLoader)
    except FileNotFoundError as exc:
        raise ConfigError(f"missing NLU data file {path}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"malformed YAML in {path}: {exc}") from exc


def load_model(cls: type[BaseModel], path: Path) -> Any:
    try:
        return cls.model_validate(read_yaml(path))
    except ValueError as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"invalid {path.name}: {exc}") from exc


def load_examples(path: Path) -> list[tuple[str, str]]:
    """(text, intent) pairs from a file mapping intent → list of examples."""
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path.name}: expected a mapping of intent → examples")
    pairs: list[tuple[str, str]] = []
    for intent, examples in raw.items():
        if intent not in INTENTS:
            raise ConfigError(f"{path.name}: unknown intent {intent!r}")
        if not isinstance(examples, list) or not examples:
            raise ConfigError(f"{path.name}: intent {intent!r} needs a list of examples")
        for ex in examples:
            if not isinstance(ex, str | int | float) or not str(ex).strip():
                raise ConfigError(f"{path.name}: bad example under {intent!r}: {ex!r}")
            pairs.append((str(ex), intent))
    return pairs


def load_concepts(path: Path) -> dict[str, str]:
    """phrase → concept name, for classifier features shared by synonyms."""
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError(f"{path.name}: expected a mapping of concept → phrases")
    phrase_to_concept: dict[str, str] = {}
    for concept, phrases in raw.items():
        if not isinstance(phrases, list):
            raise ConfigError(f"{path.name}: concept {concept!r} needs a list of phrases")
        for phrase in phrases:
            phrase = str(phrase).strip().lower()
            if phrase:
                phrase_to_concept[phrase] = str(concept)
    return phrase_to_concept


def fingerprint(config_dir: Path, names: tuple[str, ...], salt: str) -> str:
    """A short digest of the named files' bytes, used to key cache files."""
    digest = hashlib.sha256(salt.encode())
    for name in names:
        digest.update(name.encode())
        try:
            digest.update((config_dir / name).read_bytes())
        except FileNotFoundError as exc:
            raise ConfigError(f"missing NLU data file {config_dir / name}") from exc
    return digest.hexdigest()[:16]
