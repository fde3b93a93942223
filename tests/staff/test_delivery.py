"""Broadcasts delivered by the real dispatcher to the fake Telegram and WeChat APIs."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.broadcasts.job import run_due
from bot.outbox import get_dispatcher
from models import ChatUser, Enrollment, OutboxMessage, Trainee
from tests.channels.conftest import tune
from tests.fakes.fake_telegram import FakeTelegram
from tests.fakes.fake_wechat import FakeWeChat
from tests.staff.fakes import NOTICE_TEMPLATE_ID, messenger_settings, serve, templates_with_notice
from tests.staff.world import World

API = "/api/v1/admin/broadcasts"


@pytest.fixture
async def fake_telegram(aiohttp_server: Any) -> FakeTelegram:
    fake = FakeTelegram()
    fake.base = await serve(aiohttp_server, fake)  # type: ignore[attr-defined]
    return fake


@pytest.fixture
async def fake_wechat(aiohttp_server: Any) -> FakeWeChat:
    fake = FakeWeChat()
    fake.base = await serve(aiohttp_server, fake)  # type: ignore[attr-defined]
    return fake


@pytest.fixture
def settings_overrides(fake_telegram: FakeTelegram, fake_wechat: FakeWeChat) -> dict[str, Any]:
    return messenger_settings(fake_telegram, fake_telegram.base, fake_wechat, fake_wechat.base)  # type: ignore[attr-defined]


async def dispatch(services: Any, budget: float = 30.0) -> Any:
    return await get_dispatcher(services).run(budget=budget)


async def test_city_staff_notice_reaches_one_class_with_every_result_visible(
    client: TestClient, world: World, services: Any, fake_telegram: FakeTelegram, fake_wechat: FakeWeChat
) -> None:
    services.extra["wechat_templates"] = templates_with_notice()
    headers = world.headers("changchun")
    body = {
        "title": "停课通知",
        "text": "受暴雪影响，明天停课一天。",
        "link": "https://hrss.jl.gov.cn/n/1",
        "audience": {"class_id": world.classes["nanguan"]},
    }
    resp = await client.post(API, json=body, headers=headers)
    assert resp.status == 201
    bid = (await resp.json())["id"]

    await dispatch(services)
    await run_due(services)  # closes the finished broadcast

    detail = await (await client.get(f"{API}/{bid}", headers=headers)).json()
    assert detail["status"] == "done"
    progress = detail["progress"]
    assert progress["by_channel"]["telegram"]["sent"] == 2  # 张伟, 杨帆
    assert progress["by_channel"]["telegram"]["unreachable"] == 1  # 陈静 blocked the bot earlier
    assert progress["by_channel"]["wechat"]["sent"] == 1  # 张伟 wrote 2 hours ago
    assert progress["by_channel"]["wechat"]["sent_template"] == 1  # 刘洋: silent for 100 hours
    assert progress["results"]["queued"] == 0 and progress["finished"] == 5

    assert len(fake_telegram.to("telegram-1")) == 1 and "停课通知" in fake_telegram.to("telegram-1")[0].text
    assert len(fake_telegram.to("telegram-4")) == 1
    assert fake_telegram.to("telegram-3") == []
    assert (
        len(fake_wechat.to("wechat-1")) == 1 and "https://hrss.jl.gov.cn/n/1" in fake_wechat.to("wechat-1")[0]
    )
    assert [t["template_id"] for t in fake_wechat.templates] == [NOTICE_TEMPLATE_ID]
    assert fake_wechat.templates[0]["touser"] == "wechat-2"

    listing = await (await client.get(f"{API}/{bid}/deliveries", headers=headers)).json()
    results = {(d["recipient"], d["channel"]): d["result"] for d in listing["deliveries"]}
    assert results == {
        ("张伟", "wechat"): "sent",
        ("张伟", "telegram"): "sent",
        ("刘洋", "wechat"): "sent_template",
        ("陈静", "telegram"): "unreachable",
        ("杨帆", "telegram"): "sent",
    }


async def test_outside_the_window_without_template_is_skipped_and_blocked_users_are_unreachable(
    client: TestClient, world: World, services: Any, fake_telegram: FakeTelegram, fake_wechat: FakeWeChat
) -> None:
    fake_telegram.block("telegram-5")  # 黄丽 blocked the bot since she last wrote
    body = {
        "title": "核对信息",
        "text": "请核对个人信息。",
        "audience": {"region": "220100"},
        "wechat_fallback": "skip",
    }
    resp = await client.post(API, json=body, headers=world.headers("changchun"))
    bid = (await resp.json())["id"]
    await dispatch(services)

    progress = (await (await client.get(f"{API}/{bid}", headers=world.headers("changchun"))).json())[
        "progress"
    ]
    assert progress["by_channel"]["wechat"]["outside_window"] == 1  # 刘洋
    assert progress["by_channel"]["telegram"]["unreachable"] == 2  # 陈静 (known), 黄丽 (403 now)
    assert fake_wechat.templates == []
    async with services.db.session() as db:
        user = await db.get(ChatUser, world.chat_users["黄丽-telegram"])
    assert user is not None and user.reachable is False


async def test_restarting_the_dispatcher_midway_sends_nothing_twice(
    client: TestClient, world: World, services: Any, fake_telegram: FakeTelegram
) -> None:
    async with services.db.session() as db:
        for i in range(40):
            trainee = Trainee(
                name=f"学员{i}",
                id_card_hash=f"h{i}",
                id_card_masked="220102********0000",
                region_code="220102",
            )
            db.add(trainee)
            await db.flush()
            db.add(Enrollment(class_id=world.classes["nanguan"], trainee_id=trainee.id))
            db.add(ChatUser(channel="telegram", external_id=f"9{i:04d}", trainee_id=trainee.id))
    resp = await client.post(
        API,
        json={
            "title": "通知",
            "text": "明天考试。",
            "audience": {"class_id": world.classes["nanguan"], "channel": "telegram"},
        },
        headers=world.headers("nanguan_county"),
    )
    bid = (await resp.json())["id"]

    # Stopped midway, as by a restart: after its first few sends, not after some time (which a
    # loaded machine may spend before the first send, or after the last).
    tune(services, telegram={"rate_per_second": 10})
    run = asyncio.create_task(dispatch(services))
    for _ in range(1500):
        if len(fake_telegram.sent) >= 3 or run.done():
            break
        await asyncio.sleep(0.02)
    await get_dispatcher(services).stop()
    first = await run
    services.extra.pop("outbox.dispatcher", None)
    await run_due(services)  # the job runs again after the restart: adds nothing
    await dispatch(services)

    async with services.db.session() as db:
        rows = list(
            (await db.execute(select(OutboxMessage).where(OutboxMessage.broadcast_id == bid))).scalars()
        )
    expected = {u.external_id for u in await _telegram_users(services, world.classes["nanguan"])}
    expected -= {"telegram-3"}  # 陈静 is unreachable
    counts = Counter(s.chat_id for s in fake_telegram.sent)
    assert 0 < first.sent < len(expected), "the first run should have been cut short"
    assert set(counts) == expected and set(counts.values()) == {1}
    assert fake_telegram.limit_hits == 0
    assert sum(r.status == "sent" for r in rows) == len(expected)


async def _telegram_users(services: Any, class_id: int) -> list[ChatUser]:
    async with services.db.session() as db:
        return list(
            (
                await db.execute(
                    select(ChatUser)
                    .join(Enrollment, Enrollment.trainee_id == ChatUser.trainee_id)
                    .where(ChatUser.channel == "telegram", Enrollment.class_id == class_id)
                )
            ).scalars()
        )
