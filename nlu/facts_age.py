"""Ages and birth years as people say them: 六十二, 二十出头, 快六十了, 虚岁五十, 68年生人.

An age is a range (lowest, highest) because people round: "五十多" is 51–59.
Numbers are read with cn2an (`nlu.numbers.cn_to_number`); a number counts as
an age only with an age word around it (岁, 今年, 我才 …), never before a
measure word (2个孩子, 3号, 两千块).
"""

from __future__ import annotations

import re
from datetime import date

from nlu.facts_words import FactWords
from nlu.numbers import cn_to_number

NUM = r"(\d{1,3}|[零一二两三四五六七八九十]{1,4})"
BIRTH = re.compile(
    r"(?<![\d零〇一二三四五六七八九])(\d{4}|\d{2}|[零〇一二三四五六七八九]{2,4})年"
    r"(?:出生|生人|生的|生|的(?=$|[，,。.！!？?；;\s]))"
)


def _longest_first(words: tuple[str, ...]) -> list[str]:
    return sorted({w.lower() for w in words}, key=len, reverse=True)


class AgeReader:
    def __init__(self, words: FactWords) -> None:
        self.w = words
        leads = "|".join(re.escape(x) for x in _longest_first(words.age_leads))
        fillers = "|".join(re.escape(x) for x in _longest_first(words.age_fillers))
        self._lead = re.compile(rf"(?:{leads})(?:{fillers})*{NUM}(?![\d十])")
        self._not_age = _longest_first(words.not_age_after)

    def age(self, t: str, clauses: list[str], *, has_birth: bool) -> tuple[int, int] | None:
        lo_ok, hi_ok = self.w.age_range
        found: list[tuple[int, int]] = []

        def num(token: str) -> int | None:
            value = int(token) if token.isdigit() else cn_to_number(token)
            return int(value) if value is not None and lo_ok <= value <= hi_ok else None

        approx = (
            (rf"虚岁{NUM}", lambda n: (n - 2, n - 1)),
            (rf"{NUM}(?:岁)?出头", lambda n: (n, n + 3)),
            (rf"{NUM}(?:多|几|好几)(?:岁)?", lambda n: (n + 1, n + 9) if n % 10 == 0 else None),
            (rf"{NUM}来岁", lambda n: (n - 2, n + 3)),
            (rf"快{NUM}(?:岁)?了?", lambda n: (n - 3, n - 1)),
            (rf"{NUM}(?:周岁|岁)", lambda n: (n, n)),
        )
        rest = t
        for pattern, span in approx:
            for m in re.finditer(pattern, rest):
                n = num(m.group(1))
                rng = span(n) if n is not None else None
                if rng is not None:
                    found.append(rng)
                    rest = rest[: m.start()] + "。" * (m.end() - m.start()) + rest[m.end() :]
        if found:
            return found[-1]
        for m in self._lead.finditer(rest):
            after = rest[m.end() :]
            if any(after.startswith(x) for x in self._not_age):
                continue
            n = num(m.group(1))
            if n is not None:
                found.append((n, n))
        for m in re.finditer(rf"(?<![\d零一二两三四五六七八九十]){NUM}(?:了|啦)", rest):
            n = num(m.group(1))
            if n is not None:
                found.append((n, n))
        if not found and not has_birth and any(c in t for c in self.w.age_context):
            for c in clauses:
                if re.fullmatch(NUM, c):
                    n = num(c)
                    if n is not None:
                        found.append((n, n))
        return found[-1] if found else None


def birth_year_in(t: str, today: date) -> int | None:
    """A birth year said as such ("68年生人", "1990年的", "七五年的")."""
    for m in BIRTH.finditer(t):
        token = m.group(1)
        y = int(token) if token.isdigit() else cn_to_number(token)
        if y is None:
            continue
        year = int(y)
        if year < 100:
            year += 2000 if 2000 + year <= today.year - 10 else 1900
        if 1900 <= year <= today.year - 10:
            return year
    return None
