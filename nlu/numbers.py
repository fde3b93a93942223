"""Numbers in Arabic or Chinese numerals, percentages as fractions.

三十五 → 35, 两千 → 2000, 1.5万 → 15000, 三点五 → 3.5, 80% / 百分之八十 / 八成 → 0.8,
八成五 → 0.85. Chinese numerals hide in ordinary words (一下, 一起, 十分感谢,
万一), so a Chinese numeral counts only when it is more than one character,
or is followed by a measure word (三天, 两个), or is the whole answer (三);
idioms listed in the lexicon are never numbers, and ordinals (第三) are not
amounts. 八成 used as "probably" (八成是, 八成去不了) is skipped.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from nlu.config import Lexicon

_CN_DIGITS = "零〇一二两三四五六七八九"
_PERCENT = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s?%")
_PER_HUNDRED = re.compile(rf"百分之([\d.]+|[{_CN_DIGITS}十百点]+)")
_TENTHS = re.compile(
    rf"(?<![{_CN_DIGITS}十\d])([一二两三四五六七八九十]|\d)成([一二三四五六七八九]|\d(?![\d]))?"
)
_ARABIC = re.compile(
    r"(?<![A-Za-z\d.,])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(万|千|亿)?(?![A-Za-z\d])"
)
_CHINESE = re.compile(rf"[{_CN_DIGITS}十百千万亿廿]+(?:点[{_CN_DIGITS}]+)?")


@dataclass(frozen=True, slots=True)
class NumberMatch:
    value: int | float
    start: int
    end: int
    percent: bool


MAX_NUMBER_CHARS = 40


def _tidy(x: float) -> int | float:
    x = round(x, 10)
    return int(x) if x.is_integer() else x


def cn2an(token: str, mode: str) -> Any:
    """cn2an's reading of a Chinese numeral, the package imported at the first one.

    Importing cn2an builds its converters and their patterns (and those of the text
    package it uses): about 150 ms, a tenth of a warm start of `serve` (issue 17),
    spent when a process first meets a numeral instead, which most turns (签到, 你好,
    a menu button) do not have.
    """
    import cn2an as package

    return package.cn2an(token, mode)


def cn_to_number(token: str) -> float | None:
    """cn2an in its lenient modes (一百二 → 120, 二零二三 → 2023); None when unparseable."""
    if len(token) > MAX_NUMBER_CHARS:
        return None  # no amount, date or count is this long ("三" × 309 overflowed a float)
    for mode in ("normal", "smart"):
        try:
            value = float(cn2an(token, mode))
        except (ValueError, KeyError, IndexError, TypeError, OverflowError):
            continue
        return value if math.isfinite(value) else None
    return None


class NumberFinder:
    def __init__(self, lexicon: Lexicon) -> None:
        idioms = sorted(lexicon.number_idioms, key=len, reverse=True)
        self._idioms = re.compile("|".join(re.escape(i) for i in idioms)) if idioms else None
        self._measure = set(lexicon.measure_words)
        self._not_after_cheng = set(lexicon.modal_after_cheng)

    def find(self, text: str, taken: list[tuple[int, int]]) -> list[NumberMatch]:
        spans = list(taken)
        out: list[NumberMatch] = []

        def free(s: int, e: int) -> bool:
            return all(e <= a or s >= b for a, b in spans)

        def add(value: float | None, s: int, e: int, percent: bool) -> None:
            if value is None or not free(s, e):
                return
            out.append(NumberMatch(_tidy(value), s, e, percent))
            spans.append((s, e))

        for m in _PERCENT.finditer(text):
            add(float(m.group(1)) / 100, m.start(), m.end(), True)
        for m in _PER_HUNDRED.finditer(text):
            raw = m.group(1)
            value = _arabic(raw) if raw[0].isdigit() else cn_to_number(raw)
            add(None if value is None else value / 100, m.start(), m.end(), True)
        for m in _TENTHS.finditer(text):
            if m.end() < len(text) and text[m.end()] in self._not_after_cheng:
                continue
            whole = cn_to_number(m.group(1)) if not m.group(1).isdigit() else float(m.group(1))
            tenth = m.group(2)
            part = 0.0 if tenth is None else (float(tenth) if tenth.isdigit() else cn_to_number(tenth) or 0.0)
            if whole is not None and whole <= 10:
                add((whole + part / 10) / 10, m.start(), m.end(), True)
        for m in _ARABIC.finditer(text):
            raw, unit = m.group(1).replace(",", ""), m.group(2)
            value = _arabic(raw)
            if value is not None and unit:
                value = cn_to_number(raw + unit)
            add(value, m.start(), m.end(), False)

        blocked = [(m.start(), m.end()) for m in self._idioms.finditer(text)] if self._idioms else []
        stripped = text.strip()
        for m in _CHINESE.finditer(text):
            s, e = m.start(), m.end()
            token = m.group(0)
            if any(a <= s and e <= b for a, b in blocked):
                continue  # inside an idiom: 一下, 十分感谢 (but 八十分 is still 80)
            if s > 0 and text[s - 1] == "第":
                continue
            if len(token) == 1:
                followed_by_measure = e < len(text) and text[e] in self._measure
                alone = stripped == token or (stripped.startswith(token) and len(stripped) <= len(token) + 1)
                if not (followed_by_measure or alone):
                    continue
            add(cn_to_number(token), s, e, False)
        out.sort(key=lambda n: n.start)
        return out


def _arabic(raw: str) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) else None
