"""The delivery parameters (`config/outbox.yaml`) and WeChat templates (`config/wechat_templates.yaml`).

Validated with pydantic when first read, so a typo in the YAML stops the
service with the key named instead of misbehaving at the first send.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import Field, model_validator

from bot.config_file import StrictModel, load_yaml
from bot.settings import CONFIG_DIR

OUTBOX_FILE = CONFIG_DIR / "outbox.yaml"
TEMPLATES_FILE = CONFIG_DIR / "wechat_templates.yaml"


class DispatcherConfig(StrictModel):
    interval_seconds: float = Field(gt=0)
    run_budget_seconds: float = Field(gt=0)
    claim_batch: int = Field(ge=1)
    claim_lease_seconds: float = Field(gt=0)
    leader_lease_seconds: float = Field(gt=0)
    heartbeat_seconds: float = Field(gt=0)
    send_margin_seconds: float = Field(gt=0)
    standby_poll_seconds: float = Field(gt=0)
    max_in_flight: int = Field(ge=1)
    request_timeout_seconds: float = Field(gt=0)

    @model_validator(mode="after")
    def _leases_outlast_missed_heartbeats(self) -> DispatcherConfig:
        # A holder stops starting sends one heartbeat before its leases may run out, so a
        # lease must span that heartbeat and at least one more: a single late renewal
        # (a busy database) must not cost the lease.
        for name in ("claim_lease_seconds", "leader_lease_seconds"):
            if getattr(self, name) < 2 * self.heartbeat_seconds:
                raise ValueError(f"{name} must be at least twice heartbeat_seconds")
        return self

    @property
    def wire_lease_seconds(self) -> float:
        """The claim of a row on the wire: it must outlast the request, or a slow answer could double it."""
        return self.request_timeout_seconds + self.claim_lease_seconds


class LanesConfig(StrictModel):
    reply_queue: int = Field(ge=1)
    reminder_queue: int = Field(ge=1)
    broadcast_queue: int = Field(ge=1)
    reminder_weight: float = Field(gt=0)
    broadcast_weight: float = Field(gt=0)
    reply_poll_seconds: float = Field(gt=0)

    def queue(self, lane: str) -> int:
        return int(getattr(self, f"{lane}_queue"))

    def weight(self, lane: str) -> float:
        return float(getattr(self, f"{lane}_weight", 0.0))


class FloodConfig(StrictModel):
    chat_extra_seconds: float = Field(ge=0)
    max_pause_seconds: float = Field(gt=0)


class RetryConfig(StrictModel):
    max_attempts: int = Field(ge=1)
    unknown_retry_seconds: float = Field(gt=0)
    base_seconds: float = Field(gt=0)
    factor: float = Field(ge=1)
    max_seconds: float = Field(gt=0)
    jitter: float = Field(ge=0, lt=1)
    quota_backoff_seconds: float = Field(gt=0)


class ChannelPacing(StrictModel):
    rate_per_second: float = Field(gt=0)
    per_chat_interval_seconds: float = Field(ge=0)
    # The reminder plan's share of the rate for the whole bot, and how long a send takes to arrive.
    plan_capacity_per_second: float = Field(gt=0)
    send_seconds: float = Field(ge=0)

    def plan_capacity(self) -> float:
        """What the plan may count on: its share, never more than the rate the dispatcher keeps."""
        return min(self.plan_capacity_per_second, self.rate_per_second)


class TelegramConfig(ChannelPacing):
    max_text_chars: int = Field(ge=100, le=4096)
    platform_rate_per_second: float = Field(gt=0)


class WeChatConfig(ChannelPacing):
    service_window_hours: float = Field(gt=0)
    service_window_margin_minutes: float = Field(ge=0)
    passive_reply_seconds: float = Field(ge=0, lt=5)
    max_text_bytes: int = Field(ge=100, le=2048)
    max_xml_bytes: int = Field(ge=1024)
    service_messages_per_interaction: int = Field(ge=1)
    template_daily_quota: int = Field(ge=0)
    service_daily_quota: int = Field(ge=0)


class ChannelsConfig(StrictModel):
    telegram: TelegramConfig
    wechat: WeChatConfig


class InboxConfig(StrictModel):
    recover_after_seconds: float = Field(gt=0)
    recover_interval_seconds: float = Field(gt=0)
    max_attempts: int = Field(ge=1)
    retention_days: int = Field(ge=1)


class DeliveryConfig(StrictModel):
    dispatcher: DispatcherConfig
    lanes: LanesConfig
    flood: FloodConfig
    retry: RetryConfig
    channels: ChannelsConfig
    inbox: InboxConfig

    def pacing(self, channel: str) -> ChannelPacing:
        return getattr(self.channels, channel)  # type: ignore[no-any-return]


class Template(StrictModel):
    template_id: str = ""
    url: str = ""
    data: dict[str, str]


class TemplatesConfig(StrictModel):
    max_value_chars: int = Field(ge=1)
    templates: dict[str, Template]

    def render(self, payload: dict[str, Any], text: str) -> tuple[str, str, dict[str, Any]] | None:
        """(template_id, url, data) for an outbox row's `template`, or None when not configured.

        A field the producer did not give renders empty rather than failing the
        send: the template still tells the user something happened.
        """
        template = self.templates.get(str(payload.get("template", "")))
        if template is None or not template.template_id:
            return None
        fields = {str(k): "" if v is None else str(v) for k, v in (payload.get("fields") or {}).items()}
        fields.setdefault("text", text)
        values = _Defaulting(fields)
        data = {
            name: {"value": fmt.format_map(values)[: self.max_value_chars]}
            for name, fmt in template.data.items()
        }
        url = template.url.format_map(values) if template.url else ""
        return template.template_id, url, data


class _Defaulting(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


@lru_cache(maxsize=1)
def load_config() -> DeliveryConfig:
    return load_yaml(DeliveryConfig, OUTBOX_FILE)


@lru_cache(maxsize=1)
def load_templates() -> TemplatesConfig:
    return load_yaml(TemplatesConfig, TEMPLATES_FILE)


def delivery_config(services: Any) -> DeliveryConfig:
    """The services' delivery config: the file's, unless a test or a bench put another in `extra`."""
    config = services.extra.get("delivery_config")
    return config if isinstance(config, DeliveryConfig) else load_config()


def templates_config(services: Any) -> TemplatesConfig:
    config = services.extra.get("wechat_templates")
    return config if isinstance(config, TemplatesConfig) else load_templates()
