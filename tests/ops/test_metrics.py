"""`/metrics` after real traffic: turns, latency, outbox sends and depth, token refreshes, handover queue."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.outbox import enqueue
from bot.outbox.lanes import lane_for
from bot.services import Services
from models import ChatUser, OutboxMessage
from tests.channels.conftest import WECHAT_TOKEN, dispatch, fake_telegram, fake_wechat, post_plain, text_xml
from tests.conftest import ChatDriver
from tests.fakes.fake_telegram import FakeTelegram
from tests.fakes.fake_wechat import FakeWeChat
from tests.ops.helpers import scrape, value

__all__ = ["fake_telegram", "fake_wechat"]


@pytest.fixture
def settings_overrides(fake_wechat: FakeWeChat, fake_telegram: FakeTelegram) -> dict[str, Any]:
    return {
        "wechat_token": WECHAT_TOKEN,
        "wechat_app_id": fake_wechat.app_id,
        "wechat_app_secret": fake_wechat.app_secret,
        "wechat_api_base": fake_wechat.base,  # type: ignore[attr-defined]
        "telegram_bot_token": fake_telegram.token,
        "telegram_secret_token": "metrics-test-secret",
        "telegram_api_base": fake_telegram.base,  # type: ignore[attr-defined]
    }


async def test_turns_by_channel_and_intent_with_latency(client: TestClient, chat: ChatDriver) -> None:
    before = await scrape(client)
    await chat.say("你好")
    await chat.say("签到")
    await chat.say("签到")
    status, _ = await post_plain(client, text_xml("o-metrics", "我的出勤率", 881001))
    assert status == 200
    after = await scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("bot_turns_total", channel="web", intent="check_in") == 2
    assert grew("bot_turns_total", channel="web", intent="greet") == 1
    assert grew("bot_turns_total", channel="wechat", intent="attendance_query") == 1
    assert grew("bot_turn_seconds_count", channel="web") == 3
    assert grew("bot_turn_seconds_bucket", channel="web", le="+Inf") == 3
    # The second 签到 is read from the engine's cache of short repeated messages, not parsed.
    assert grew("bot_nlu_parse_seconds_count") >= 3
    assert grew("bot_nlu_parse_cache_hits_total") >= 1
    assert grew("bot_http_requests_total", method="POST", route="/api/v1/chat", status="200") == 3
    assert grew("bot_http_requests_total", method="POST", route="/wechat", status="200") == 1


LANE = lane_for("nudge")


async def test_outbox_sends_depth_and_token_refreshes(
    client: TestClient, services: Services, fake_wechat: FakeWeChat
) -> None:
    status, _ = await post_plain(client, text_xml("o-out", "你好", 881002))
    assert status == 200
    async with services.db.session() as db:
        uid = (await db.execute(select(ChatUser.id).where(ChatUser.external_id == "o-out"))).scalar_one()
        for i in range(3):
            await enqueue(
                db, key=f"m:{i}", chat_user_id=uid, kind="nudge", text="提醒", due_at=services.clock.now()
            )
    before = await scrape(client)
    assert value(before, "bot_outbox_depth", channel="wechat", lane=LANE, kind="nudge", status="pending") == 3
    fake_wechat.fail_next(45009)  # the daily quota: the channel pauses, the rows wait
    await dispatch(services)
    middle = await scrape(client)
    assert value(middle, "bot_outbox_depth", channel="wechat", lane=LANE, kind="nudge", status="pending") == 3
    assert value(middle, "bot_token_refreshes_total", channel="wechat", kind="normal") >= 1


async def test_rate_limit_and_unreachable_are_counted(
    client: TestClient, services: Services, fake_wechat: FakeWeChat
) -> None:
    for openid, msg_id in (("o-a", 881010), ("o-b", 881011)):
        status, _ = await post_plain(client, text_xml(openid, "你好", msg_id))
        assert status == 200
    async with services.db.session() as db:
        ids = dict((await db.execute(select(ChatUser.external_id, ChatUser.id))).all())
        await enqueue(
            db, key="a", chat_user_id=ids["o-a"], kind="nudge", text="一", due_at=services.clock.now()
        )
        await enqueue(
            db, key="b", chat_user_id=ids["o-b"], kind="nudge", text="二", due_at=services.clock.now()
        )
    fake_wechat.unsubscribed.add("o-b")
    before = await scrape(client)
    await dispatch(services)
    after = await scrape(client)
    sent = value(after, "bot_outbox_sends_total", channel="wechat", result="sent")
    gone = value(after, "bot_outbox_sends_total", channel="wechat", result="unreachable")
    assert sent - value(before, "bot_outbox_sends_total", channel="wechat", result="sent") == 1
    assert gone - value(before, "bot_outbox_sends_total", channel="wechat", result="unreachable") == 1
    assert value(after, "bot_outbox_depth", channel="wechat", lane=LANE, kind="nudge", status="pending") == 0


async def test_handover_queue_length(client: TestClient, chat: ChatDriver) -> None:
    await chat.say("转人工")
    samples = await scrape(client)
    assert value(samples, "bot_handover_queue_length", channel="web") == 1
    assert value(samples, "bot_handover_oldest_wait_seconds", channel="web") >= 0


async def test_retry_after_pause_is_counted(
    client: TestClient, services: Services, fake_telegram: FakeTelegram
) -> None:
    engine = client.app["engine"]
    await engine.handle("telegram", "4242", "你好")
    async with services.db.session() as db:
        uid = (await db.execute(select(ChatUser.id).where(ChatUser.external_id == "4242"))).scalar_one()
        await enqueue(db, key="t:1", chat_user_id=uid, kind="nudge", text="提醒", due_at=services.clock.now())
    fake_telegram.fail_next(429, retry_after=7)
    before = await scrape(client)
    await dispatch(services, budget=3.0)
    after = await scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("bot_outbox_retry_after_pauses_total", channel="telegram") == 1
    assert grew("bot_outbox_retry_after_seconds_total", channel="telegram") == 7
    assert grew("bot_outbox_sends_total", channel="telegram", result="rate_limited") == 1
    async with services.db.session() as db:
        row = (await db.execute(select(OutboxMessage))).scalar_one()
    assert row.status == "pending"  # waits for the pause, not lost


async def test_forced_token_refresh_is_counted_apart(
    client: TestClient, services: Services, fake_wechat: FakeWeChat
) -> None:
    status, _ = await post_plain(client, text_xml("o-token", "你好", 881020))
    assert status == 200
    async with services.db.session() as db:
        uid = (await db.execute(select(ChatUser.id).where(ChatUser.external_id == "o-token"))).scalar_one()
        await enqueue(db, key="k:1", chat_user_id=uid, kind="nudge", text="一", due_at=services.clock.now())
    await dispatch(services)
    before = await scrape(client)
    # WeChat refuses the token it still hands out: only a forced refresh helps.
    fake_wechat.fail_next(40001)
    async with services.db.session() as db:
        await enqueue(db, key="k:2", chat_user_id=uid, kind="nudge", text="二", due_at=services.clock.now())
    await dispatch(services)
    after = await scrape(client)
    forced = value(after, "bot_token_refreshes_total", channel="wechat", kind="forced")
    assert forced - value(before, "bot_token_refreshes_total", channel="wechat", kind="forced") == 1
    assert fake_wechat.token_requests[-1] is True
    assert [text for openid, text in fake_wechat.texts if openid == "o-token"][-1].startswith("二")
