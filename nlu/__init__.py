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

import sys
from typing import TYPE_CHECKING, Any

from nlu.types import Entity, Parse, PolicyAnswer

if TYPE_CHECKING:
    from nlu.core import MAX_TEXT, NLU, TextTooLong

__all__ = ["MAX_TEXT", "NLU", "Entity", "Parse", "PolicyAnswer", "TextTooLong"]

_LAZY = {"NLU", "TextTooLong", "MAX_TEXT"}


def _import_jieba_without_pkg_resources() -> None:
    """Import jieba with setuptools' `pkg_resources` hidden from it.

    jieba 0.42 imports pkg_resources (about 0.1 s of every start, most of jieba's
    import) only to open its bundled data files, and opens them by path when
    pkg_resources is missing. Hidden only while jieba itself is imported, and only
    when nothing has imported pkg_resources already.
    """
    if "jieba" in sys.modules or "pkg_resources" in sys.modules:
        return
    sys.modules["pkg_resources"] = None  # type: ignore[assignment]  # `import` then raises ImportError
    try:
        import jieba  # noqa: F401
    finally:
        if "pkg_resources" in sys.modules and sys.modules["pkg_resources"] is None:
            del sys.modules["pkg_resources"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        _import_jieba_without_pkg_resources()
        from nlu import core

        return getattr(core, name)
    raise AttributeError(f"module 'nlu' has no attribute {name!r}")
