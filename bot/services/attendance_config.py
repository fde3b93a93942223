"""`config/attendance.yaml`: the operational knobs of attendance, validated once.

Kept apart from the policy (config/policy) on purpose: these are service
choices an operator may tune (how early 签到 opens, when nudges go out), not
rules of 吉人社规〔2024〕3号.
"""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from bot.settings import CONFIG_DIR

CONFIG_FILE = CONFIG_DIR / "attendance.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckIn(_Strict):
    opens_minutes_before: int = Field(ge=0, le=24 * 60)


class Reminders(_Strict):
    daily_run: time
    tick_minutes: int = Field(ge=1, le=60)
    batch_sessions: int = Field(ge=1, le=10_000)


class Nudge(_Strict):
    at_fraction: float = Field(gt=0, lt=1)


class Warnings(_Strict):
    lookback_hours: int = Field(ge=1)


class ClassInfo(_Strict):
    upcoming_sessions: int = Field(ge=1, le=20)


class Imports(_Strict):
    max_body_bytes: int = Field(ge=1024)
    max_rows: int = Field(ge=1)
    max_class_days: int = Field(ge=1)


class ReminderWords(_Strict):
    default: tuple[str, ...]
    turn_off: tuple[str, ...]
    turn_on: tuple[str, ...]


class AttendanceConfig(_Strict):
    check_in: CheckIn
    reminders: Reminders
    nudge: Nudge
    warnings: Warnings
    class_info: ClassInfo
    imports: Imports
    reminder_words: ReminderWords


def load_attendance_config(path: Path = CONFIG_FILE) -> AttendanceConfig:
    return AttendanceConfig.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def get_attendance_config() -> AttendanceConfig:
    return load_attendance_config()
