"""`config/attendance.yaml`: the operational knobs of attendance, validated once.

Kept apart from the policy (config/policy) on purpose: these are service
choices an operator may tune (how early 签到 opens, when nudges go out), not
rules of 吉人社规〔2024〕3号.
"""

from __future__ import annotations

import re
from datetime import time
from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator

from bot.config_file import StrictModel, load_yaml
from bot.settings import CONFIG_DIR

CONFIG_FILE = CONFIG_DIR / "attendance.yaml"
_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d|24:00")


class CheckIn(StrictModel):
    opens_minutes_before: int = Field(ge=0, le=24 * 60)


class Reminders(StrictModel):
    daily_run: time
    evening_run: time
    tick_minutes: int = Field(ge=1, le=60)
    batch_sessions: int = Field(ge=1, le=10_000)


class Planning(StrictModel):
    """Where the morning plan may move a reminder (never later than the time its person chose)."""

    day_floor: time
    evening_floor: time
    evening_for_sessions_before: time
    evening_for_all: bool


class Nudge(StrictModel):
    at_fraction: float = Field(gt=0, lt=1)


class Warnings(StrictModel):
    lookback_hours: int = Field(ge=1)


class ClassInfo(StrictModel):
    upcoming_sessions: int = Field(ge=1, le=20)
    ended_within_days: int = Field(default=30, ge=0, le=366)
    # word -> [from, to) as "HH:MM" ("24:00" is the end of the day)
    day_parts: dict[str, tuple[str, str]] = Field(default_factory=dict)

    @field_validator("day_parts")
    @classmethod
    def _times(cls, value: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
        for word, (start, end) in value.items():
            if not (_HHMM.fullmatch(start) and _HHMM.fullmatch(end) and start < end):
                raise ValueError(f"class_info.day_parts.{word}: need two times HH:MM, the first earlier")
        return value


class Imports(StrictModel):
    max_body_bytes: int = Field(ge=1024)
    max_rows: int = Field(ge=1)
    max_class_days: int = Field(ge=1)


class ReminderWords(StrictModel):
    default: tuple[str, ...]
    turn_off: tuple[str, ...]
    turn_on: tuple[str, ...]


class AttendanceConfig(StrictModel):
    check_in: CheckIn
    reminders: Reminders
    planning: Planning
    nudge: Nudge
    warnings: Warnings
    class_info: ClassInfo
    imports: Imports
    reminder_words: ReminderWords


def load_attendance_config(path: Path = CONFIG_FILE) -> AttendanceConfig:
    return load_yaml(AttendanceConfig, path)


@lru_cache(maxsize=1)
def get_attendance_config() -> AttendanceConfig:
    return load_attendance_config()
