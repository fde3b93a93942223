"""The contract's reply endpoint and the inbox API, per role: who may read and answer whom."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.engine import Engine
from bot.services import Services
from models import Handover, OutboxMessage
from tests.conftest import ChatDriver
from tests.handover.conftest import ask_for_person, conversation_url, inbox, staff_reply
from tests.staff.world import World


async def post_reply(
    client: TestClient, headers: dict[str, str], channel: str, external_id: str, body: Any
) -> Any:
    return await client.post(conversation_url(channel, external_id, "/messages"), json=body, headers=headers)


async def test_every_endpoint_needs_a_valid_token(client: TestClient, chat: ChatDriver, world: World) -> None:
    await ask_for_person(chat)
    for headers in ({}, {"Authorization": "Bearer stf_not-a-token"}, {"Authorization": "Basic x"}):
        assert (await client.get(conversation_url("web", chat.user_id), headers=headers)).status == 401
        assert (await post_reply(client, headers, "web", chat.user_id, {"text": "你好"})).status == 401
        assert (await client.get("/api/v1/admin/handovers", headers=headers)).status == 401
        resp = await client.post(conversation_url("web", chat.user_id, "/claim"), headers=headers)
        assert resp.status == 401
        assert (await resp.json())["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("body", [{"text": ""}, {"text": "   \n"}, {}, {"text": 42}, {"text": None}])
async def test_empty_or_missing_text_is_400(
    client: TestClient, chat: ChatDriver, world: World, services: Services, body: dict[str, Any]
) -> None:
    await ask_for_person(chat)
    resp = await post_reply(client, world.headers("nanguan_county"), "web", chat.user_id, body)
    assert resp.status == 400
    assert (await resp.json())["error"]["code"] == "empty_text"
    async with services.db.session() as db:
        assert (await db.execute(select(Handover.state))).scalar_one() == "waiting"


async def test_too_long_text_and_bad_json_are_400(client: TestClient, chat: ChatDriver, world: World) -> None:
    await ask_for_person(chat)
    headers = world.headers("province")
    resp = await post_reply(client, headers, "web", chat.user_id, {"text": "长" * 2001})
    assert resp.status == 400 and (await resp.json())["error"]["code"] == "text_too_long"
    resp = await client.post(
        conversation_url("web", chat.user_id, "/messages"), data=b"{oops", headers=headers
    )
    assert resp.status == 400


async def test_unknown_channel_or_user_is_404(client: TestClient, world: World) -> None:
    headers = world.headers("province")
    for channel, external_id in (("sms", "x"), ("web", "nobody"), ("telegram", "999")):
        assert (await client.get(conversation_url(channel, external_id), headers=headers)).status == 404
        resp = await post_reply(client, headers, channel, external_id, {"text": "你好"})
        assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found"


async def test_each_role_answers_only_inside_its_scope(
    client: TestClient, chat: ChatDriver, world: World, engine: Engine
) -> None:
    await ask_for_person(chat)  # unbound web user, routed to 南关区
    await engine.handle("wechat", "wechat-1", "转人工")  # 张伟, bound trainee of 南关区, class at 南关
    allowed = {
        ("web", chat.user_id): ["province", "changchun", "nanguan_county"],
        ("wechat", "wechat-1"): ["province", "changchun", "nanguan_county", "op_nanguan"],
    }
    denied = {
        ("web", chat.user_id): ["jilin_city", "op_nanguan", "op_chaoyang"],
        ("wechat", "wechat-1"): ["jilin_city", "op_chaoyang"],
    }
    for (channel, external_id), roles in denied.items():
        for role in roles:
            headers = world.headers(role)
            # Out of scope answers as an unknown user would (issue 12): nothing leaks about who exists.
            assert (await client.get(conversation_url(channel, external_id), headers=headers)).status == 404
            resp = await post_reply(client, headers, channel, external_id, {"text": "越权"})
            assert resp.status == 404, role
            assert (await resp.json())["error"]["code"] == "not_found"
    for (channel, external_id), roles in allowed.items():
        for role in roles:
            body = await staff_reply(client, world, role, channel, external_id, f"{role} 回复")
            assert body["message"]["staff"] == role and body["delivery"] == "queued", role
    resp = await post_reply(
        client, {"Authorization": "Bearer test-admin-token"}, "web", chat.user_id, {"text": "管理员"}
    )
    assert resp.status == 201 and (await resp.json())["message"]["staff"] == "admin"

    # The county's inbox holds both, the longest-waiting first; the operator sees only its trainee.
    assert [i["external_id"] for i in await inbox(client, world, "nanguan_county")] == [
        chat.user_id,
        "wechat-1",
    ]
    assert [i["name"] for i in await inbox(client, world, "op_nanguan")] == ["张伟"]
    assert [i["holder"] for i in await inbox(client, world, "province")] == ["province", "province"]


async def test_delivery_says_what_will_happen_per_channel(
    client: TestClient, world: World, services: Services
) -> None:
    # 张伟 wrote on WeChat 2 hours ago: a customer-service message goes through the outbox.
    body = await staff_reply(client, world, "nanguan_county", "wechat", "wechat-1", "您好")
    assert body["delivery"] == "queued"
    # 刘洋 last wrote 100 hours ago: WeChat refuses free text and no template is configured.
    body = await staff_reply(client, world, "changchun", "wechat", "wechat-2", "您好")
    assert body["delivery"] == "outside_window"
    # 陈静 blocked the bot on Telegram.
    body = await staff_reply(client, world, "nanguan_county", "telegram", "telegram-3", "您好")
    assert body["delivery"] == "unreachable"
    async with services.db.session() as db:
        rows = list((await db.execute(select(OutboxMessage.kind, OutboxMessage.text))).all())
        held = list(
            (await db.execute(select(Handover.state, Handover.region_code).order_by(Handover.id))).all()
        )
    assert rows == [("reply", "您好")]  # only the deliverable one is queued
    # Writing to someone opens a held conversation, so the bot steps aside there too.
    assert held == [("held", "220102"), ("held", "220104"), ("held", "220102")]


async def test_actions_without_an_open_request_are_409(
    client: TestClient, chat: ChatDriver, world: World
) -> None:
    await chat.say("你好")
    headers = world.headers("province")
    for action in ("/claim", "/hand-back", "/close"):
        resp = await client.post(conversation_url("web", chat.user_id, action), headers=headers)
        assert resp.status == 409 and (await resp.json())["error"]["code"] == "no_open_request"


async def test_hand_back_by_staff_tells_the_user(client: TestClient, chat: ChatDriver, world: World) -> None:
    await ask_for_person(chat)
    headers = world.headers("nanguan_county")
    assert (await client.post(conversation_url("web", chat.user_id, "/claim"), headers=headers)).status == 200
    other = await inbox(client, world, "changchun")
    assert other[0]["state"] == "held" and other[0]["holder"] == "nanguan_county"
    resp = await client.post(conversation_url("web", chat.user_id, "/hand-back"), headers=headers)
    assert resp.status == 200 and (await resp.json())["handover"]["state"] == "returned"
    replies = await chat.say("你好")
    assert "工作人员已结束本次人工服务" in replies[0]["text"]
    assert "吉林省政府补贴职业技能培训服务号" in replies[1]["text"]


async def test_legacy_handoffs_list_and_resolve(client: TestClient, chat: ChatDriver, world: World) -> None:
    await ask_for_person(chat)
    headers = world.headers("nanguan_county")
    body = await (await client.get("/api/v1/admin/handoffs", headers=headers)).json()
    assert body["total"] == 1 and body["handoffs"][0]["external_id"] == chat.user_id
    user_id = body["handoffs"][0]["chat_user_id"]
    assert (
        await client.post(f"/api/v1/admin/handoffs/{user_id}/resolve", headers=world.headers("jilin_city"))
    ).status == 403
    resp = await client.post(f"/api/v1/admin/handoffs/{user_id}/resolve", headers=headers)
    assert (await resp.json())["resolved"] is True
    assert "本次人工服务已结束" in (await chat.say("你好"))[0]["text"]
