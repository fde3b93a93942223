"""Dates and clock times as trainees write them, resolved against a given day.

Covers: 今天/明天/后天/大后天/昨天/前天 (and 明儿, 今儿个 …), N天后/N天前,
(下|这|本|上)(个)?(周|星期|礼拜)X and 周末, 下个月5号, 3月5号 / 3月5日,
2026年12月25日, 二〇二六年十二月二十五日, 2026-12-25, 2026/12/25, 明年3月1号,
and a bare 5号 (but not 5号楼 / 5号线). Clock times: 8点, 早上七点半,
晚上8:30, 下午三点一刻.

Resolution rules (documented because they are choices):
* a bare weekday (周五) is the next such day, today included;
  这周五/本周五 is that day of the current week (Monday first), even if past;
  下周五 is in the following week, 上周五 in the previous one;
* a month-day without a year (3月5号) is the one in last, this or next year
  closest to today, so in late December "1月5号" means next January;
* a bare day (5号) is the closest such day in last, this or next month.
Invalid dates (2月30日) are not entities.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from nlu.numbers import cn2an

_CN = "零〇一二两三四五六七八九十廿"
_NUM = rf"(?:\d{{1,2}}|[{_CN}]{{1,3}})"
_YEAR_DIGITS = r"(?:\d{4}|\d{2}|[零〇一二三四五六七八九]{4}|[零〇一二三四五六七八九]{2})"
_REL_YEAR = {"今": 0, "明": 1, "去": -1, "前": -2, "后": 2, "大前": -3}
_DAY_WORDS = {
    "大前天": -3,
    "前天": -2,
    "前儿": -2,
    "昨天": -1,
    "昨日": -1,
    "昨儿": -1,
    "今天": 0,
    "今日": 0,
    "今儿": 0,
    "今个": 0,
    "明天": 1,
    "明日": 1,
    "明儿": 1,
    "后天": 2,
    "后日": 2,
    "后儿": 2,
    "大后天": 3,
}
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5}
_WEEKDAYS.update({str(i + 1): i for i in range(7)})

_DAY_SUFFIX = r"(?:日|号)"

_FULL = re.compile(
    rf"(?<![\d零〇一二三四五六七八九])(?P<y>{_YEAR_DIGITS}|今|明|去|大前|前|后)年(?P<m>{_NUM})月(?:份)?(?P<d>{_NUM}){_DAY_SUFFIX}?"
)
_ISO = re.compile(r"(?<!\d)(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?!\d)")
_MONTH_REL = re.compile(rf"(?P<rel>下下个?月|下个?月|这个?月|本月|上个?月)(?P<d>{_NUM}){_DAY_SUFFIX}")
_MONTH_DAY = re.compile(rf"(?<![\d年])(?P<m>{_NUM})月(?:份)?(?P<d>{_NUM}){_DAY_SUFFIX}?")
_DAY_ONLY = re.compile(rf"(?<![\d月.第])(?P<d>{_NUM})号")
_WEEKDAY = re.compile(r"(?P<rel>下下个?|下个?|这个?|本|上个?)?(?:周|星期|礼拜)(?P<w>[一二三四五六日天末1-7])")
_WEEKEND = re.compile(r"(?P<rel>下下个?|下个?|这个?|本|上个?)?周末")
_DAY_WORD = re.compile("|".join(sorted(_DAY_WORDS, key=len, reverse=True)))
_OFFSET = re.compile(rf"(?P<n>{_NUM}|\d{{1,3}})天(?P<dir>后|以后|之后|前|以前|之前)")

_PERIOD_HOUR_SHIFT = {"下午": 12, "晚上": 12, "傍晚": 12, "今晚": 12, "晚": 12, "中午": 0}
_TIME = re.compile(
    rf"(?P<period>早上|早晨|上午|中午|下午|傍晚|晚上|凌晨|今晚|早|晚)?"
    rf"(?:(?P<h>{_NUM})(?:点钟?|时)(?:(?P<half>半)|(?P<q>[一三])刻|(?P<mi>{_NUM}|\d{{2}})(?P<fen>分)?)?"
    r"|(?P<h2>\d{1,2})[:：](?P<m2>\d{2}))"
)


@dataclass(frozen=True, slots=True)
class Found:
    """A resolved date or time: ISO value and the span in the searched text."""

    kind: str  # "date" or "time"
    value: str
    start: int
    end: int


def to_int(token: str) -> int | None:
    """'12' / '十二' / '廿五' / '二〇二六' → int; None if it is not a number."""
    if token.isdigit():
        return int(token)
    try:
        value = cn2an(token, "normal")
    except (ValueError, KeyError, IndexError):
        return None
    return int(value) if float(value).is_integer() else None


def _safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


def _closest(candidates: list[date | None], today: date) -> date | None:
    valid = [c for c in candidates if c is not None]
    return min(valid, key=lambda c: (abs((c - today).days), c)) if valid else None


def _year_value(token: str, today: date) -> int | None:
    if token in _REL_YEAR:
        return today.year + _REL_YEAR[token]
    y = to_int(token)
    if y is None:
        return None
    if y < 100:  # '26年' → 2026; a two-digit year in the future beyond next year is last century
        y += 2000 if 2000 + y <= today.year + 1 else 1900
    return y


def _add_months(d: date, months: int) -> tuple[int, int]:
    idx = d.year * 12 + d.month - 1 + months
    return idx // 12, idx % 12 + 1


def _week_start(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _weekday_date(rel: str | None, weekday: int, today: date) -> date:
    if not rel:
        return today + timedelta(days=(weekday - today.weekday()) % 7)
    weeks = 0
    if rel.startswith("下下"):
        weeks = 2
    elif rel.startswith("下"):
        weeks = 1
    elif rel.startswith("上"):
        weeks = -1
    return _week_start(today) + timedelta(weeks=weeks, days=weekday)


class DateFinder:
    """Finds dates and times; `not_day_after_hao` lists characters after 号 that make it not a day."""

    def __init__(self, not_day_after_hao: str) -> None:
        self._not_day_after_hao = set(not_day_after_hao)

    def find(self, text: str, today: date) -> list[Found]:
        found: list[Found] = []
        taken: list[tuple[int, int]] = []

        def free(s: int, e: int) -> bool:
            return all(e <= a or s >= b for a, b in taken)

        def add(kind: str, value: date | str | None, s: int, e: int) -> None:
            if value is None or not free(s, e):
                return
            found.append(Found(kind, value if isinstance(value, str) else value.isoformat(), s, e))
            taken.append((s, e))

        for m in _FULL.finditer(text):
            y, mo, d = _year_value(m["y"], today), to_int(m["m"]), to_int(m["d"])
            if None not in (y, mo, d):
                add("date", _safe_date(y, mo, d), m.start(), m.end())  # type: ignore[arg-type]
        for m in _ISO.finditer(text):
            add("date", _safe_date(int(m["y"]), int(m["m"]), int(m["d"])), m.start(), m.end())
        for m in _MONTH_REL.finditer(text):
            d = to_int(m["d"])
            rel = m["rel"]
            shift = (
                2
                if rel.startswith("下下")
                else 1
                if rel.startswith("下")
                else -1
                if rel.startswith("上")
                else 0
            )
            y, mo = _add_months(today, shift)
            if d is not None:
                add("date", _safe_date(y, mo, d), m.start(), m.end())
        for m in _MONTH_DAY.finditer(text):
            mo, d = to_int(m["m"]), to_int(m["d"])
            if mo is None or d is None or not free(m.start(), m.end()):
                continue
            add(
                "date",
                _closest([_safe_date(today.year + k, mo, d) for k in (-1, 0, 1)], today),
                m.start(),
                m.end(),
            )
        for m in _OFFSET.finditer(text):
            n = to_int(m["n"])
            if n is not None:
                sign = -1 if m["dir"].endswith("前") else 1
                add("date", today + timedelta(days=sign * n), m.start(), m.end())
        for m in _WEEKEND.finditer(text):
            add("date", _weekday_date(m["rel"], 5, today), m.start(), m.end())
        for m in _WEEKDAY.finditer(text):
            add("date", _weekday_date(m["rel"], _WEEKDAYS[m["w"]], today), m.start(), m.end())
        for m in _DAY_WORD.finditer(text):
            add("date", today + timedelta(days=_DAY_WORDS[m.group(0)]), m.start(), m.end())
        for m in _DAY_ONLY.finditer(text):
            if m.end() < len(text) and text[m.end()] in self._not_day_after_hao:
                continue
            d = to_int(m["d"])
            if d is None or not free(m.start(), m.end()):
                continue
            months = [_add_months(today, k) for k in (-1, 0, 1)]
            add("date", _closest([_safe_date(y, mo, d) for y, mo in months], today), m.start(), m.end())
        for m in _TIME.finditer(text):
            if not free(m.start(), m.end()):
                continue
            value = _time_value(m)
            if value is not None:
                add("time", value, m.start(), m.end())
        found.sort(key=lambda f: f.start)
        return found


def _time_value(m: re.Match[str]) -> str | None:
    if m["h2"] is not None:
        hour, minute = int(m["h2"]), int(m["m2"])
    else:
        h = to_int(m["h"])
        if h is None:
            return None
        if m["h"] == "一" and not m["period"] and not (m["half"] or m["q"] or m["mi"]):
            return None  # 一点 / 一时 are "a little" / "for a while" far more often than 1 o'clock
        hour = h
        if m["half"]:
            minute = 30
        elif m["q"]:
            minute = 15 if m["q"] == "一" else 45
        elif m["mi"]:
            mi = to_int(m["mi"])
            if mi is None or (mi < 10 and not m["fen"]):
                return None  # 三点五 is the number 3.5, not 03:05
            minute = mi
        else:
            minute = 0
    period = m["period"]
    if period in _PERIOD_HOUR_SHIFT and hour < 12:
        shift = _PERIOD_HOUR_SHIFT[period]
        # 中午1点 is 13:00 but 中午12点 stays 12:00.
        hour += 12 if period == "中午" and hour < 6 else shift
    if not (0 <= hour <= 24 and 0 <= minute < 60) or (hour == 24 and minute):
        return None
    return f"{hour % 24:02d}:{minute:02d}"
