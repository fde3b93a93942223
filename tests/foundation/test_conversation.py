"""The engine: state, choices, dedupe, per-user ordering, transcript, restarts."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.app import create_app
from bot.engine import Engine
from bot.settings import Settings
from models import ChatUser, ConversationState, Message
from tests.conftest import ChatDriver


async def test_typing_a_number_answers_the_numbered_choice(chat: ChatDriver) -> None:
    await chat.say("你好")
    labels = chat.choices
    idx = labels.index("转人工") + 1
    await chat.say(str(idx))
    assert "人工" in chat.text


async def test_pressing_a_menu_label_is_the_same_as_the_intent(chat: ChatDriver) -> None:
    await chat.say("菜单")
    assert "转人工" in chat.choices
    await chat.say("转人工")
    assert "人工" in chat.text


async def test_gibberish_gets_friendly_fallback_with_menu(chat: ChatDriver) -> None:
    await chat.say("asdkjh qwe zzz")
    assert chat.replies
    assert chat.choices, "the fallback offers the menu"


async def test_platform_redelivery_gets_same_answer_and_one_record(engine: Engine, services: Any) -> None:
    first = await engine.handle("wechat", "openid-1", "你好", platform_msg_id="m-1")
    again = await engine.handle("wechat", "openid-1", "你好", platform_msg_id="m-1")
    assert again.duplicate and not first.duplicate
    assert [r.text for r in again.replies] == [r.text for r in first.replies]
    async with services.db.session() as db:
        n = (await db.execute(select(func.count(Message.id)).where(Message.direction == "in"))).scalar_one()
    assert n == 1


async def test_concurrent_messages_of_one_user_do_not_interleave(engine: Engine, services: Any) -> None:
    await asyncio.gather(*(engine.handle("web", "busy-user", f"你好 {i}") for i in range(8)))
    async with services.db.session() as db:
        rows = (await db.execute(select(Message).order_by(Message.id))).scalars().all()
    # Each inbound message is directly followed by its own replies.
    for i, m in enumerate(rows):
        if m.direction == "out":
            prev_in = next(r for r in reversed(rows[:i]) if r.direction == "in")
            assert m.in_reply_to_id == prev_in.id
    assert sum(1 for r in rows if r.direction == "in") == 8


async def test_transcript_needs_a_token_and_knows_users(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    await client.post("/api/v1/chat", json={"user_id": "reader", "text": "你好"})
    url = "/api/v1/admin/conversations/web/reader"
    assert (await client.get(url)).status == 401
    bad = await client.get(url, headers={"Authorization": "Bearer nope"})
    assert bad.status == 401 and (await bad.json())["error"]["code"] == "unauthorized"
    resp = await client.get(url, headers=admin_headers)
    assert resp.status == 200
    messages = (await resp.json())["messages"]
    assert [m["direction"] for m in messages][:2] == ["in", "out"]
    assert messages[0]["text"] == "你好" and messages[0]["at"].endswith("+08:00")
    missing = await client.get("/api/v1/admin/conversations/web/nobody", headers=admin_headers)
    assert missing.status == 404
    wrong_channel = await client.get("/api/v1/admin/conversations/fax/reader", headers=admin_headers)
    assert wrong_channel.status == 404


async def test_state_and_data_survive_a_restart(
    aiohttp_client: Any, settings: Settings, clock: Any, nlu_model: Any
) -> None:
    app1 = create_app(settings, clock=clock, nlu=nlu_model, migrate=False, scheduler=False)
    c1 = await aiohttp_client(app1)
    await c1.post("/api/v1/chat", json={"user_id": "restart", "text": "你好"})
    async with app1["services"].db.session() as db:
        user = (await db.execute(select(ChatUser).where(ChatUser.external_id == "restart"))).scalar_one()
        state = await db.get(ConversationState, user.id)
        assert state is not None
        state.flow, state.step, state.data = (
            "clarify",
            None,
            {"options": {"转人工": "human_agent", "签到": "check_in"}},
        )
    await c1.close()

    app2: web.Application = create_app(settings, clock=clock, nlu=nlu_model, migrate=False, scheduler=False)
    c2 = await aiohttp_client(app2)
    resp = await c2.post("/api/v1/chat", json={"user_id": "restart", "text": "转人工"})
    assert "人工" in (await resp.json())["replies"][0]["text"]
    async with app2["services"].db.session() as db:
        n = (await db.execute(select(func.count(Message.id)))).scalar_one()
    assert n == 4  # two turns, both kept


async def test_two_processes_share_users(
    aiohttp_client: Any, settings: Settings, clock: Any, nlu_model: Any
) -> None:
    """Two app instances (two engines and pools) on one database serve one user in turn."""
    a = await aiohttp_client(create_app(settings, clock=clock, nlu=nlu_model, migrate=False, scheduler=False))
    b = await aiohttp_client(create_app(settings, clock=clock, nlu=nlu_model, migrate=False, scheduler=False))
    await asyncio.gather(
        *(
            (a if i % 2 else b).post("/api/v1/chat", json={"user_id": "shared", "text": "你好"})
            for i in range(6)
        )
    )
    async with a.app["services"].db.session() as db:
        users = (await db.execute(select(func.count(ChatUser.id)))).scalar_one()
        inbound = (
            await db.execute(select(func.count(Message.id)).where(Message.direction == "in"))
        ).scalar_one()
    assert users == 1 and inbound == 6


async def test_unanswerable_question_says_so_and_offers_a_person(chat: ChatDriver) -> None:
    await chat.say("你们食堂的红烧肉多少钱一份？")
    assert "转人工" in chat.choices
    assert "回答不了" in chat.text or "答不准" in chat.text


async def test_policy_question_is_answered_with_its_article(chat: ChatDriver) -> None:
    await chat.say("线上培训算不算？")
    assert "第" in chat.text and "条" in chat.text and "依据" in chat.text


async def test_transcript_is_limited_to_the_staff_members_scope(client: TestClient, services: Any) -> None:
    from bot.auth import hash_token
    from models import Institution, StaffAccount, Trainee

    async with services.db.session() as db:
        own = Institution(code="I-OWN", name="甲机构", region_code="220102")
        other = Institution(code="I-OTHER", name="乙机构", region_code="222401")
        trainee = Trainee(
            name="张三", id_card_hash="h1", id_card_masked="220102********0011", region_code="220102"
        )
        db.add_all([own, other, trainee])
        await db.flush()
        db.add_all(
            [
                StaffAccount(
                    name="长春市", role="city_staff", region_code="220100", token_hash=hash_token("t-city")
                ),
                StaffAccount(
                    name="延边州", role="city_staff", region_code="222400", token_hash=hash_token("t-yb")
                ),
                StaffAccount(
                    name="乙机构",
                    role="institution_operator",
                    region_code="222401",
                    institution_id=other.id,
                    token_hash=hash_token("t-op"),
                ),
            ]
        )
        await db.flush()
        user = ChatUser(channel="web", external_id="scoped", trainee_id=trainee.id)
        db.add(user)
    url = "/api/v1/admin/conversations/web/scoped"
    ok = await client.get(url, headers={"Authorization": "Bearer t-city"})
    assert ok.status == 200
    for token in ("t-yb", "t-op"):
        resp = await client.get(url, headers={"Authorization": f"Bearer {token}"})
        # Issue 12: the same 404 as a user that does not exist (no telling who exists).
        assert resp.status == 404 and (await resp.json())["error"]["code"] == "not_found"
