"""Safe mode (encrypted messages) and the slow-turn fallback to the customer-service API."""

from __future__ import annotations

import asyncio
import base64
import time
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from defusedxml.ElementTree import fromstring
from sqlalchemy import select
from wechatpy.crypto import WeChatCrypto

from bot.app import create_app
from bot.channels import inbox
from bot.channels.wechat import CHANNEL_KEY
from bot.clock import FrozenClock
from bot.engine import Engine, TurnResult
from bot.services import LanguageUnderstanding, Services
from bot.settings import Settings
from models import InboundUpdate, Message, OutboxMessage
from tests.channels.conftest import WECHAT_TOKEN, dispatch, settle, sign, text_xml, tune
from tests.fakes.fake_wechat import FakeWeChat

AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")
SLOW_MARKER = "慢"


class SlowEngine(Engine):
    """The real engine, but a turn whose text contains the marker takes `delay` seconds longer."""

    delay = 1.0

    async def handle(self, channel: str, external_id: str, text: str, **kwargs: Any) -> TurnResult:
        if SLOW_MARKER in text:
            await asyncio.sleep(self.delay)
        return await super().handle(channel, external_id, text, **kwargs)


@pytest.fixture
def settings_overrides(settings_overrides: dict[str, Any]) -> dict[str, Any]:
    return {**settings_overrides, "wechat_aes_key": AES_KEY}


@pytest.fixture
def app(settings: Settings, clock: FrozenClock, nlu_model: LanguageUnderstanding) -> web.Application:
    app = create_app(settings, clock=clock, nlu=nlu_model, migrate=False, scheduler=False)
    app["engine"] = SlowEngine(app["services"])
    return app


def crypto(settings: Settings) -> WeChatCrypto:
    return WeChatCrypto(WECHAT_TOKEN, AES_KEY, settings.wechat_app_id)


