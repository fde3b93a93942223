"""Hand-overs over Telegram and WeChat against the fake platform APIs: each staff message arrives
exactly once, and nothing else is sent while a person holds the conversation."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from bot.engine import Engine
from bot.outbox.config import TemplatesConfig, load_templates
from bot.services import Services
from tests.channels.conftest import dispatch, fake_telegram, fake_wechat, settings_overrides, settle
from tests.channels.test_telegram import deliver
from tests.fakes.fake_telegram import FakeTelegram, text_update
from tests.fakes.fake_wechat import FakeWeChat
from tests.handover.conftest import conversation_url, inbox, staff_reply
from tests.staff.world import World

__all__ = ["fake_telegram", "fake_wechat", "settings_overrides"]

CHAT = 7001


async def test_telegram_user_is_answered_once_and_the_bot_stays_silent(
    client: TestClient, services: Services, fake_telegram: FakeTelegram, world: World
) -> None:
    await deliver(client, services, text_update(CHAT, "转人工"))
    await deliver(client, services, text_update(CHAT, "南关区"))
    texts = [s.text for s in fake_telegram.to(str(CHAT))]
    assert "您在哪个市县" in texts[0] and "南关区人社局" in texts[1]
    [item] = await inbox(client, world, "nanguan_county")
    assert item["channel"] == "telegram" and item["external_id"] == str(CHAT)

    before = len(fake_telegram.to(str(CHAT)))
    body = await staff_reply(
        client, world, "nanguan_county", "telegram", str(CHAT), "您好，请问有什么可以帮您？"
    )
    assert body["delivery"] == "queued"
    await settle(services)
    await dispatch(services)
    after = [s.text for s in fake_telegram.to(str(CHAT))[before:]]
    assert after == ["您好，请问有什么可以帮您？"]

    # The trainee answers: it reaches the transcript, the bot sends nothing of its own.
    await deliver(client, services, text_update(CHAT, "我想报电工班，补贴怎么算"))
    await dispatch(services)
    assert len(fake_telegram.to(str(CHAT))) == before + 1
    resp = await client.get(conversation_url("telegram", str(CHAT)), headers=world.headers("nanguan_county"))
    messages = (await resp.json())["messages"]
    assert messages[-1] == {"direction": "in", "text": "我想报电工班，补贴怎么算", "at": messages[-1]["at"]}
    assert messages[-2]["staff"] == "nanguan_county"

    resp = await client.post(
        conversation_url("telegram", str(CHAT), "/close"), headers=world.headers("nanguan_county")
    )
    assert resp.status == 200
    await settle(services)
    await dispatch(services)
    closing = [s.text for s in fake_telegram.to(str(CHAT))[before + 1 :]]
    assert len(closing) == 1 and "本次人工服务已结束" in closing[0]
    # Given back: the bot answers again.
    await deliver(client, services, text_update(CHAT, "你好"))
    await dispatch(services)
    assert "吉林省政府补贴职业技能培训服务号" in fake_telegram.to(str(CHAT))[-1].text


async def test_wechat_reply_is_a_customer_service_message_sent_once(
    client: TestClient, services: Services, fake_wechat: FakeWeChat, world: World, engine: Engine
) -> None:
    await engine.handle("wechat", "wechat-1", "转人工")  # 张伟, bound: routed to 南关区 at once
    [item] = await inbox(client, world, "nanguan_county")
    assert item["region_code"] == "220102" and item["name"] == "张伟"
    body = await staff_reply(
        client, world, "nanguan_county", "wechat", "wechat-1", "张先生您好，材料已收到。"
    )
    assert body["delivery"] == "queued"
    await settle(services)
    await dispatch(services)
    assert [t for who, t in fake_wechat.texts if who == "wechat-1"] == ["张先生您好，材料已收到。"]
    # Held: the trainee's next message gets no automatic answer.
    result = await engine.handle("wechat", "wechat-1", "好的谢谢")
    assert result.replies == []


async def test_wechat_beyond_48_hours_uses_the_reply_template_once_configured(
    client: TestClient, services: Services, fake_wechat: FakeWeChat, world: World
) -> None:
    # 刘洋 last wrote 100 hours ago. Without a template id the reply cannot go out at all.
    body = await staff_reply(client, world, "changchun", "wechat", "wechat-2", "您的申请已退回，请补材料。")
    assert body["delivery"] == "outside_window"
    data = load_templates().model_dump()
    data["templates"]["handover_reply"]["template_id"] = "TPL-REPLY-0001"
    services.extra["wechat_templates"] = TemplatesConfig.model_validate(data)
    services.extra.pop("outbox.dispatcher", None)
    body = await staff_reply(client, world, "changchun", "wechat", "wechat-2", "再提醒一次：请补材料。")
    assert body["delivery"] == "queued"
    await settle(services)
    await dispatch(services)
    assert fake_wechat.texts == []
    [sent] = fake_wechat.templates
    assert sent["touser"] == "wechat-2" and sent["template_id"] == "TPL-REPLY-0001"
    assert "请补材料" in sent["data"]["thing1"]["value"]
