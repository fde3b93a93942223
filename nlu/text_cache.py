"""A bounded memory of what the same short messages came to.

At the morning peak most messages are the same few words (签到, 你好, a menu label,
补贴标准是多少), and what they are read as or answered with is a pure function of the
text and the loaded model. Only short texts without digits are kept, so no ID
number, phone number or long personal message stays in the process's memory.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterator
from typing import Generic, TypeVar

CACHED_TEXT_MAX = 24

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def cacheable(text: str) -> bool:
    """Whether a message may be kept: short, and no digit of any script (ASCII, full-width,
    circled; str.isdigit is true of every character the regex \\d matches, and more)."""
    return len(text) <= CACHED_TEXT_MAX and not any(ch.isdigit() for ch in text)


class TextCache(Generic[K, V]):
    """Least recently used first out, at most `kept` entries; a kept None is a value."""

    def __init__(self, kept: int) -> None:
        self.kept = kept
        self._items: OrderedDict[K, V] = OrderedDict()

    def lookup(self, key: K) -> tuple[bool, V | None]:
        """(found, value); a hit becomes the most recently used."""
        if key not in self._items:
            return False, None
        self._items.move_to_end(key)
        return True, self._items[key]

    def keep(self, key: K, value: V) -> None:
        self._items[key] = value
        if len(self._items) > self.kept:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()

    def __iter__(self) -> Iterator[K]:
        """The keys, least recently used first (what is in memory, for tests and audits)."""
        return iter(self._items)
