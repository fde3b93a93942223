"""Result types of language understanding.

They are shared by the conversation engine, the HTTP API and the NLU package
itself, so they live apart from the model code and import nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Entity:
    """One entity found in a message, with its position in the original text."""

    type: str
    value: Any
    text: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "value": self.value,
            "text": self.text,
            "start": self.start,
            "end": self.end,
        }


@dataclass(frozen=True, slots=True)
class Parse:
    """What a message means: the best intent, how sure we are, and the runners-up.

    `alternatives` (best first, the chosen intent included) lets the engine ask
    a clarifying question with the two likeliest meanings instead of guessing.
    """

    intent: str
    confidence: float
    entities: tuple[Entity, ...] = ()
    alternatives: tuple[tuple[str, float], ...] = field(default=())

    def entity(self, type_: str) -> Entity | None:
        """The first entity of a type, the common case in short chat messages."""
        for e in self.entities:
            if e.type == type_:
                return e
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "intent": self.intent,
            "confidence": round(self.confidence, 4),
            "entities": [e.to_dict() for e in self.entities],
        }


@dataclass(frozen=True, slots=True)
class PolicyAnswer:
    """An answer to a free rule question: a knowledge-base entry (config/knowledge/).

    `score` is the share of the question the entry covers (0..1); `personal`
    names the intent of the user's own-record version of the question,
    `offer` an intent whose button follows the answer, `eligibility` that
    the question is also "can I take part?".
    """

    text: str
    article: str
    source: str
    score: float
    entry_id: str = ""
    quote: str = ""
    source_title: str = ""
    eligibility: bool = False
    personal: str | None = None
    offer: str | None = None
    kind: str = "rule"
    # Found from the asking clause of a long message alone (nlu/focus.py): a weaker
    # reading than the whole message's, so a rule the message's facts name comes first.
    focused: bool = False
