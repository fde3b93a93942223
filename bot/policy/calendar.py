"""Working days of the PRC calendar, 调休 included, failing closed.

`chinesecalendar` carries the State Council's yearly arrangement; years it
does not know yet come from `config/calendar/*.yaml`. A year found in neither
is counted by weekends only, and every answer that touches it says so
(`certain = False`) rather than passing a guess off as the law.

Counting follows Civil Code art. 201: the start day is not counted. Each
year is turned into a table once, so repeated lookups cost one index.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import chinese_calendar
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot import yaml_io
from bot.settings import CONFIG_DIR

CALENDAR_DIR = CONFIG_DIR / "calendar"
SETTINGS_FILE = "holidays.yaml"

log = logging.getLogger(__name__)


class CalendarError(Exception):
    """The override file is invalid; the message names the file and the date."""


class _Range(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: date = Field(alias="from")
    to: date

    @model_validator(mode="after")
    def _ordered(self) -> _Range:
        if self.to < self.from_:
            raise ValueError(f"range ends before it starts: {self.from_}..{self.to}")
        return self


class YearArrangement(BaseModel):
    """One year's official arrangement: days off and weekend days worked."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1)
    published: date | None = None
    holidays: list[date | _Range] = []
    workdays: list[date] = []

    def holiday_dates(self) -> set[date]:
        out: set[date] = set()
        for item in self.holidays:
            if isinstance(item, date):
                out.add(item)
            else:
                d = item.from_
                while d <= item.to:
                    out.add(d)
                    d += timedelta(days=1)
        return out

    def check(self, year: int) -> None:
        holidays = self.holiday_dates()
        workdays = set(self.workdays)
        stray = sorted(d for d in holidays | workdays if d.year != year)
        if stray:
            raise ValueError(f"{year}: dates outside the year: {[str(d) for d in stray]}")
        both = sorted(holidays & workdays)
        if both:
            raise ValueError(f"{year}: both holiday and workday: {[str(d) for d in both]}")
        weekdays = sorted(d for d in workdays if d.weekday() < 5)
        if weekdays:
            raise ValueError(f"{year}: make-up workdays must be weekend days: {[str(d) for d in weekdays]}")


class CalendarFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    warn_years_ahead: int | None = Field(default=None, ge=0, le=5)
    years: dict[int, YearArrangement] = {}


@dataclass(frozen=True, slots=True)
class _YearTable:
    first_ordinal: int
    working: bytes  # one byte per day of the year: 1 working, 0 off
    certain: bool


def _package_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


class WorkCalendar:
    """Working-day arithmetic over the official arrangement plus overrides."""

    def __init__(
        self, overrides: dict[int, YearArrangement] | None = None, warn_years_ahead: int = 1
    ) -> None:
        self._overrides = dict(overrides or {})
        self.warn_years_ahead = warn_years_ahead
        self._tables: dict[int, _YearTable] = {}

    def _table(self, year: int) -> _YearTable:
        table = self._tables.get(year)
        if table is None:
            table = self._tables[year] = self._build(year)
        return table

    def _build(self, year: int) -> _YearTable:
        first = date(year, 1, 1)
        days = (date(year + 1, 1, 1) - first).days if year < date.max.year else 365
        dates = [first + timedelta(days=i) for i in range(days)]
        override = self._overrides.get(year)
        if override is not None:
            off, on = override.holiday_dates(), set(override.workdays)
            flags = [d in on or (d.weekday() < 5 and d not in off) for d in dates]
            certain = True
        elif _package_knows(year):
            flags = [chinese_calendar.is_workday(d) for d in dates]
            certain = True
        else:
            flags = [d.weekday() < 5 for d in dates]
            certain = False
        return _YearTable(first.toordinal(), bytes(flags), certain)

    def is_certain(self, year: int) -> bool:
        """Whether the official arrangement of `year` is loaded (else weekends only)."""
        return self._table(year).certain

    def is_working_day(self, d: date) -> bool:
        table = self._table(d.year)
        return bool(table.working[d.toordinal() - table.first_ordinal])

    def add_working_days(self, d: date, n: int) -> tuple[date, bool]:
        """The n-th working day after `d` (n > 0) or before it (n < 0); `d` itself is not counted.

        The flag is False when any year looked at lacks the official arrangement.
        """
        if n == 0:
            raise ValueError("n must not be 0: the start day is never counted")
        step = 1 if n > 0 else -1
        remaining = abs(n)
        ordinal = d.toordinal()
        year = d.year
        table = self._table(year)
        certain = True
        while remaining:
            ordinal += step
            idx = ordinal - table.first_ordinal
            if idx < 0 or idx >= len(table.working):
                year += step
                table = self._table(year)
                idx = ordinal - table.first_ordinal
            certain = certain and table.certain
            if table.working[idx]:
                remaining -= 1
        return date.fromordinal(ordinal), certain

    def working_days_between(self, a: date, b: date) -> tuple[int, bool]:
        """Working days in (a, b]; negative when b is before a (then counted over (b, a])."""
        if b < a:
            count, certain = self.working_days_between(b, a)
            return -count, certain
        if a == b:
            return 0, True
        count = 0
        certain = True
        d = a + timedelta(days=1)
        year = d.year
        while year <= b.year:
            table = self._table(year)
            certain = certain and table.certain
            start = max(d, date(year, 1, 1)).toordinal() - table.first_ordinal
            end = min(b, date(year, 12, 31)).toordinal() - table.first_ordinal
            count += table.working[start : end + 1].count(1)
            year += 1
        return count, certain

    def missing_years(self, today: date) -> list[int]:
        """This year and the next `warn_years_ahead` ones that lack the official arrangement."""
        return [
            y for y in range(today.year, today.year + self.warn_years_ahead + 1) if not self.is_certain(y)
        ]

    def warn_missing(self, today: date, logger: logging.Logger = log) -> list[int]:
        """Log a start-up warning for missing years; deadlines into them fall back to weekends only."""
        missing = self.missing_years(today)
        if missing:
            logger.warning(
                "official holiday arrangement missing for %s: working days there count weekends only "
                "and deadlines say calendar_certain=false; add the State Council notice to %s",
                ", ".join(map(str, missing)),
                CALENDAR_DIR / SETTINGS_FILE,
            )
        return missing


def _load_file(path: Path) -> CalendarFile:
    try:
        raw: Any = yaml_io.safe_load(path.read_text(encoding="utf-8")) or {}
        parsed = CalendarFile.model_validate(raw)
        for year, arrangement in parsed.years.items():
            arrangement.check(year)
    except (OSError, yaml.YAMLError, ValidationError, ValueError) as exc:
        raise CalendarError(f"{path}: {exc}") from exc
    return parsed


def load_calendar(directory: Path = CALENDAR_DIR) -> WorkCalendar:
    """Build a calendar from every `*.yaml` in `directory`; a year listed twice is an error."""
    overrides: dict[int, YearArrangement] = {}
    warn_years_ahead = 1
    for path in sorted(directory.glob("*.yaml")):
        parsed = _load_file(path)
        if parsed.warn_years_ahead is not None:
            warn_years_ahead = parsed.warn_years_ahead
        for year, arrangement in parsed.years.items():
            if year in overrides:
                raise CalendarError(f"{path}: year {year} is listed in more than one file")
            overrides[year] = arrangement
    return WorkCalendar(overrides, warn_years_ahead)


@lru_cache(maxsize=1)
def get_calendar() -> WorkCalendar:
    """The calendar of `config/calendar/`, loaded once per process."""
    return load_calendar()
