"""Reading short free answers inside a conversation flow.

The flows ask one question at a time ("您是退役军人吗？", "哪年毕业的？") and
people answer in their own words (嗯呐, 没有领, 不太清楚, 去年毕业的, 三十五).
These helpers are pure functions over the NLU data files, so a flow can
parse its own answers before (and instead of) intent classification.

`yes_no` is three-valued like the eligibility engine, plus "not understood":

    True          是 / 对 / 嗯 / 好的 / 没错 / 有
    False         不是 / 没有 / 否 / 不
    None          不清楚 / 不知道 / 不确定   (an answer: "unknown")
    UNRECOGNISED  anything else              (re-ask kindly)

so `profile[field] = answer` is right for the first three and the flow
re-asks only on UNRECOGNISED (test with `is UNRECOGNISED`).
"""

from __future__ import annotations

import re
from datetime import date
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Final, Literal

from nlu.config import DEFAULT_CONFIG_DIR, AnswerWords, GroupFile, Lexicon, load_model
from nlu.dates import to_int
from nlu.entities import EntityExtractor
from nlu.numbers import NumberFinder
from nlu.shanghai import today_in_shanghai
from nlu.text import compact, for_matching, is_blank


class Unrecognised(Enum):
    """The answer was not a yes, a no or an "I don't know"."""

    TOKEN = "unrecognised"

    def __repr__(self) -> str:
        return "UNRECOGNISED"


UNRECOGNISED: Final = Unrecognised.TOKEN
YesNo = bool | None | Literal[Unrecognised.TOKEN]

_CLAUSE = re.compile(r"[，,。.！!？?；;、\s]+")


class AnswerReader:
    """The helpers bound to one set of data files (tests may point at others)."""

    def __init__(self, config_dir: Path = DEFAULT_CONFIG_DIR) -> None:
        self.words: AnswerWords = load_model(AnswerWords, config_dir / "answers.yaml")
        lexicon: Lexicon = load_model(Lexicon, config_dir / "lexicon.yaml")
        groups: GroupFile = load_model(GroupFile, config_dir / "groups.yaml")
        self._numbers = NumberFinder(lexicon)
        self._entities = EntityExtractor(lexicon, groups)
        vocab = {**{w: True for w in self.words.affirmative}, **{w: False for w in self.words.negative}}
        self._vocab: dict[str, bool] = {compact(k): v for k, v in vocab.items()}
        self._longest = max(len(k) for k in self._vocab)
        self._unsure = tuple(compact(w) for w in self.words.unsure)
        self._questions = tuple(q for q in (compact(w) for w in self.words.question_markers) if q)
        self._pronouns = tuple(
            sorted((compact(p) for p in self.words.leading_pronouns), key=len, reverse=True)
        )

    def _phrase_at(self, text: str, pos: int) -> tuple[bool, int] | None:
        """The longest yes/no phrase starting at `pos`: (meaning, length)."""
        for length in range(min(self._longest, len(text) - pos), 0, -1):
            meaning = self._vocab.get(text[pos : pos + length])
            if meaning is not None:
                return meaning, length
        return None

    def yes_no(self, text: str) -> YesNo:
        # --- emoji answers (👍 / 👎), issue 14
        if is_blank(text):
            for ch in text:
                if ch in self.words.emoji_yes:
                    return True
                if ch in self.words.emoji_no:
                    return False
            return UNRECOGNISED
        # --- end emoji answers
        clauses = [compact(c) for c in _CLAUSE.split(for_matching(text)) if compact(c)]
        if not clauses:
            return UNRECOGNISED
        whole = "".join(clauses)
        if self._vocab.get(whole.rstrip(self.words.particles)) is True:
            return True  # a whole yes-phrase, rhetorical ones too: "可不是吗" asks nothing
        if any(u in whole for u in self._unsure):
            return None
        if any(q in whole for q in self._questions):
            return UNRECOGNISED
        first = clauses[0]
        for p in self._pronouns:
            if first.startswith(p) and len(first) > len(p):
                first = first[len(p) :]
                break
        found = self._phrase_at(first, 0)
        if found is None:
            return UNRECOGNISED
        meaning, length = found
        rest = first[length:].lstrip(self.words.particles)
        if meaning is False:
            return False if len(rest) <= self.words.max_negative_tail else UNRECOGNISED
        # A yes must stand on its own ("有" in "有个问题" is not an answer),
        # unless what follows is itself a yes/no phrase ("是的没有" → no).
        while rest:
            nxt = self._phrase_at(rest, 0)
            if nxt is None:
                return UNRECOGNISED
            if nxt[0] is False:
                return False
            rest = rest[nxt[1] :].lstrip(self.words.particles)
        # "嗯，不是的": a later clause that is nothing but a "no" overrides.
        for clause in clauses[1:]:
            nxt = self._phrase_at(clause, 0)
            if nxt is not None and nxt[0] is False and not clause[nxt[1] :].strip(self.words.particles):
                return False
        return True

    def parse_group(self, text: str) -> list[str]:
        """Group ids the person claims, first mention first (negated mentions excluded)."""
        return self._entities.groups(text)

    def parse_number(self, text: str) -> int | float | None:
        """The first number in the answer (三十五 → 35; 八成 / 百分之八十 → 0.8)."""
        found = self._numbers.find(for_matching(text), [])
        return found[0].value if found else None

    def parse_year(self, text: str, today: date | None = None) -> int | None:
        """A calendar year: 2023年 / 二零二三年 / 23年 / 去年 / 前年 / 三年前 → int."""
        today = today or today_in_shanghai()
        t = for_matching(text)
        for pattern, resolve in _YEAR_PATTERNS:
            m = pattern.search(t)
            if m:
                year = resolve(m, today)
                if year is not None:
                    return year
        return None


