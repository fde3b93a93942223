"""The Telegram webhook: the secret, updates answered once, buttons, deep links, blocking."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.services import Services
from models import ChatUser, InboundUpdate, Message, OutboxMessage
from tests.channels.conftest import TELEGRAM_SECRET, dispatch, settle
from tests.fakes.fake_telegram import FakeTelegram, callback_update, member_update, text_update


async def send_update(
    client: TestClient, update: dict[str, Any], secret: str | None = TELEGRAM_SECRET
) -> int:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    resp = await client.post("/telegram/webhook", json=update, headers=headers)
    return resp.status


async def deliver(client: TestClient, services: Services, update: dict[str, Any]) -> None:
    assert await send_update(client, update) == 200
    await settle(services)


async def chat_user(services: Services, chat_id: int) -> ChatUser:
    async with services.db.session() as db:
        return (
            await db.execute(
                select(ChatUser).where(ChatUser.channel == "telegram", ChatUser.external_id == str(chat_id))
            )
        ).scalar_one()


async def inbound(services: Services, chat_id: int) -> list[Message]:
    user = await chat_user(services, chat_id)
    async with services.db.session() as db:
        rows = await db.execute(
            select(Message)
            .where(Message.chat_user_id == user.id, Message.direction == "in")
            .order_by(Message.id)
        )
        return list(rows.scalars())


async def test_missing_or_wrong_secret_is_refused(client: TestClient, services: Services) -> None:
    update = text_update(5001, "你好")
    assert await send_update(client, update, secret=None) == 401
    assert await send_update(client, update, secret="guessed") == 403
    async with services.db.session() as db:
        assert (await db.execute(select(InboundUpdate))).first() is None
        assert (await db.execute(select(Message))).first() is None


async def test_malformed_update_is_400(client: TestClient) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    resp = await client.post("/telegram/webhook", data=b"{not json", headers=headers)
    assert resp.status == 400
    resp = await client.post("/telegram/webhook", json={"message": {}}, headers=headers)
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "invalid_update"


async def test_text_is_answered_once_with_inline_buttons(
    client: TestClient, services: Services, fake_telegram: FakeTelegram
) -> None:
    update = text_update(5002, "你好")
    await deliver(client, services, update)
    sent = fake_telegram.to("5002")
    assert len(sent) == 1
    assert "补贴培训" in sent[0].text
    labels = [b["text"] for b in sent[0].buttons]
    assert "签到" in labels
    assert all(b["callback_data"] == b["text"] for b in sent[0].buttons)

    # Telegram redelivers the same update (our 200 got lost): ignored.
    await deliver(client, services, update)
    await dispatch(services)
    assert len(fake_telegram.to("5002")) == 1
    assert len(await inbound(services, 5002)) == 1
    user = await chat_user(services, 5002)
    assert user.display_name == "小明"


async def test_answered_after_waiting_out_a_429(
    client: TestClient, services: Services, fake_telegram: FakeTelegram, clock: FrozenClock
) -> None:
    fake_telegram.fail_next(429, retry_after=1)
    await deliver(client, services, text_update(5003, "你好"))
    assert fake_telegram.to("5003") == [] and fake_telegram.scripted_hits == 1
    async with services.db.session() as db:
        row = (await db.execute(select(OutboxMessage))).scalar_one()
    assert row.status == "pending" and "429" in (row.last_error or "")
    assert row.due_at == clock.now() + timedelta(seconds=1)

    await dispatch(services)  # not due yet: Telegram said to wait
    assert fake_telegram.to("5003") == []
    clock.advance(timedelta(seconds=1))
    started = time.monotonic()
    await dispatch(services)
    waited = time.monotonic() - started
    assert len(fake_telegram.to("5003")) == 1
    async with services.db.session() as db:
        row = (await db.execute(select(OutboxMessage))).scalar_one()
    assert (row.status, row.delivery) == ("sent", "message")
    print(f"resent {waited:.2f} s after the retry time (the chat was paused for retry_after)")

    await dispatch(services)
    assert len(fake_telegram.to("5003")) == 1


async def test_button_press_is_acknowledged_and_answered_once(
    client: TestClient, services: Services, fake_telegram: FakeTelegram
) -> None:
    await deliver(client, services, text_update(5004, "你好"))
    press = callback_update(5004, "转人工")
    await deliver(client, services, press)
    await deliver(client, services, press)  # redelivered
    assert fake_telegram.callback_answers == [press["callback_query"]["id"]]
    messages = await inbound(services, 5004)
    assert [(m.text, m.intent) for m in messages][-1] == ("转人工", "human_agent")
    assert len(messages) == 2
    assert len(fake_telegram.to("5004")) == 2
    assert "人工" in fake_telegram.to("5004")[-1].text


async def test_button_with_a_long_label_carries_its_number(
    client: TestClient, services: Services, fake_telegram: FakeTelegram
) -> None:
    from bot.outbox.telegram_api import callback_text, inline_keyboard

    long_label = "我想了解一下补贴培训的报名条件和需要准备的全部材料"
    keyboard = inline_keyboard(["签到", long_label])
    assert keyboard[0][0]["callback_data"] == "签到"
    assert keyboard[1][0]["callback_data"] == "#2"
    assert len(keyboard[1][0]["callback_data"].encode()) <= 64
    assert callback_text("#2") == "2" and callback_text("签到") == "签到"

    # Pressing a numbered button answers the choice with that number, like typing it.
    await deliver(client, services, text_update(5009, "你好"))
    await deliver(client, services, callback_update(5009, "#2"))
    assert (await inbound(services, 5009))[-1].intent == "check_in"


async def test_start_deep_link_binds_and_plain_start_greets(
    client: TestClient, services: Services, fake_telegram: FakeTelegram
) -> None:
    await deliver(client, services, text_update(5005, "/start"))
    assert "补贴培训" in fake_telegram.to("5005")[0].text
    await deliver(client, services, text_update(5005, "/start bind_Q4X8M2"))
    last = (await inbound(services, 5005))[-1]
    assert last.text.startswith("绑定 Q4") and last.intent == "bind_identity"


async def test_blocked_user_becomes_unreachable_without_retries(
    client: TestClient, services: Services, fake_telegram: FakeTelegram, clock: FrozenClock
) -> None:
    fake_telegram.block("5006")
    await deliver(client, services, text_update(5006, "你好"))
    user = await chat_user(services, 5006)
    assert user.reachable is False
    async with services.db.session() as db:
        row = (await db.execute(select(OutboxMessage))).scalar_one()
    assert (row.status, row.delivery, row.attempts) == ("skipped", "unreachable", 1)
    clock.advance(timedelta(hours=1))
    calls = len(fake_telegram.calls)
    await dispatch(services)
    assert len(fake_telegram.calls) == calls  # no retry


async def test_blocking_and_unblocking_updates(client: TestClient, services: Services) -> None:
    await deliver(client, services, member_update(5007, "kicked"))
    assert (await chat_user(services, 5007)).reachable is False
    await deliver(client, services, member_update(5007, "member"))
    assert (await chat_user(services, 5007)).reachable is True


async def test_non_text_messages_get_a_kind_text_only_answer(
    client: TestClient, services: Services, fake_telegram: FakeTelegram
) -> None:
    update = text_update(5008, "x")
    del update["message"]["text"]
    update["message"]["sticker"] = {"file_id": "CAAC", "width": 512, "height": 512}
    await deliver(client, services, update)
    await deliver(client, services, update)
    sent = fake_telegram.to("5008")
    assert len(sent) == 1 and "文字" in sent[0].text


async def test_group_chats_are_ignored(
    client: TestClient, services: Services, fake_telegram: FakeTelegram
) -> None:
    update = text_update(-100123, "你好")
    update["message"]["chat"] = {"id": -100123, "title": "培训群", "type": "supergroup"}
    await deliver(client, services, update)
    assert fake_telegram.sent == []


async def test_set_webhook_command_registers_the_secret(
    client: TestClient, services: Services, fake_telegram: FakeTelegram
) -> None:
    import argparse

    from bot.channels.cli import _set_webhook

    args = argparse.Namespace(
        url="https://bot.example.gov.cn/telegram/webhook", drop_pending_updates=True, max_connections=40
    )
    assert await _set_webhook(services.settings, args) == 0
    assert fake_telegram.webhook is not None
    assert fake_telegram.webhook["secret_token"] == TELEGRAM_SECRET
    assert fake_telegram.webhook["allowed_updates"] == ["message", "callback_query", "my_chat_member"]
    assert [c["command"] for c in fake_telegram.commands] == ["start", "help", "cancel"]
