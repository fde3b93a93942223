"""Chinese language understanding for the trainee bot.

    from nlu import NLU, TextTooLong
    nlu = NLU.load(cache_dir)            # BOT_DATA_DIR / "nlu-cache"
    nlu.parse(text, today=None)          # -> nlu.types.Parse
    nlu.answer_question(text)            # -> nlu.types.PolicyAnswer | None
    nlu.extract_entities(text, today)    # -> tuple[nlu.types.Entity, ...]

Answer helpers for conversation flows live in `nlu.answers` (yes_no,
parse_group, parse_number, parse_year).

The heavy parts (jieba, numpy, cn2an) load only when `NLU` or a helper is
first used, so `import nlu.types` stays cheap for code that only needs the
result types.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nlu.types import Entity, Parse, PolicyAnswer

if TYPE_CHECKING:
    from nlu.core import MAX_TEXT, NLU, TextTooLong

__all__ = ["MAX_TEXT", "NLU", "Entity", "Parse", "PolicyAnswer", "TextTooLong"]

_LAZY = {"NLU", "TextTooLong", "MAX_TEXT"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from nlu import core

        return getattr(core, name)
    raise AttributeError(f"module 'nlu' has no attribute {name!r}")