_REL_YEARS = {
    "大前年": -3,
    "前年": -2,
    "去年": -1,
    "今年": 0,
    "明年": 1,
    "后年": 2,
    "本年": 0,
    "上一年": -1,
    "上年": -1,
}
_YEAR_DIGITS = "零〇一二三四五六七八九"


def _abs_year(m: re.Match[str], today: date) -> int | None:
    y = to_int(m.group(1))
    if y is None:
        return None
    if y < 100:
        y += 2000 if 2000 + y <= today.year + 1 else 1900
    return y if 1900 <= y <= today.year + 10 else None


def _years_ago(m: re.Match[str], today: date) -> int | None:
    n = to_int(m.group(1))
    return None if n is None else today.year - n


_YEAR_PATTERNS = (
    (
        re.compile("|".join(sorted(_REL_YEARS, key=len, reverse=True))),
        lambda m, t: t.year + _REL_YEARS[m.group(0)],
    ),
    (
        re.compile(rf"(?<![\d{_YEAR_DIGITS}])(\d{{4}}|[{_YEAR_DIGITS}]{{4}})年?(?![\d{_YEAR_DIGITS}])"),
        _abs_year,
    ),
    (re.compile(rf"(?<![\d{_YEAR_DIGITS}])(\d{{2}}|[{_YEAR_DIGITS}]{{2}})年"), _abs_year),
    (re.compile(r"(\d{1,2}|[一二两三四五六七八九十]{1,2})年(?:前|以前|之前)"), _years_ago),
)


@lru_cache(maxsize=1)
def _default_reader() -> AnswerReader:
    return AnswerReader()


def yes_no(text: str) -> YesNo:
    """True / False / None (unsure) / UNRECOGNISED; see the module docstring."""
    return _default_reader().yes_no(text)


def parse_group(text: str) -> list[str]:
    """Contract group ids claimed in `text` (退伍的 → ["veteran"]); [] when none."""
    return _default_reader().parse_group(text)


def parse_number(text: str) -> int | float | None:
    """The first number in `text`; percentages as fractions (八成 → 0.8)."""
    return _default_reader().parse_number(text)


def parse_year(text: str, today: date | None = None) -> int | None:
    """The calendar year meant by `text`, relative years resolved against `today` (Asia/Shanghai)."""
    return _default_reader().parse_year(text, today)
