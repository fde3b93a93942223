"""The process-wide things a handler may need, built once by the app factory."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from nlu.types import Entity, Parse, PolicyAnswer

if TYPE_CHECKING:
    from datetime import date

    from bot.clock import Clock
    from bot.settings import Settings
    from bot.texts import Texts
    from models.db import Database


class LanguageUnderstanding(Protocol):
    """What the engine needs of `nlu.NLU` (kept as a protocol so tests can load it once)."""

    def parse(self, text: str, today: date | None = None) -> Parse: ...

    def answer_question(
        self, text: str, parse: Parse | None = None, min_coverage: float | None = None
    ) -> PolicyAnswer | None: ...

    def exact_command(self, text: str) -> str | None: ...

    def rule_entry(self, entry_id: str) -> PolicyAnswer | None: ...

    def extract_entities(self, text: str, today: date | None = None) -> tuple[Entity, ...]: ...

    def clarify(self, parse: Parse) -> tuple[str] | tuple[str, str] | None: ...

    def clarify_question(self, parse: Parse) -> tuple[str, list[str]] | None: ...


@dataclass
class Services:
    settings: Settings
    db: Database
    texts: Texts
    clock: Clock
    nlu: LanguageUnderstanding
    # Room for optional collaborators (the outbound senders, a Redis client) without
    # widening every constructor.
    extra: dict[str, Any] = field(default_factory=dict)
