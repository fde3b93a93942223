"""The WeChat webhook in plaintext mode: signatures, passive replies, retries, events, hostile XML."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from defusedxml.ElementTree import fromstring
from sqlalchemy import func, select

from bot.channels.wechat_menu import load_menu
from bot.clock import FrozenClock
from bot.outbox import enqueue
from bot.services import Services
from models import ChatUser, Handover, InboundUpdate, Message, OutboxMessage
from tests.channels.conftest import (
    ACCOUNT,
    event_xml,
    media_xml,
    post_plain,
    sign,
    signed_query,
    text_xml,
)
from tests.fakes.fake_wechat import FakeWeChat


def reply_fields(xml: str) -> dict[str, str]:
    root = fromstring(xml.encode())
    return {child.tag: child.text or "" for child in root}


async def user(services: Services, openid: str) -> ChatUser:
    async with services.db.session() as db:
        found = (
            await db.execute(
                select(ChatUser).where(ChatUser.channel == "wechat", ChatUser.external_id == openid)
            )
        ).scalar_one()
        return found


async def inbound(services: Services, openid: str) -> list[Message]:
    found = await user(services, openid)
    async with services.db.session() as db:
        rows = await db.execute(
            select(Message)
            .where(Message.chat_user_id == found.id, Message.direction == "in")
            .order_by(Message.id)
        )
        return list(rows.scalars())


async def count(services: Services, model: Any) -> int:
    async with services.db.session() as db:
        return int((await db.execute(select(func.count()).select_from(model))).scalar_one())


async def test_url_verification_echoes_only_when_signed(client: TestClient) -> None:
    query = {**signed_query(), "echostr": "8027369517612"}
    resp = await client.get("/wechat", params=query)
    assert resp.status == 200 and await resp.text() == "8027369517612"

    forged = {**query, "signature": "0" * 40}
    resp = await client.get("/wechat", params=forged)
    assert resp.status == 403
    assert (await resp.json())["error"]["code"] == "invalid_signature"
    resp = await client.get("/wechat", params={"echostr": "x"})
    assert resp.status == 403


async def test_text_gets_a_passive_reply_addressed_to_the_sender(
    client: TestClient, services: Services
) -> None:
    started = time.perf_counter()
    status, body = await post_plain(client, text_xml("o-alice", "你好", 6100000000000000001))
    elapsed = time.perf_counter() - started
    assert status == 200
    reply = reply_fields(body)
    assert reply["ToUserName"] == "o-alice" and reply["FromUserName"] == ACCOUNT
    assert reply["MsgType"] == "text"
    content = reply["Content"]
    assert "补贴培训" in content
    # Choices are a numbered list the user can answer by typing the number.
    assert "1. 我能参加补贴培训吗" in content and "2. 签到" in content
    print(f"passive reply in {elapsed * 1000:.0f} ms")

    status, body = await post_plain(client, text_xml("o-alice", "2", 6100000000000000002))
    assert status == 200
    messages = await inbound(services, "o-alice")
    assert [m.text for m in messages] == ["你好", "2"]
    assert messages[-1].intent == "check_in"  # "2" picked the second choice, 签到


async def test_forged_signature_is_403_and_nothing_is_recorded(
    client: TestClient, services: Services
) -> None:
    query = signed_query()
    query["signature"] = sign("not-the-token", query["timestamp"], query["nonce"])
    status, _ = await post_plain(client, text_xml("o-mallory", "你好", 6100000000000000003), query)
    assert status == 403
    status, _ = await post_plain(client, text_xml("o-mallory", "你好", 6100000000000000003), {})
    assert status == 403
    assert await count(services, Message) == 0 and await count(services, InboundUpdate) == 0


@pytest.mark.parametrize(
    "body",
    [
        # XXE: an external entity reading a local file.
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        "<xml><ToUserName>a</ToUserName><FromUserName>o-x</FromUserName><CreateTime>1</CreateTime>"
        "<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>",
        # Billion laughs: nested entities that expand to gigabytes.
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        "<xml><Content>&lol3;</Content></xml>",
        # A DTD without entities is still not something WeChat sends.
        '<!DOCTYPE xml SYSTEM "http://evil.example/x.dtd"><xml><MsgType>text</MsgType></xml>',
        "<xml><ToUserName>unclosed",
        "not xml at all",
        "<other><MsgType>text</MsgType></other>",
    ],
)
async def test_hostile_or_broken_xml_is_a_quick_400(
    client: TestClient, services: Services, body: str
) -> None:
    started = time.perf_counter()
    status, text = await post_plain(client, body)
    assert status == 400, text
    assert time.perf_counter() - started < 5  # sanity only: it must not expand anything
    assert await count(services, InboundUpdate) == 0


async def test_oversized_body_is_413(client: TestClient) -> None:
    big = text_xml("o-big", "长" * 20_000, 6100000000000000004)
    status, _ = await post_plain(client, big)
    assert status == 413


async def test_four_deliveries_of_one_msgid_have_one_effect(client: TestClient, services: Services) -> None:
    xml = text_xml("o-bob", "转人工", 6100000000000000010)
    # WeChat's first delivery and its three retries; two of them overlap in time.
    first = await post_plain(client, xml)
    overlapping = await asyncio.gather(post_plain(client, xml), post_plain(client, xml))
    last = await post_plain(client, xml)
    answers = [first, *overlapping, last]
    assert all(status == 200 for status, _ in answers)
    contents = {reply_fields(body)["Content"] for _, body in answers}
    assert len(contents) == 1 and "人工" in contents.pop()

    messages = await inbound(services, "o-bob")
    assert [m.text for m in messages] == ["转人工"]
    bob = await user(services, "o-bob")
    async with services.db.session() as db:
        outs = (
            await db.execute(
                select(func.count()).where(Message.chat_user_id == bob.id, Message.direction == "out")
            )
        ).scalar_one()
    assert outs == 1
    assert await count(services, Handover) == 1  # the request is open
    assert await count(services, InboundUpdate) == 1
    assert await count(services, OutboxMessage) == 0  # answered passively: nothing else goes out


async def test_subscribe_greets_with_the_menu_once(client: TestClient, services: Services) -> None:
    xml = event_xml("o-carol", "subscribe", create_time=1_790_000_000)
    status, body = await post_plain(client, xml)
    assert status == 200
    first = reply_fields(body)
    assert first["ToUserName"] == "o-carol" and "补贴培训" in first["Content"] and "1. " in first["Content"]
    status, body = await post_plain(client, xml)  # WeChat's retry of the same event
    assert reply_fields(body)["Content"] == first["Content"]
    assert len(await inbound(services, "o-carol")) == 1
    carol = await user(services, "o-carol")
    assert carol.reachable and carol.last_inbound_at is not None


async def test_unsubscribe_makes_the_user_unreachable_and_drops_their_reminders(
    client: TestClient, services: Services, clock: FrozenClock
) -> None:
    await post_plain(client, text_xml("o-dave", "你好", 6100000000000000020))
    dave = await user(services, "o-dave")
    async with services.db.session() as db:
        await enqueue(
            db,
            key="reminder:1:dave",
            chat_user_id=dave.id,
            kind="reminder",
            text="明天上午九点上课，记得签到。",
            due_at=clock.now() + timedelta(hours=20),
        )
    status, body = await post_plain(client, event_xml("o-dave", "unsubscribe"))
    assert status == 200 and body == "success"
    dave = await user(services, "o-dave")
    assert dave.reachable is False
    async with services.db.session() as db:
        row = (await db.execute(select(OutboxMessage))).scalar_one()
    assert (row.status, row.delivery) == ("skipped", "unreachable")

    # Following again makes them reachable (and greets them).
    status, body = await post_plain(client, event_xml("o-dave", "subscribe"))
    assert "补贴培训" in reply_fields(body)["Content"]
    assert (await user(services, "o-dave")).reachable is True


async def test_menu_click_runs_the_intent_behind_its_key(client: TestClient, services: Services) -> None:
    status, body = await post_plain(client, event_xml("o-erin", "CLICK", key="CHECK_IN"))
    assert status == 200 and reply_fields(body)["ToUserName"] == "o-erin"
    messages = await inbound(services, "o-erin")
    assert [(m.text, m.intent) for m in messages] == [("签到", "check_in")]
    # A key that is not in the menu (an old menu still cached on a phone) is acknowledged quietly.
    status, body = await post_plain(client, event_xml("o-erin", "CLICK", key="NO_SUCH_KEY"))
    assert (status, body) == (200, "success")


async def test_qr_scene_with_a_bind_code_binds(client: TestClient, services: Services) -> None:
    status, _ = await post_plain(client, event_xml("o-fay", "subscribe", key="qrscene_bind_K7P2Q9"))
    assert status == 200
    (message,) = await inbound(services, "o-fay")
    # The engine read "绑定 K7P2Q9" (the transcript keeps the code masked).
    assert message.text.startswith("绑定 K7") and message.intent == "bind_identity"


async def test_media_gets_a_kind_text_only_answer_and_voice_is_read(
    client: TestClient, services: Services
) -> None:
    status, body = await post_plain(
        client, media_xml("o-gus", "image", 6100000000000000030, "<PicUrl>x</PicUrl>")
    )
    assert status == 200 and "文字" in reply_fields(body)["Content"]
    voice = media_xml(
        "o-gus", "voice", 6100000000000000031, "<Format>amr</Format><Recognition>我想签到</Recognition>"
    )
    status, body = await post_plain(client, voice)
    assert status == 200
    assert [m.text for m in await inbound(services, "o-gus")] == ["我想签到"]


async def test_menu_file_respects_wechat_limits_and_says_menu_labels(services: Services) -> None:
    menu = load_menu()
    labels = {item["label"] for item in services.texts.raw("menu.menu")}
    assert 1 <= len(menu.button) <= 3
    for button in menu.buttons():
        if button.type == "click":
            assert button.says in labels, f"{button.key} says {button.says!r}, not a main-menu label"
    payload = menu.payload()
    assert "says" not in str(payload)


async def test_wechat_menu_command_publishes_through_the_shared_token(
    client: TestClient, fake_wechat: FakeWeChat, services: Services
) -> None:
    from bot.channels.cli import _publish_menu

    assert await _publish_menu(services.settings, load_menu().payload()) == 0
    assert fake_wechat.menus and fake_wechat.menus[0]["button"][1]["key"] == "CHECK_IN"
    assert fake_wechat.token_requests == [False]
