"""The fake messenger APIs (tests/fakes) served for the staff tests, and settings pointing at them."""

from __future__ import annotations

from typing import Any

from bot.outbox.config import TemplatesConfig, load_templates
from tests.fakes.fake_telegram import FakeTelegram
from tests.fakes.fake_wechat import FakeWeChat

NOTICE_TEMPLATE_ID = "TPL-NOTICE-0001"


async def serve(aiohttp_server: Any, fake: Any) -> str:
    server = await aiohttp_server(fake.app())
    return str(server.make_url("")).rstrip("/")


def messenger_settings(
    telegram: FakeTelegram, telegram_base: str, wechat: FakeWeChat, wechat_base: str
) -> dict[str, Any]:
    return {
        "wechat_token": "wechat-test-token",
        "wechat_app_id": wechat.app_id,
        "wechat_app_secret": wechat.app_secret,
        "wechat_aes_key": "",
        "wechat_api_base": wechat_base,
        "telegram_bot_token": telegram.token,
        "telegram_secret_token": "telegram-test-secret",
        "telegram_api_base": telegram_base,
    }


def templates_with_notice() -> TemplatesConfig:
    """The shipped templates, with an id for the notice template (as after registering it with WeChat)."""
    data = load_templates().model_dump()
    data["templates"]["notice"]["template_id"] = NOTICE_TEMPLATE_ID
    return TemplatesConfig.model_validate(data)
