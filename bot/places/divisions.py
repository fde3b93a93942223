"""Loading `config/places/jilin.yaml` and the lookups over it.

Why a hierarchy and not code prefixes alone: a prefix says 222401 lies in
2224, but not what to call 2224 ("延边州"), nor that 梅河口 counts under 通化
although the province administers it; and it cannot tell 220000 from a
prefecture without rules scattered over the callers. Codes that are well
formed but not in the file (the statistics codes of development zones,
2201 71) still get their ancestors from the prefix, so a class filed under
one is found by its city.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from pydantic import Field

from bot.config_file import StrictModel, load_yaml
from bot.settings import CONFIG_DIR

PLACES_FILE = CONFIG_DIR / "places" / "jilin.yaml"
PROVINCE_CODE = "220000"
_SUFFIXES = ("市", "区", "县")
Level = Literal["province", "prefecture", "county"]


class _Entry(StrictModel):
    code: str = Field(pattern=r"^\d{6}$")
    name: str = Field(min_length=2)
    parent: str | None = None
    short: tuple[str, ...] = ()
    bare: bool = True  # derive the name without its 市/区/县 ending as a short name


class _Area(StrictModel):
    name: str
    full_name: str | None = None
    within: tuple[str, ...] = ()


class _File(StrictModel):
    province: _Entry
    prefectures: tuple[_Entry, ...]
    counties: tuple[_Entry, ...]
    areas: tuple[_Area, ...] = ()


@dataclass(frozen=True)
class Division:
    code: str
    name: str  # official name (延边朝鲜族自治州)
    level: Level
    parent: str | None
    names: tuple[str, ...]  # every name it is known by, the official one first


@dataclass(frozen=True)
class PlaceHit:
    """A place named in a text: the words as written and the divisions they cover."""

    text: str
    start: int
    end: int
    code: str | None  # the division named; None for an area that is not a division (长白山)
    within: tuple[str, ...]  # the divisions covered: (code,) for a division


@dataclass(frozen=True)
class _Places:
    by_code: dict[str, Division]
    targets: dict[str, tuple[str | None, tuple[str, ...]]]  # name -> (code, within)
    pattern: re.Pattern[str] | None


def _names(entry: _Entry) -> tuple[str, ...]:
    names = [entry.name, *entry.short]
    if entry.bare and entry.name.endswith(_SUFFIXES) and len(entry.name) >= 3:
        names.append(entry.name[:-1])
    return tuple(dict.fromkeys(names))


def _build(data: _File) -> _Places:
    by_code: dict[str, Division] = {}
    levelled: list[tuple[_Entry, Level, str | None]] = [(data.province, "province", None)]
    levelled += [(e, "prefecture", PROVINCE_CODE) for e in data.prefectures]
    levelled += [(e, "county", e.parent) for e in data.counties]
    targets: dict[str, tuple[str | None, tuple[str, ...]]] = {}
    for entry, level, parent_code in levelled:
        if entry.code in by_code:
            raise ValueError(f"places: code {entry.code} listed twice")
        by_code[entry.code] = Division(entry.code, entry.name, level, parent_code, _names(entry))
    for div in by_code.values():
        if div.parent is not None and div.parent not in by_code:
            raise ValueError(f"places: {div.code} has an unknown parent {div.parent}")
        for name in div.names:
            if name in targets:
                raise ValueError(f"places: the name {name} is given to two divisions")
            targets[name] = (div.code, (div.code,))
    for area in data.areas:
        targets[area.name] = (None, area.within)
    ordered = sorted(targets, key=len, reverse=True)  # at one position the longest name wins
    pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
    return _Places(by_code, targets, pattern)


@lru_cache(maxsize=1)
def _places() -> _Places:
    return _build(load_yaml(_File, PLACES_FILE))


def divisions() -> dict[str, Division]:
    return _places().by_code


def division(code: str | None) -> Division | None:
    return _places().by_code.get(code or "")


def region_name(code: str | None) -> str | None:
    """The official name of a code, or None when it is not a division of the file."""
    div = division(code)
    return div.name if div else None


def short_name(code: str | None) -> str | None:
    """The name people say (延边州, 长春市, 前郭县): the official one unless it is long."""
    div = division(code)
    if div is None:
        return None
    return div.names[1] if len(div.name) > 4 and len(div.names) > 1 else div.name


def _well_formed(code: str | None) -> bool:
    return bool(code) and len(code or "") == 6 and (code or "").isdigit()


def parent(code: str | None) -> str | None:
    """The division above; by the code's prefix for a well-formed code not in the file."""
    div = division(code)
    if div is not None:
        return div.parent
    if not _well_formed(code) or not str(code).startswith(PROVINCE_CODE[:2]):
        return None
    code = str(code)
    if code.endswith("0000"):
        return None
    if code.endswith("00"):
        return PROVINCE_CODE
    return code[:4] + "00"


def ancestors(code: str | None) -> tuple[str, ...]:
    """The divisions a code lies in, nearest first, ending with the province."""
    out: list[str] = []
    current = parent(code)
    while current is not None and current not in out:
        out.append(current)
        current = parent(current)
    return tuple(out)


def contains(area_code: str | None, region_code: str | None) -> bool:
    """Whether `region_code` is `area_code` or lies inside it (延边 222400 holds 延吉 222401)."""
    if not _well_formed(area_code) or not _well_formed(region_code):
        return False
    return region_code == area_code or area_code in ancestors(region_code)


def find_places(text: str) -> list[PlaceHit]:
    """The places named in `text`, left to right, each the longest name at its position.

    "吉林省长春市" names the province and 长春; 吉林 inside 吉林省 or 吉林市 is
    never read on its own, and 白山 inside 长白山 is not 白山市.
    """
    places = _places()
    if not text or places.pattern is None:
        return []
    hits = []
    for m in places.pattern.finditer(text):
        code, within = places.targets[m.group(0)]
        if not within:
            continue  # words that only look like a place (四平八稳)
        hits.append(PlaceHit(m.group(0), m.start(), m.end(), code, within))
    return hits
