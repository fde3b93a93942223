"""Spoken and regional Chinese mapped onto the words the model knows.

Trainees write 俺咋整啊, 啥前儿上课, 👍, "您好，麻烦问一下，……谢谢". The intent
model is trained on one spelling of each meaning; rather than teach it every
variant (and every combination of variants), each message is rewritten
before commands and features: 东北话 words become 普通话, a message that is
only emoji becomes the word it stands for, and polite openings and closings
around the request are cut away. Training data goes through the same
rewrite, so model and parser never disagree about what a word looks like.

The data lives in `config/nlu/colloquial.yaml`. Entities and flow answers
keep reading the original text: this rewrite changes lengths.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from nlu.config import DEFAULT_CONFIG_DIR, load_model
from nlu.text import compact, for_matching, is_blank

_REGEX = "re:"
# A closing (谢谢) is cut only from a request at least this long: "明白啦，谢谢"
# is a thanks, "麻烦帮我查一下这期的出勤情况，谢谢" a request.
_MIN_REQUEST_FOR_CLOSING = 8
_CLAUSE = re.compile(r"[^\s，,。.！!？?；;、~～…]+")
# Separators between a polite opening/closing and the request.
_SEP = r"[\s，,。.！!？?：:；;、~～…]*"


class ColloquialFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    dialect: tuple[tuple[str, str], ...]
    whole: dict[str, str]
    emoji: dict[str, str]
    preambles: tuple[str, ...]
    closings: tuple[str, ...]


class Normalizer:
    def __init__(self, data: ColloquialFile) -> None:
        plain = {src: dst for src, dst in data.dialect if not src.startswith(_REGEX)}
        self._plain = plain
        self._plain_re = (
            re.compile("|".join(re.escape(s) for s in sorted(plain, key=len, reverse=True)))
            if plain
            else None
        )
        self._regexes = tuple(
            (re.compile(src[len(_REGEX) :]), dst) for src, dst in data.dialect if src.startswith(_REGEX)
        )
        self._whole = {compact(k): v for k, v in data.whole.items()}
        self._emoji = data.emoji
        opening = "|".join(f"(?:{p})" for p in data.preambles)
        closing = "|".join(f"(?:{p})" for p in data.closings)
        self._opening = re.compile(f"^(?:{opening}){_SEP}") if opening else None
        self._closing = re.compile(f"{_SEP}(?:{closing}){_SEP}$") if closing else None
        either = "|".join(x for x in (opening, closing) if x)
        self._only_polite = re.compile(f"(?:(?:{either}){_SEP})+") if either else None

    @classmethod
    def load(cls, config_dir: Path = DEFAULT_CONFIG_DIR) -> Normalizer:
        return cls(load_model(ColloquialFile, config_dir / "colloquial.yaml"))

    def emoji_word(self, text: str) -> str | None:
        """The word an emoji-only message stands for (👍 → 好的), else None."""
        if not is_blank(text):
            return None
        for ch in text:
            word = self._emoji.get(ch)
            if word is not None:
                return word
        return None

    def dialect(self, text: str) -> str:
        """东北话 → 普通话 word by word (俺咋整 → 我怎么办)."""
        if self._plain_re is not None:
            text = self._plain_re.sub(lambda m: self._plain[m.group(0)], text)
        for pattern, dst in self._regexes:
            text = pattern.sub(dst, text)
        return text

    def strip_politeness(self, text: str) -> str:
        """The request without 您好/麻烦问一下/谢谢 around it; unchanged if nothing else is left."""
        core = text.strip()
        for _ in range(6):  # openings stack: "您好，不好意思，麻烦问一下，…"
            if self._opening is None:
                break
            m = self._opening.match(core)
            if m is None or m.end() == 0 or m.end() >= len(core):
                break
            core = core[m.end() :]
        if self._closing is not None:
            m = self._closing.search(core)
            if m is not None and len(compact(core[: m.start()])) >= _MIN_REQUEST_FOR_CLOSING:
                core = core[: m.start()]
        left = compact(core)
        if core == text or len(left) < 2:
            return text
        if self._only_polite is not None and self._only_polite.fullmatch(core):
            return text  # "您好，我想咨询一下" is all politeness: a greeting
        return core

    def _whole_clauses(self, text: str) -> str:
        """Clauses that are one word (中，就这样 → 好的，就这样)."""
        return _CLAUSE.sub(lambda m: self._whole.get(compact(m.group(0)), m.group(0)), text)

    def normalize(self, text: str) -> str:
        """What the message says, in the words the model was trained on."""
        word = self.emoji_word(text)
        if word is not None:
            return word
        t = self._whole_clauses(for_matching(text).strip())
        t = self._whole_clauses(self.dialect(t))
        return self.strip_politeness(t)
