"""`config/console.yaml`, validated once: a typo stops the service at start, not on a staff member's click."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field

from bot.config_file import StrictModel, load_yaml
from bot.settings import CONFIG_DIR

CONFIG_FILE = CONFIG_DIR / "console.yaml"


class ConsoleImports(StrictModel):
    keep_minutes: int = Field(gt=0, le=24 * 60)
    check_wait_ms: int = Field(ge=0, le=30_000)
    refresh_seconds: int = Field(ge=1, le=60)
    progress_write_ms: int = Field(ge=100)
    report_rows: int = Field(gt=0, le=20_000)


class ConsoleConfig(StrictModel):
    session_hours: int = Field(gt=0)
    cookie_name: str = Field(pattern=r"^[A-Za-z0-9_]+$")
    page_size: int = Field(gt=0, le=500)
    progress_refresh_ms: int = Field(ge=200)
    preview_debounce_ms: int = Field(ge=0)
    imports: ConsoleImports


def load_config(path: Path = CONFIG_FILE) -> ConsoleConfig:
    return load_yaml(ConsoleConfig, path)


@lru_cache(maxsize=1)
def get_config() -> ConsoleConfig:
    return load_config()
