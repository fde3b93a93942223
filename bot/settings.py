"""Settings: `config/settings.yaml` defaults, overridden by the environment.

Validated once at start so that a bad value stops the service with a message
naming the variable, instead of failing later inside a request.
"""

from __future__ import annotations

import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot import yaml_io

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = ROOT / "config"
DEFAULTS_FILE = CONFIG_DIR / "settings.yaml"


class SettingsError(Exception):
    """Raised with one line per bad setting, ready to print to an operator."""


class _YamlDefaults(PydanticBaseSettingsSource):
    """Lowest-priority source: the committed defaults file."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self._data: dict[str, Any] = yaml_io.safe_load(DEFAULTS_FILE.read_text(encoding="utf-8")) or {}

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self._data.items() if k in self.settings_cls.model_fields}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    database_url: str = ""
    bot_data_dir: Path = Path("./var")
    redis_url: str = ""
    host: str = "0.0.0.0"
    port: int = Field(8080, ge=1, le=65535)
    timezone: str = "Asia/Shanghai"
    log_level: str = "INFO"

    wechat_token: str = ""
    wechat_app_id: str = ""
    wechat_app_secret: str = ""
    wechat_aes_key: str = ""
    wechat_api_base: str = "https://api.weixin.qq.com"

    telegram_bot_token: str = ""
    telegram_secret_token: str = ""
    telegram_api_base: str = "https://api.telegram.org"

    admin_token: str = ""
    secret_key: str = ""

    max_body_bytes: int = Field(65536, ge=1024)
    # Issue 12 (privacy and hardening):
    trusted_proxies: str = ""  # comma-separated addresses whose X-Forwarded-For/-Proto are believed
    wechat_timestamp_window_seconds: int = Field(300, ge=30, le=3600)
    body_read_timeout_seconds: float = Field(30.0, gt=0, le=600)
    max_text_chars: int = Field(2000, ge=10)
    slow_turn_ms: int = Field(1000, ge=1)
    seed_demo: bool = False
    scheduler_enabled: bool = True
    intent_threshold: float = Field(0.55, gt=0, lt=1)
    global_threshold: float = Field(0.8, gt=0, le=1)
    # Operations (issue 18): logs, metrics, a chosen "now" for demos and staging.
    log_format: str = "text"
    metrics_token: str = ""
    bot_now: str = ""
    bot_now_allow_postgres: bool = False

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlDefaults(settings_cls))

    @field_validator("database_url")
    @classmethod
    def _check_db_url(cls, v: str) -> str:
        if v and not (v.startswith("sqlite+aiosqlite://") or v.startswith("postgresql+asyncpg://")):
            if v.startswith("postgresql://") or v.startswith("postgres://"):
                return "postgresql+asyncpg://" + v.split("://", 1)[1]
            if v.startswith("sqlite://"):
                return "sqlite+aiosqlite://" + v.split("://", 1)[1]
            raise ValueError("must be a postgresql+asyncpg:// or sqlite+aiosqlite:// URL")
        return v

    @field_validator("timezone")
    @classmethod
    def _check_tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, v: str) -> str:
        v = v.upper()
        if v not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return v

    @field_validator("log_format")
    @classmethod
    def _check_log_format(cls, v: str) -> str:
        v = v.lower()
        if v not in {"text", "json"}:
            raise ValueError("must be text or json")
        return v

    @field_validator("bot_now")
    @classmethod
    def _check_bot_now(cls, v: str) -> str:
        if v:
            from bot.clock import parse_bot_now

            parse_bot_now(v, ZoneInfo("Asia/Shanghai"))
        return v

    @model_validator(mode="after")
    def _bot_now_only_where_allowed(self) -> Settings:
        if self.bot_now and not self.is_sqlite and not self.bot_now_allow_postgres:
            raise ValueError(
                "BOT_NOW is refused on PostgreSQL (a production database); "
                "set BOT_NOW_ALLOW_POSTGRES=true for a staging database"
            )
        return self

    @field_validator("wechat_aes_key")
    @classmethod
    def _check_aes(cls, v: str) -> str:
        if v and len(v) != 43:
            raise ValueError("EncodingAESKey must be 43 characters (as shown in the WeChat console)")
        return v

    @field_validator("wechat_api_base", "telegram_api_base")
    @classmethod
    def _check_base(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/")

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def db_url(self) -> str:
        """The effective database URL: the embedded SQLite file unless one is given."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.bot_data_dir / 'bot.sqlite3').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")

    @property
    def wechat_enabled(self) -> bool:
        return bool(self.wechat_token and self.wechat_app_id)

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token and self.telegram_secret_token)

    def hash_key(self) -> bytes:
        """The HMAC key for ID-card numbers; generated once per data dir when unset."""
        if self.secret_key:
            return self.secret_key.encode()
        path = self.bot_data_dir / "secret.key"
        if not path.exists():
            self.bot_data_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
            # Owner-only from the first byte (0600): whoever reads it can test ID numbers.
            with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
                out.write(secrets.token_hex(32))
            try:
                tmp.rename(path) if not path.exists() else tmp.unlink()
            except OSError:
                tmp.unlink(missing_ok=True)
        return path.read_text().strip().encode()


def load_settings(**overrides: Any) -> Settings:
    """Build settings or raise SettingsError listing every bad variable."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]).upper()
            if not name:  # a rule across settings (BOT_NOW on PostgreSQL): the message names them
                lines.append(f"settings: {err['msg']}")
                continue
            lines.append(f"setting {name}: {err['msg']} (got {err.get('input')!r})")
        raise SettingsError("\n".join(lines)) from None
    settings.bot_data_dir.mkdir(parents=True, exist_ok=True)
    return settings
