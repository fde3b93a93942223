"""End to end over the real Telegram channel (fake Bot API): a deep-link bind code, then a
claim step reaching the trainee's chat through the outbox."""

from __future__ import annotations

from datetime import date

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.services import Services
from models import ChatUser
from tests.channels.conftest import (  # noqa: F401  (fixtures)
    TELEGRAM_SECRET,
    dispatch,
    fake_telegram,
    fake_wechat,
    settings_overrides,
    settle,
)
from tests.claims.conftest import World, at
from tests.fakes.fake_telegram import FakeTelegram, text_update


async def telegram(client: TestClient, services: Services, chat_id: int, text: str) -> None:
    resp = await client.post(
        "/telegram/webhook",
        json=text_update(chat_id, text),
        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
    )
    assert resp.status == 200
    await settle(services)


async def test_deep_link_binds_and_the_trainee_hears_of_each_step(
    world: World,
    clock: FrozenClock,
    fake_telegram: FakeTelegram,  # noqa: F811
) -> None:
    class_id = await world.add_class(
        "T1", date(2026, 9, 1), date(2026, 9, 24), trainees=("zhang",), name="电工班"
    )
    clock.set(at(date(2026, 9, 28)))
    status, body = await world.post(
        "cc_operator",
        "/api/v1/admin/bind-codes",
        {"kind": "trainee", "trainee_id": world.trainees["zhang"].id},
    )
    assert status == 201
    await telegram(world.client, world.services, 7001, f"/start {body['telegram_start']}")
    assert "绑定成功" in fake_telegram.to("7001")[-1].text
    async with world.services.db.session() as db:
        user = (await db.execute(select(ChatUser).where(ChatUser.external_id == "7001"))).scalar_one()
    assert user.trainee_id == world.trainees["zhang"].id

    status, body = await world.post(
        "cc_operator", f"/api/v1/admin/classes/{class_id}/claims", {"subsidy_type": "training"}
    )
    assert status == 201
    await dispatch(world.services)
    last = fake_telegram.to("7001")[-1].text
    assert "电工班" in last and "已由培训机构提交" in last and "10月16日" in last
