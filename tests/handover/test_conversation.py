"""The trainee's side of 转人工: routing, the promise, the bot stepping aside, and getting it back."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.clock import LOCAL_TZ, FrozenClock
from bot.handover.service import hand_back_overdue
from bot.services import Services
from models import AuditEntry, Handover
from tests.conftest import ChatDriver
from tests.handover.conftest import ask_for_person, conversation_url, inbox, staff_reply
from tests.staff.world import World


async def handovers(services: Services) -> list[Handover]:
    async with services.db.session() as db:
        return list((await db.execute(select(Handover).order_by(Handover.id))).scalars())


async def test_unbound_user_is_asked_once_and_routed_to_the_county_named(
    client: TestClient, chat: ChatDriver, world: World, services: Services
) -> None:
    await ask_for_person(chat, "我在长春市南关区")
    assert "南关区人社局" in chat.text
    assert "工作日 8:30–17:00，预计 30 分钟内回复" in chat.text
    [h] = await handovers(services)
    assert (h.state, h.region_code, h.region_source) == ("waiting", "220102", "named")

    # The county, its city and the province see it; another city and an institution do not.
    for role in ("nanguan_county", "changchun", "province"):
        assert [i["external_id"] for i in await inbox(client, world, role)] == [chat.user_id], role
    for role in ("jilin_city", "op_nanguan"):
        assert await inbox(client, world, role) == [], role


async def test_region_named_in_the_request_needs_no_question(chat: ChatDriver, services: Services) -> None:
    await chat.say("我是吉林市船营区的，想问问补贴")
    await chat.say("转人工")
    assert "您在哪个市县" not in chat.text and "船营区人社局" in chat.text
    [h] = await handovers(services)
    assert h.region_code == "220204"


async def test_unreadable_answer_goes_to_the_province_queue_for_city_staff(
    client: TestClient, chat: ChatDriver, world: World
) -> None:
    await ask_for_person(chat, "不太清楚")
    assert "当地人社部门" in chat.text
    for role in ("changchun", "jilin_city", "province"):
        [item] = await inbox(client, world, role)
        assert item["province_queue"] is True
    assert await inbox(client, world, "nanguan_county") == []


async def test_repeated_request_keeps_the_first_time_and_oldest_come_first(
    client: TestClient, chat: ChatDriver, world: World, clock: FrozenClock, services: Services
) -> None:
    await ask_for_person(chat)
    first = clock.now()
    other = ChatDriver(client, "web-second")
    clock.advance(timedelta(minutes=5))
    await ask_for_person(other)
    clock.advance(timedelta(minutes=5))
    await chat.say("转人工")
    assert "尽快回复" in chat.text
    items = await inbox(client, world, "nanguan_county")
    assert [i["external_id"] for i in items] == [chat.user_id, "web-second"]
    assert items[0]["waiting_minutes"] == 10 and items[1]["waiting_minutes"] == 5
    [h, _] = await handovers(services)
    assert h.opened_at == first


async def test_bot_stays_silent_while_held_and_web_gets_staff_replies_first(
    client: TestClient, chat: ChatDriver, world: World, services: Services
) -> None:
    await ask_for_person(chat)
    body = await staff_reply(
        client, world, "nanguan_county", "web", chat.user_id, "您好，我是南关区人社局小王。"
    )
    assert body["delivery"] == "queued"
    assert body["message"]["staff"] == "nanguan_county" and body["message"]["direction"] == "out"

    replies = await chat.say("我想问问电工班什么时候开课")
    assert [r["text"] for r in replies] == ["您好，我是南关区人社局小王。"]
    # Held: the bot answers nothing of its own, even to a question it knows.
    assert await chat.say("签到") == []
    assert await chat.say("") == []

    resp = await client.get(conversation_url("web", chat.user_id), headers=world.headers("nanguan_county"))
    messages = (await resp.json())["messages"]
    staff = [m for m in messages if "staff" in m]
    assert [(m["direction"], m["text"], m["staff"]) for m in staff] == [
        ("out", "您好，我是南关区人社局小王。", "nanguan_county")
    ]
    assert [m["text"] for m in messages if m["direction"] == "in"][-2:] == ["签到", ""]
    # The reply was delivered once: a later turn does not repeat it.
    assert await chat.say("好的") == []


async def test_cancel_or_menu_gives_control_back(
    client: TestClient, world: World, services: Services
) -> None:
    for word in ("取消", "菜单"):
        chat = ChatDriver(client, f"web-{word}")
        await ask_for_person(chat)
        await staff_reply(client, world, "changchun", "web", chat.user_id, "请讲。")
        replies = await chat.say(word)
        assert replies[0]["text"] == "请讲。"
        assert "已结束人工服务" in replies[1]["text"] and replies[1]["choices"]
        await chat.say("你好")
        assert "吉林省政府补贴职业技能培训服务号" in chat.text
    states = [(h.state, h.ended_reason) for h in await handovers(services)]
    assert states == [("returned", "user"), ("returned", "user")]


async def test_closing_tells_the_trainee_and_the_bot_answers_again(
    client: TestClient, chat: ChatDriver, world: World, services: Services
) -> None:
    await ask_for_person(chat)
    await staff_reply(client, world, "nanguan_county", "web", chat.user_id, "已帮您查好了。")
    resp = await client.post(
        conversation_url("web", chat.user_id, "/close"), headers=world.headers("nanguan_county")
    )
    assert resp.status == 200 and (await resp.json())["handover"]["state"] == "closed"
    replies = await chat.say("你好")
    assert replies[0]["text"] == "已帮您查好了。"
    assert "本次人工服务已结束" in replies[1]["text"]
    assert "吉林省政府补贴职业技能培训服务号" in replies[2]["text"]
    assert await inbox(client, world, "nanguan_county") == []
    async with services.db.session() as db:
        actions = list((await db.execute(select(AuditEntry.action).order_by(AuditEntry.id))).scalars())
    assert [a for a in actions if a.startswith("handover")] == [
        "handover_request", "handover_route", "handover_claim", "handover_reply", "handover_close",
    ]  # fmt: skip


async def test_unanswered_held_conversation_is_handed_back_with_12333(
    client: TestClient, chat: ChatDriver, world: World, services: Services, clock: FrozenClock
) -> None:
    await ask_for_person(chat)
    resp = await client.post(
        conversation_url("web", chat.user_id, "/claim"), headers=world.headers("nanguan_county")
    )
    assert resp.status == 200 and (await resp.json())["handover"]["holder"] == "nanguan_county"
    clock.advance(timedelta(minutes=59))
    assert await hand_back_overdue(services) == 0
    clock.advance(timedelta(minutes=2))
    assert await hand_back_overdue(services) == 1
    assert await hand_back_overdue(services) == 0
    [h] = await handovers(services)
    assert (h.state, h.ended_reason) == ("returned", "timeout")
    replies = await chat.say("你好")
    assert "12333" in replies[0]["text"] and "抱歉" in replies[0]["text"]
    assert "吉林省政府补贴职业技能培训服务号" in replies[1]["text"]


async def test_hand_back_clock_stops_outside_working_hours(
    client: TestClient, chat: ChatDriver, world: World, services: Services, clock: FrozenClock
) -> None:
    clock.set(datetime(2026, 11, 27, 16, 30, tzinfo=LOCAL_TZ))  # a Friday afternoon
    await ask_for_person(chat)
    await staff_reply(client, world, "nanguan_county", "web", chat.user_id, "我看一下，稍等。")
    clock.set(datetime(2026, 11, 30, 8, 55, tzinfo=LOCAL_TZ))  # Monday: 30 + 25 working minutes
    assert await hand_back_overdue(services) == 0
    clock.set(datetime(2026, 11, 30, 9, 1, tzinfo=LOCAL_TZ))
    assert await hand_back_overdue(services) == 1


async def test_after_hours_the_bot_only_acknowledges_now_and_then(
    client: TestClient, chat: ChatDriver, world: World, clock: FrozenClock
) -> None:
    clock.set(datetime(2026, 11, 28, 10, 0, tzinfo=LOCAL_TZ))  # a Saturday
    await ask_for_person(chat)
    assert "下班时间" in chat.text and "11月30日 8:30" in chat.text
    await staff_reply(client, world, "province", "web", chat.user_id, "周末值班，您说。")
    replies = await chat.say("我的补贴什么时候到账")
    assert replies[0]["text"] == "周末值班，您说。"
    assert "消息已收到" in replies[1]["text"] and "11月30日 8:30" in replies[1]["text"]
    assert await chat.say("还有一个问题") == []
    clock.advance(timedelta(hours=3))
    assert "消息已收到" in (await chat.say("在吗"))[0]["text"]


def test_the_hand_back_clock_is_a_scheduled_job(services: Services) -> None:
    from bot.app import JOB_MODULES
    from bot.scheduler import Scheduler

    assert "bot.handover.job" in JOB_MODULES
    assert "handover-hand-back" in Scheduler(services, ("bot.handover.job",)).job_ids()
