"""Text normalisation that keeps character offsets.

Phone keyboards and voice input mix full-width and half-width forms (１２３,
ＡＢＣ, ＂，＂), and entity offsets must point into the text the user wrote.
So normalisation here maps every character to exactly one character: the
normalised string has the same length as the original and `start`/`end`
found in it are valid in the original too. (NFKC would change lengths.)
"""

from __future__ import annotations

import re
import unicodedata

from nlu.text_cache import TextCache, cacheable

_FULLWIDTH_START = 0xFF01
_FULLWIDTH_END = 0xFF5E
_FULLWIDTH_SHIFT = 0xFEE0
_IDEOGRAPHIC_SPACE = "\u3000"

# Punctuation and symbols that carry no meaning for intents (voice input
# sprinkles commas everywhere). Kept as a character class for re.sub.
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)

# Chinese ideographs (CJK Unified Ideographs and Extension A).
HAN = r"\u3400-\u4dbf\u4e00-\u9fff"

# One character for one: full-width forms to half-width, the ideographic space to a
# space, and the dashes some keyboards produce inside dates and numbers ("2026—12—25").
_FOLD = {
    **{code: code - _FULLWIDTH_SHIFT for code in range(_FULLWIDTH_START, _FULLWIDTH_END + 1)},
    ord(_IDEOGRAPHIC_SPACE): " ",
    ord("—"): "-",
    ord("–"): "-",
}


def fold_width(text: str) -> str:
    """Half-width digits, letters and punctuation, length preserved."""
    return text.translate(_FOLD)


def for_matching(text: str) -> str:
    """Width-folded, lower-cased; same length as `text` (offsets stay valid)."""
    folded = fold_width(text)
    lowered = folded.lower()
    # str.lower() can change the length of a few exotic characters (İ); keep
    # offsets exact by falling back to per-character lowering.
    if len(lowered) != len(folded):
        lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in folded)
    return lowered


def compact(text: str) -> str:
    """Letters, digits and ideographs only: what a command or a short answer *says*.

    Used where offsets do not matter (command lookup, yes/no, features), so
    "签到！", " 签 到 " and "签到。。" all become "签到".
    """
    found, value = _COMPACTED.lookup(text)  # a text that may not be kept is never found
    if found:
        return value  # type: ignore[return-value]
    value = _NOISE.sub("", for_matching(text))
    if cacheable(text):
        _COMPACTED.keep(text, value)
    return value


# Every turn compacts the message and, while routing, the same configured words and
# labels again (personal markers, menu labels, yes/no words): a few hundred short
# strings. Kept under the rule of nlu.text_cache (no digits), so no ID or phone is.
_COMPACTED: TextCache[str, str] = TextCache(8192)


def is_blank(text: str) -> bool:
    """True for text with nothing a person could have meant (spaces, punctuation, emoji)."""
    for ch in text:
        cat = unicodedata.category(ch)
        if cat[0] in ("L", "N"):
            return False
    return True
