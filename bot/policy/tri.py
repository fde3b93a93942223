"""Three-valued (Kleene) logic that remembers which answers an unknown waits for.

"Unknown is not false": a rule that cannot be decided yet stays unknown, and
carries the profile fields that could still decide it. Combining values keeps
only the fields that can still change the result (`False and unknown` is
simply False, so nothing is asked for it), which is what lets the engine ask
only questions that matter.
"""

from __future__ import annotations

_NONE: frozenset[str] = frozenset()


class Tri:
    """True, False, or unknown (`value is None`) with the fields it depends on."""

    __slots__ = ("deps", "value")

    def __init__(self, value: bool | None, deps: frozenset[str] = _NONE) -> None:
        self.value = value
        self.deps = deps if value is None else _NONE

    def __repr__(self) -> str:
        if self.value is None:
            return f"Tri(unknown: {', '.join(sorted(self.deps))})"
        return f"Tri({self.value})"

    @property
    def known(self) -> bool:
        return self.value is not None


TRUE = Tri(True)
FALSE = Tri(False)


def of(value: bool) -> Tri:
    return TRUE if value else FALSE


_WAITING: dict[str, Tri] = {}


def unknown(field: str) -> Tri:
    """Unknown until `field` is answered (shared instances: Tri values are never mutated)."""
    tri = _WAITING.get(field)
    if tri is None:
        tri = _WAITING[field] = Tri(None, frozenset((field,)))
    return tri


def answer(value: object, field: str, wanted: object) -> Tri:
    """Whether a profile answer equals `wanted`; unknown (waiting for `field`) if unanswered."""
    if value is None:
        return unknown(field)
    return TRUE if value == wanted else FALSE


def all_of(*items: Tri) -> Tri:
    deps: set[str] = set()
    undecided = False
    for item in items:
        if item.value is False:
            return FALSE
        if item.value is None:
            undecided = True
            deps |= item.deps
    return Tri(None, frozenset(deps)) if undecided else TRUE


def any_of(*items: Tri) -> Tri:
    deps: set[str] = set()
    undecided = False
    for item in items:
        if item.value is True:
            return TRUE
        if item.value is None:
            undecided = True
            deps |= item.deps
    return Tri(None, frozenset(deps)) if undecided else FALSE


def not_(item: Tri) -> Tri:
    if item.value is None:
        return item
    return FALSE if item.value else TRUE
