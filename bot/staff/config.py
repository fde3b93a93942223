"""`config/broadcasts.yaml`, validated once: a typo stops the service at start, not mid-send."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from bot.settings import CONFIG_DIR

CONFIG_FILE = CONFIG_DIR / "broadcasts.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoticeConfig(_Strict):
    max_title_chars: int = Field(gt=0)
    max_text_chars: int = Field(gt=0)
    max_link_chars: int = Field(gt=0)
    wechat_template: str = Field(min_length=1)
    max_schedule_days: int = Field(gt=0)
    past_tolerance_seconds: int = Field(ge=0)


class JobConfig(_Strict):
    interval_seconds: int = Field(gt=0)


class ConsoleConfig(_Strict):
    session_hours: int = Field(gt=0)
    cookie_name: str = Field(pattern=r"^[A-Za-z0-9_]+$")
    page_size: int = Field(gt=0, le=500)
    progress_refresh_ms: int = Field(ge=200)
    preview_debounce_ms: int = Field(ge=0)


class StaffConfig(_Strict):
    notice: NoticeConfig
    job: JobConfig
    console: ConsoleConfig


def load_config(path: Path = CONFIG_FILE) -> StaffConfig:
    return StaffConfig.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def get_config() -> StaffConfig:
    return load_config()
