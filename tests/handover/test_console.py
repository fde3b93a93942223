"""The console's inbox: the list, the header count, claiming, replying, closing, and scope."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.engine import Engine
from bot.services import Services
from models import OutboxMessage
from tests.staff.console_client import sign_in
from tests.staff.world import World


async def test_city_staff_work_a_request_from_the_console(
    client: TestClient, world: World, engine: Engine, services: Services
) -> None:
    user_id = world.chat_users["刘洋-wechat"]
    await engine.handle("wechat", "wechat-2", "补贴一直没到账")
    await engine.handle("wechat", "wechat-2", "转人工")
    csrf = await sign_in(client, world.tokens["changchun"])
    page = await (await client.get("/console/handoffs")).text()
    assert "刘洋" in page and "转人工" in page and "朝阳区" in page and "等待接手" in page
    assert (await (await client.get("/console/handoffs/count.json")).json()) == {"open": 1}

    page = await (await client.get(f"/console/handoffs/{user_id}")).text()
    assert page.index("补贴一直没到账") < page.index("朝阳区人社局的工作人员")
    assert 'id="claim"' in page

    resp = await client.post(
        f"/console/handoffs/{user_id}/claim", data={"_csrf": csrf}, allow_redirects=False
    )
    assert resp.status == 303 and resp.headers["Location"].endswith("done=claimed")
    page = await (await client.get(resp.headers["Location"])).text()
    assert "由 changchun 处理中" in page and 'id="claim"' not in page

    resp = await client.post(
        f"/console/handoffs/{user_id}/reply", data={"_csrf": csrf, "text": "  "}, allow_redirects=False
    )
    assert resp.headers["Location"].endswith("done=empty")
    resp = await client.post(
        f"/console/handoffs/{user_id}/reply",
        data={"_csrf": csrf, "text": "您的补贴已在公示期，月底前到账。"},
        allow_redirects=False,
    )
    assert resp.headers["Location"].endswith("done=queued")
    body = await (await client.get(f"/console/handoffs/{user_id}/messages.json?after=0")).json()
    assert body["state"] == "held" and body["holder"] == "changchun"
    staff = [m for m in body["messages"] if m.get("staff")]
    assert [(m["text"], m["staff"], m["delivery"]) for m in staff] == [
        ("您的补贴已在公示期，月底前到账。", "changchun", "queued")
    ]
    last = body["messages"][-1]["id"]
    assert (await (await client.get(f"/console/handoffs/{user_id}/messages.json?after={last}")).json())[
        "messages"
    ] == []

    resp = await client.post(
        f"/console/handoffs/{user_id}/close", data={"_csrf": csrf}, allow_redirects=False
    )
    assert resp.headers["Location"].endswith("done=closed")
    page = await (await client.get("/console/handoffs")).text()
    assert "目前没有等待人工的对话" in page
    assert (await (await client.get("/console/handoffs/count.json")).json()) == {"open": 0}
    async with services.db.session() as db:
        texts = list((await db.execute(select(OutboxMessage.text).order_by(OutboxMessage.id))).scalars())
    assert texts[-2:] == ["您的补贴已在公示期，月底前到账。", services.texts.get("handover.closed_note")]


async def test_other_city_sees_nothing_and_forms_need_csrf(
    client: TestClient, world: World, engine: Engine
) -> None:
    user_id = world.chat_users["刘洋-wechat"]
    await engine.handle("wechat", "wechat-2", "转人工")
    await sign_in(client, world.tokens["jilin_city"])
    assert "目前没有等待人工的对话" in await (await client.get("/console/handoffs")).text()
    assert (await (await client.get("/console/handoffs/count.json")).json()) == {"open": 0}
    assert (await client.get(f"/console/handoffs/{user_id}")).status == 403
    assert (await client.get(f"/console/handoffs/{user_id}/messages.json")).status == 403
    assert (await client.get("/console/handoffs/99999")).status == 404

    csrf = await sign_in(client, world.tokens["changchun"])
    resp = await client.post(
        f"/console/handoffs/{user_id}/reply", data={"text": "没有令牌"}, allow_redirects=False
    )
    assert resp.status == 403
    resp = await client.post(
        f"/console/handoffs/{user_id}/reply", data={"_csrf": csrf, "text": "有令牌"}, allow_redirects=False
    )
    assert resp.status == 303


async def test_count_needs_a_session(client: TestClient) -> None:
    assert (await client.get("/console/handoffs/count.json")).status == 401


async def test_an_undeliverable_reply_is_marked_in_the_conversation(client: TestClient, world: World) -> None:
    user_id = world.chat_users["陈静-telegram"]  # blocked the bot
    csrf = await sign_in(client, world.tokens["nanguan_county"])
    resp = await client.post(
        f"/console/handoffs/{user_id}/reply", data={"_csrf": csrf, "text": "请回电话"}, allow_redirects=False
    )
    assert resp.headers["Location"].endswith("done=unreachable")
    page = await (await client.get(resp.headers["Location"])).text()
    assert "无法送达" in page and 'data-delivery="unreachable"' in page and "请改用电话联系" in page
