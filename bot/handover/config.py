"""`config/handover.yaml`: working hours, clocks and return commands; region names from bot.places."""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from typing import Any

from pydantic import Field, model_validator

from bot import places
from bot.config_file import StrictModel, load_yaml
from bot.settings import CONFIG_DIR

HANDOVER_FILE = CONFIG_DIR / "handover.yaml"


class WorkingHours(StrictModel):
    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> WorkingHours:
        if self.end <= self.start:
            raise ValueError("working_hours.end must be after working_hours.start")
        return self


class HandoverConfig(StrictModel):
    working_hours: WorkingHours
    reply_within_minutes: int = Field(ge=1, le=24 * 60)
    hand_back_after_minutes: int = Field(ge=1, le=7 * 24 * 60)
    ack_every_minutes: int = Field(ge=1)
    tick_seconds: int = Field(ge=5, le=3600)
    return_commands: tuple[str, ...] = Field(min_length=1)
    region_lookback_messages: int = Field(ge=0, le=100)
    max_reply_chars: int = Field(default=2000, ge=10)
    notify_staff: bool = True

    def region_name(self, code: str | None) -> str | None:
        """The official name of a division (config/places/jilin.yaml), None for the province queue."""
        return None if code == places.PROVINCE_CODE else places.region_name(code)


@lru_cache(maxsize=1)
def load_config() -> HandoverConfig:
    return load_yaml(HandoverConfig, HANDOVER_FILE)


def handover_config(services: Any) -> HandoverConfig:
    """The file's config, unless a test put another in `services.extra` (a shorter clock)."""
    config = services.extra.get("handover_config")
    return config if isinstance(config, HandoverConfig) else load_config()
