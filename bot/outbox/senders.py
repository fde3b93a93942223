"""One outbox row to one platform: what to call, in which form, and which fallback.

A sender returns how the row went out ("message", "template") or raises a
`bot.outbox.errors` class, or `Skip` when the row must not go out at all
(WeChat's 48-hour window closed and no template to fall back to).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.channels.render import split_text, wechat_text
from bot.outbox.config import TelegramConfig, TemplatesConfig, WeChatConfig
from bot.outbox.errors import OutsideWindow
from bot.outbox.telegram_api import TelegramApi
from bot.outbox.wechat_api import WeChatApi
from bot.texts import Texts


@dataclass
class Job:
    """A claimed row with what sending needs of its chat user (plain data, no ORM session)."""

    id: int
    key: str
    kind: str
    text: str
    choices: list[str]
    template: dict[str, Any] | None
    attempts: int
    due_at: datetime
    expires_at: datetime | None
    chat_user_id: int
    channel: str
    external_id: str
    reachable: bool
    last_inbound_at: datetime | None
    seq: int = 0  # order of claiming within a dispatcher run
    lane: str = "reminder"
    # The claim this job was taken under (`OutboxMessage.lease_token`, `claim_epoch`): the fence.
    token: str = ""
    epoch: int = 0
    # The previous send of this row timed out after the request was written (`delivery` "unknown").
    unknown_before: bool = False
    unknown_outcomes: int = 0
    # Loop time until which our claim is known to hold (claim or last renewal + lease - margin).
    lease_until: float = float("inf")
    # A refusal the sender worked around (e.g. WeChat 45015 before the template went out).
    note: str | None = None
    # Past this moment (less the channel's send time) the row is not sent (`OutboxMessage.deadline_at`).
    deadline_at: datetime | None = None


class Skip(Exception):
    def __init__(self, delivery: str, reason: str) -> None:
        super().__init__(reason)
        self.delivery = delivery


class Sender(Protocol):
    channel: str

    async def deliver(self, job: Job, now: datetime) -> str: ...


class TelegramSender:
    channel = "telegram"

    def __init__(self, api: TelegramApi, config: TelegramConfig) -> None:
        self.api = api
        self.config = config

    async def deliver(self, job: Job, now: datetime) -> str:
        parts = split_text(job.text, self.config.max_text_chars)
        for number, part in enumerate(parts, 1):
            choices = job.choices if number == len(parts) else None
            await self.api.send_message(job.external_id, part, choices)
        return "message"


class WeChatSender:
    channel = "wechat"

    def __init__(
        self, api: WeChatApi, config: WeChatConfig, templates: TemplatesConfig, texts: Texts
    ) -> None:
        self.api = api
        self.config = config
        self.templates = templates
        self.texts = texts

    def in_window(self, job: Job, now: datetime) -> bool:
        """Whether WeChat still accepts a customer-service message: 48 h after the user's last message."""
        if job.last_inbound_at is None:
            return False
        window = timedelta(hours=self.config.service_window_hours) - timedelta(
            minutes=self.config.service_window_margin_minutes
        )
        return now < job.last_inbound_at + window

    async def deliver(self, job: Job, now: datetime) -> str:
        refusal = "the 48-hour customer-service window is closed"
        if self.in_window(job, now):
            text = wechat_text(job.text, job.choices, self.texts)
            try:
                for part in split_text(text, self.config.max_text_bytes, measure="bytes"):
                    await self.api.send_text(job.external_id, part)
                return "message"
            except OutsideWindow as exc:
                refusal = str(exc)
                job.note = refusal
        return await self._template(job, refusal)

    async def _template(self, job: Job, refusal: str) -> str:
        if not job.template:
            raise Skip("outside_window", f"{refusal}; the message has no template")
        rendered = self.templates.render(job.template, job.text)
        if rendered is None:
            name = job.template.get("template")
            raise Skip("outside_window", f"{refusal}; template {name!r} has no template_id in config")
        template_id, url, data = rendered
        # The row's own id as WeChat's client_msg_id: a retry after a lost answer is not a second message.
        msg_id = f"outbox-{job.id}"
        await self.api.send_template(job.external_id, template_id, data, url, client_msg_id=msg_id)
        return "template"
