"""Both messenger channels mounted, their outbound APIs pointed at local fakes."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from typing import Any
from xml.sax.saxutils import escape

import pytest
from aiohttp.test_utils import TestClient
from wechatpy.utils import WeChatSigner

from bot.outbox import get_dispatcher
from bot.outbox.config import load_config
from bot.services import Services
from tests.fakes.fake_telegram import FakeTelegram
from tests.fakes.fake_wechat import FakeWeChat

WECHAT_TOKEN = "wechat-test-token"
ACCOUNT = "gh_jilin_training"  # the Official Account's own id (ToUserName of inbound messages)
TELEGRAM_SECRET = "telegram-test-secret"


@pytest.fixture
async def fake_telegram(aiohttp_server: Any) -> FakeTelegram:
    fake = FakeTelegram()
    server = await aiohttp_server(fake.app())
    fake.base = str(server.make_url("")).rstrip("/")  # type: ignore[attr-defined]
    return fake


@pytest.fixture
async def fake_wechat(aiohttp_server: Any) -> FakeWeChat:
    fake = FakeWeChat()
    server = await aiohttp_server(fake.app())
    fake.base = str(server.make_url("")).rstrip("/")  # type: ignore[attr-defined]
    return fake


@pytest.fixture
def settings_overrides(fake_telegram: FakeTelegram, fake_wechat: FakeWeChat) -> dict[str, Any]:
    return {
        "wechat_token": WECHAT_TOKEN,
        "wechat_app_id": fake_wechat.app_id,
        "wechat_app_secret": fake_wechat.app_secret,
        "wechat_aes_key": "",
        "wechat_api_base": fake_wechat.base,  # type: ignore[attr-defined]
        "telegram_bot_token": fake_telegram.token,
        "telegram_secret_token": TELEGRAM_SECRET,
        "telegram_api_base": fake_telegram.base,  # type: ignore[attr-defined]
    }


def tune(services: Services, **changes: Any) -> None:
    """Override delivery parameters for one test: `tune(services, telegram={"rate_per_second": 50})`."""
    config = load_config()
    data = config.model_dump()
    for section, values in changes.items():
        target = data["channels"][section] if section in ("telegram", "wechat") else data[section]
        target.update(values)
    services.extra["delivery_config"] = type(config).model_validate(data)
    services.extra.pop("outbox.dispatcher", None)


async def dispatch(services: Services, *, budget: float = 20.0) -> Any:
    """Run the dispatcher until nothing is due (what the scheduled job does every few seconds)."""
    return await get_dispatcher(services).run(budget=budget)


async def settle(services: Services) -> None:
    """Wait for background work a webhook started (a kicked dispatch) to finish."""
    dispatcher = get_dispatcher(services)
    for _ in range(200):
        task = dispatcher._background
        if (task is None or task.done()) and not dispatcher._run_lock.locked():
            return
        await asyncio.sleep(0.02)


# -- WeChat messages exactly as WeChat posts them --------------------------------
def sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return str(signer.signature)


def signed_query(timestamp: str | None = None, nonce: str | None = None) -> dict[str, str]:
    timestamp = timestamp or str(int(time.time()))
    nonce = nonce or str(secrets.randbelow(10**10))  # WeChat sends a fresh nonce with every call
    return {"signature": sign(WECHAT_TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}


def text_xml(openid: str, content: str, msg_id: int, *, create_time: int | None = None) -> str:
    return (
        "<xml>"
        f"<ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{create_time or int(time.time())}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content>"
        f"<MsgId>{msg_id}</MsgId>"
        "</xml>"
    )


def event_xml(openid: str, event: str, *, key: str | None = None, create_time: int | None = None) -> str:
    key_xml = f"<EventKey><![CDATA[{escape(key)}]]></EventKey>" if key is not None else ""
    return (
        "<xml>"
        f"<ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{create_time or int(time.time())}</CreateTime>"
        "<MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event>"
        f"{key_xml}"
        "</xml>"
    )


def media_xml(openid: str, msg_type: str, msg_id: int, extra: str = "") -> str:
    return (
        "<xml>"
        f"<ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime>"
        f"<MsgType><![CDATA[{msg_type}]]></MsgType>"
        f"<MediaId><![CDATA[media-{msg_id}]]></MediaId>{extra}"
        f"<MsgId>{msg_id}</MsgId>"
        "</xml>"
    )


async def post_plain(client: TestClient, xml: str, query: dict[str, str] | None = None) -> tuple[int, str]:
    resp = await client.post("/wechat", params=signed_query() if query is None else query, data=xml.encode())
    return resp.status, await resp.text()


Poster = Callable[[TestClient, str], Any]
