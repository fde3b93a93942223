"""`config/broadcasts.yaml`, validated once: a typo stops the service at start, not mid-send."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field

from bot.config_file import StrictModel, load_yaml
from bot.settings import CONFIG_DIR

CONFIG_FILE = CONFIG_DIR / "broadcasts.yaml"


class NoticeConfig(StrictModel):
    max_title_chars: int = Field(gt=0)
    max_text_chars: int = Field(gt=0)
    max_link_chars: int = Field(gt=0)
    wechat_template: str = Field(min_length=1)
    max_schedule_days: int = Field(gt=0)
    past_tolerance_seconds: int = Field(ge=0)


class JobConfig(StrictModel):
    interval_seconds: int = Field(gt=0)


class BroadcastsConfig(StrictModel):
    notice: NoticeConfig
    job: JobConfig


def load_config(path: Path = CONFIG_FILE) -> BroadcastsConfig:
    return load_yaml(BroadcastsConfig, path)


@lru_cache(maxsize=1)
def get_config() -> BroadcastsConfig:
    return load_config()
