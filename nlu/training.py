"""Feature rows for training and evaluation, built exactly as `parse` builds them.

Training and prediction must see the same features, entity types included,
or the model learns from signals it never gets at run time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from nlu.config import INTENTS, ModelParams
from nlu.entities import EntityExtractor
from nlu.features import Featurizer
from nlu.model import LinearModel, train
from nlu.types import Entity

# Entity types do not depend on the day, only values do; any fixed day works.
_FEATURE_DAY = date(2025, 1, 1)


def feature_types(entities: Iterable[Entity], id_like: bool) -> tuple[str, ...]:
    """Entity types as model features; a mistyped ID card still counts as one."""
    types = {e.type for e in entities}
    if id_like:
        types.add("id_card")
    return tuple(sorted(types))


def entity_feature_types(extractor: EntityExtractor, text: str, today: date) -> tuple[str, ...]:
    return feature_types(*extractor.analyse(text, today))


def feature_rows(featurizer: Featurizer, extractor: EntityExtractor, texts: Sequence[str]) -> list[list[str]]:
    return [
        featurizer.features(featurizer.reading(t), entity_feature_types(extractor, t, _FEATURE_DAY))
        for t in texts
    ]


def fit(rows: Sequence[Sequence[str]], targets: Sequence[str], params: ModelParams) -> LinearModel:
    return train(
        rows,
        targets,
        INTENTS,
        l2=params.training.l2,
        iterations=params.training.iterations,
        learning_rate=params.training.learning_rate,
    )