async def post_encrypted(client: TestClient, settings: Settings, xml: str) -> tuple[int, str, dict[str, str]]:
    """Encrypt and sign a message exactly as WeChat's servers do in safe mode."""
    timestamp, nonce = str(int(time.time())), "246813579"
    envelope = crypto(settings).encrypt_message(xml, nonce, timestamp)
    encrypted = fromstring(envelope.encode()).findtext("Encrypt") or ""
    body = (
        "<xml><ToUserName><![CDATA[gh_jilin_training]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    )
    query = {
        "signature": sign(WECHAT_TOKEN, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": sign(WECHAT_TOKEN, timestamp, nonce, encrypted),
    }
    resp = await client.post("/wechat", params=query, data=body.encode())
    return resp.status, await resp.text(), query


def decrypt_reply(settings: Settings, body: str) -> dict[str, str]:
    """What the user's phone shows: WeChat checks the reply's signature and decrypts it."""
    envelope = {child.tag: child.text or "" for child in fromstring(body.encode())}
    plain = crypto(settings).decrypt_message(
        body, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
    )
    return {child.tag: child.text or "" for child in fromstring(plain.encode())}


async def test_encrypted_message_gets_a_decryptable_reply_to_the_sender(
    client: TestClient, settings: Settings
) -> None:
    started = time.perf_counter()
    status, body, _ = await post_encrypted(client, settings, text_xml("o-safe", "你好", 6200000000000000001))
    elapsed = time.perf_counter() - started
    assert status == 200
    reply = decrypt_reply(settings, body)
    assert reply["ToUserName"] == "o-safe" and reply["FromUserName"] == "gh_jilin_training"
    assert "补贴培训" in reply["Content"] and "2. 签到" in reply["Content"]
    print(f"encrypted passive reply in {elapsed * 1000:.0f} ms")


async def test_safe_mode_refuses_forged_and_plaintext_messages(
    client: TestClient, settings: Settings, services: Services
) -> None:
    timestamp, nonce = str(int(time.time())), "111"
    envelope = crypto(settings).encrypt_message(
        text_xml("o-evil", "你好", 6200000000000000002), nonce, timestamp
    )
    encrypted = fromstring(envelope.encode()).findtext("Encrypt") or ""
    query = {
        "signature": sign(WECHAT_TOKEN, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "msg_signature": sign("wrong", timestamp, nonce, encrypted),
    }
    resp = await client.post(
        "/wechat", params=query, data=f"<xml><Encrypt>{encrypted}</Encrypt></xml>".encode()
    )
    assert resp.status == 403
    resp = await client.post(
        "/wechat", params=query, data=text_xml("o-evil", "你好", 6200000000000000003).encode()
    )
    assert resp.status == 400
    # Garbage where the ciphertext should be, correctly signed: not a message from WeChat.
    garbage = "bm90IGEgY2lwaGVydGV4dA=="
    query["msg_signature"] = sign(WECHAT_TOKEN, timestamp, nonce, garbage)
    resp = await client.post(
        "/wechat", params=query, data=f"<xml><Encrypt>{garbage}</Encrypt></xml>".encode()
    )
    assert resp.status == 400
    async with services.db.session() as db:
        assert (await db.execute(select(InboundUpdate))).first() is None


async def test_slow_turn_answers_success_and_sends_through_customer_service(
    client: TestClient, settings: Settings, services: Services, fake_wechat: FakeWeChat
) -> None:
    tune(services, wechat={"passive_reply_seconds": 0.3})
    xml = text_xml("o-slow", f"你好{SLOW_MARKER}", 6200000000000000010)
    started = time.perf_counter()
    status, body, _ = await post_encrypted(client, settings, xml)
    print(f"slow turn acknowledged in {(time.perf_counter() - started) * 1000:.0f} ms")
    assert (status, body) == (200, "success")

    # WeChat retries (it cannot know we will answer later): still `success`, nothing twice.
    status, body, _ = await post_encrypted(client, settings, xml)
    assert (status, body) == (200, "success")

    await client.app[CHANNEL_KEY].drain()  # the slow turn finishes and its reply is queued
    await settle(services)
    await dispatch(services)
    assert len(fake_wechat.to("o-slow")) == 1
    assert "补贴培训" in fake_wechat.to("o-slow")[0] and "1. " in fake_wechat.to("o-slow")[0]

    async with services.db.session() as db:
        row = (await db.execute(select(InboundUpdate))).scalar_one()
        outbox = (await db.execute(select(OutboxMessage))).scalar_one()
        ins = (await db.execute(select(Message).where(Message.direction == "in"))).scalars().all()
    assert row.status == "queued"
    assert (outbox.kind, outbox.status, outbox.delivery) == ("reply", "sent", "message")
    assert len(ins) == 1

    # A late retry after delivery: still nothing twice.
    status, body, _ = await post_encrypted(client, settings, xml)
    assert body == "success"
    await dispatch(services)
    assert len(fake_wechat.to("o-slow")) == 1


async def test_a_crash_between_the_turn_and_the_outbox_loses_nothing(
    client: TestClient, services: Services, clock: FrozenClock, fake_wechat: FakeWeChat
) -> None:
    """The process died after the engine committed but before the reply was queued."""
    engine: Engine = client.app["engine"]
    row, new = await inbox.accept(
        services,
        channel="wechat",
        key="6200000000000000020",
        external_id="o-crash",
        kind="message",
        text="你好",
        platform_msg_id="6200000000000000020",
    )
    assert new
    await inbox.transition(services, row.id, "async", expect=("received",))
    await engine.handle("wechat", "o-crash", "你好", platform_msg_id="6200000000000000020")
    # ... crash. Nothing is queued yet; the recovery sweep finds the row after a while.
    assert await inbox.recover(services) == 0  # too early: the first process may still be working
    clock.advance(timedelta(minutes=2))
    assert await inbox.recover(services) == 1
    assert await inbox.recover(services) == 0  # a second sweep (another process) adds nothing
    await settle(services)
    await dispatch(services)
    assert len(fake_wechat.to("o-crash")) == 1
    async with services.db.session() as db:
        ins = (await db.execute(select(Message).where(Message.direction == "in"))).scalars().all()
    assert len(ins) == 1  # the turn was not run twice: the engine gave back its first answer


async def test_a_turn_lost_mid_way_is_run_again_by_the_sweep(
    client: TestClient, services: Services, clock: FrozenClock, fake_wechat: FakeWeChat
) -> None:
    """The process died during the turn (nothing committed) after answering `success`."""
    row, _ = await inbox.accept(
        services,
        channel="wechat",
        key="6200000000000000030",
        external_id="o-lost",
        kind="message",
        text="签到",
        platform_msg_id="6200000000000000030",
    )
    await inbox.transition(services, row.id, "async", expect=("received",))
    clock.advance(timedelta(minutes=2))
    assert await inbox.recover(services) == 1
    await settle(services)
    await dispatch(services)
    assert len(fake_wechat.to("o-lost")) == 1
    async with services.db.session() as db:
        ins = (await db.execute(select(Message).where(Message.direction == "in"))).scalars().all()
    assert [m.text for m in ins] == ["签到"]
