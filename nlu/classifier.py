"""Intent classification: exact commands first, then the calibrated model.

Confidence semantics (what the engine may rely on):
* an exact command ("签到", "/start", a menu label) → that intent, 1.0;
* otherwise p = softmax(logits / temperature), a probability calibrated on
  cross-validated predictions, for the top intent;
* when p is below `out_of_scope_below` we do not guess: the intent is
  `out_of_scope` with the model's (calibrated, hence low) probability of
  out_of_scope as confidence, so a caller that only looks at confidence sees
  an unsure result; `alternatives` lists it first, followed by the model's
  two best guesses, which the engine can offer as a clarifying question
  (see `NLU.clarify`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nlu.config import OUT_OF_SCOPE, CommandFile, Thresholds
from nlu.features import Featurizer
from nlu.model import LinearModel, softmax
from nlu.text import compact

TOP_K = 3


@dataclass(frozen=True, slots=True)
class Prediction:
    intent: str
    confidence: float
    alternatives: tuple[tuple[str, float], ...]


class CommandTable:
    """Exact-match lookup of commands and menu labels."""

    def __init__(self, commands: CommandFile) -> None:
        self._particles = commands.strip_particles
        self._exact = self._index(commands.exact)
        self._global = self._index(commands.global_commands)

    def _key(self, text: str) -> str:
        key = compact(text)
        stripped = key.rstrip(self._particles)
        return stripped or key

    def _index(self, table: dict[str, tuple[str, ...]]) -> dict[str, str]:
        index: dict[str, str] = {}
        for intent, phrases in table.items():
            for phrase in phrases:
                for key in {compact(phrase), self._key(phrase)}:
                    if key and index.setdefault(key, intent) != intent:
                        raise ValueError(f"command {phrase!r} is listed under two intents")
        return index

    def exact(self, text: str) -> str | None:
        return self._exact.get(self._key(text)) or self._exact.get(compact(text))

    def global_command(self, text: str) -> str | None:
        return self._global.get(self._key(text)) or self._global.get(compact(text))


class IntentClassifier:
    def __init__(
        self,
        model: LinearModel,
        featurizer: Featurizer,
        commands: CommandTable,
        temperature: float,
        thresholds: Thresholds,
    ) -> None:
        self.model = model
        self.featurizer = featurizer
        self.commands = commands
        self.temperature = temperature
        self.thresholds = thresholds
        self._oos_index = model.labels.index(OUT_OF_SCOPE)

    def probabilities(self, text: str, entity_types: tuple[str, ...]) -> np.ndarray:
        logits = self.model.logits_one(self.featurizer.features(text, entity_types))
        return softmax(logits / self.temperature)

    def predict(self, text: str, entity_types: tuple[str, ...] = ()) -> Prediction:
        command = self.commands.exact(text)
        if command is not None:
            return Prediction(command, 1.0, ((command, 1.0),))
        prob = self.probabilities(text, entity_types)
        order = np.argsort(-prob, kind="stable")[:TOP_K]
        ranked = tuple((self.model.labels[i], float(prob[i])) for i in order)
        top_intent, top_p = ranked[0]
        if top_p < self.thresholds.out_of_scope_below and top_intent != OUT_OF_SCOPE:
            p_oos = float(prob[self._oos_index])
            guesses = tuple(r for r in ranked if r[0] != OUT_OF_SCOPE)[: TOP_K - 1]
            return Prediction(OUT_OF_SCOPE, p_oos, ((OUT_OF_SCOPE, p_oos), *guesses))
        return Prediction(top_intent, top_p, ranked)
