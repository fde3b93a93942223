"""Turning a message into the sparse features the intent model reads.

Why these features:
* character n-grams (1–3) survive typos and missing word boundaries
  (签道 still shares 签 with 签到; 到帐 shares 到 with 到账);
* jieba words (and word bigrams) carry meaning that single characters do not
  (出勤率 vs 出 + 勤 + 率);
* concept features map colloquial synonyms onto one signal (啥时候 / 什么时候 /
  几号 → `c:when`, 钱 / 补贴 / 补助 → `c:money`), so a phrasing the training data
  never saw still lights up the right weights;
* entity types (an ID-card number strongly suggests binding; a date or time
  suggests a schedule or a reminder) and a length bucket (one-word answers
  are affirm/deny/greet far more often than questions).

Digits are collapsed to `0` so "3月5号" and "12月20号" look alike.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable

from nlu.normalize import Normalizer
from nlu.text import compact
from nlu.tokenizer import Tokenizer

_DIGITS = re.compile(r"\d+")
_LENGTH_BUCKETS = ((1, "1"), (2, "2"), (4, "3-4"), (8, "5-8"), (16, "9-16"))


def _length_bucket(n: int) -> str:
    for limit, name in _LENGTH_BUCKETS:
        if n <= limit:
            return name
    return "17+"


class Featurizer:
    def __init__(
        self,
        tokenizer: Tokenizer,
        concepts: dict[str, str],
        ngram_min: int,
        ngram_max: int,
        word_bigrams: bool,
        normalizer: Normalizer | None = None,
    ) -> None:
        self._tokenizer = tokenizer
        self._normalizer = normalizer
        self._concepts = concepts
        phrases = sorted(concepts, key=len, reverse=True)
        self._concept_re = re.compile("|".join(re.escape(p) for p in phrases)) if phrases else None
        self._ngram_min = ngram_min
        self._ngram_max = ngram_max
        self._word_bigrams = word_bigrams

    def reading(self, text: str) -> str:
        """The message in the words the model was trained on (see nlu.normalize)."""
        return self._normalizer.normalize(text) if self._normalizer is not None else text

    def clean(self, text: str) -> str:
        return _DIGITS.sub("0", compact(text))

    def concepts(self, text: str) -> set[str]:
        """The concepts a `reading` names (`complain` for 投诉/骗/乱收费 …)."""
        if self._concept_re is None:
            return set()
        return {self._concepts[m.group(0)] for m in self._concept_re.finditer(self.clean(text))}

    def features(self, text: str, entity_types: Iterable[str] = ()) -> list[str]:
        """Distinct feature names of `text` (order irrelevant); `text` is already a `reading`."""
        t = self.clean(text)
        feats: set[str] = {"l:" + _length_bucket(len(t))}
        padded = f"<{t}>"
        n_chars = len(padded)
        for n in range(self._ngram_min, self._ngram_max + 1):
            # Unigrams of the padding markers are noise; start inside for n == 1.
            lo, hi = (1, n_chars - 1) if n == 1 else (0, n_chars - n + 1)
            for i in range(lo, hi):
                feats.add(padded[i : i + n])
        words = self._tokenizer.cut(t) if t else []
        feats.update("w:" + w for w in words)
        if self._word_bigrams:
            feats.update(f"b:{a}|{b}" for a, b in itertools.pairwise(words))
        if self._concept_re is not None:
            feats.update("c:" + self._concepts[m.group(0)] for m in self._concept_re.finditer(t))
        feats.update("e:" + e for e in entity_types)
        return list(feats)
