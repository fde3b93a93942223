"""What a screening returns: cited reasons, per-subsidy results, the papers needed, what to ask next.

`Assessment.to_dict()` is the response body of the public contract (plus a
few extra fields); everything here is immutable, so results can be cached.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True, slots=True)
class Reason:
    """One cited sentence: why something was decided, or a note about it."""

    id: str
    text: str
    article: str

    def to_dict(self) -> dict[str, str]:
        return {"text": self.text, "article": self.article, "id": self.id}


@dataclass(frozen=True, slots=True)
class SubsidyResult:
    eligible: bool | None
    conditions: tuple[str, ...]
    article: str

    def to_dict(self) -> dict[str, Any]:
        return {"eligible": self.eligible, "conditions": list(self.conditions), "article": self.article}


@dataclass(frozen=True, slots=True)
class DocumentNeed:
    """A paper the claim needs (第十六条), with who provides it and under which claim."""

    key: str
    text: str
    provided_by: str
    claim: str
    citation: str


@dataclass(frozen=True, slots=True)
class Assessment:
    """The screening result. `to_dict()` is the contract's response body (plus a few extra fields)."""

    as_of: date
    eligible: bool | None
    categories: tuple[str, ...]
    subsidies: Mapping[str, SubsidyResult]
    missing: tuple[str, ...]
    reasons: tuple[Reason, ...]
    document_needs: tuple[DocumentNeed, ...]
    notes: tuple[Reason, ...]

    @property
    def next_question(self) -> str | None:
        """The field to ask next: the first, in the configured order, that can still change the result."""
        return self.missing[0] if self.missing else None

    @property
    def documents(self) -> tuple[str, ...]:
        return tuple(d.text for d in self.document_needs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "eligible": self.eligible,
            "categories": list(self.categories),
            "subsidies": {name: s.to_dict() for name, s in self.subsidies.items()},
            "missing": list(self.missing),
            "reasons": [r.to_dict() for r in self.reasons],
            "documents": list(self.documents),
            "next_question": self.next_question,
            "notes": [n.to_dict() for n in self.notes],
            "as_of": self.as_of.isoformat(),
        }
