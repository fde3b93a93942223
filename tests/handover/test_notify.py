"""Staff with a bound chat hear of a new request routed to their office, and only they."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from bot.services import Services
from models import ChatUser, OutboxMessage, StaffAccount
from tests.conftest import ChatDriver
from tests.handover.conftest import ask_for_person
from tests.staff.world import World


async def bind_staff_chats(services: Services, world: World, roles: list[str]) -> dict[int, str]:
    """Give these staff accounts a Telegram chat of their own; chat user id → role."""
    chats: dict[int, str] = {}
    async with services.db.session() as db:
        for n, role in enumerate(roles):
            user = ChatUser(channel="telegram", external_id=f"staff-{n}", display_name=role)
            db.add(user)
            await db.flush()
            await db.execute(
                update(StaffAccount)
                .where(StaffAccount.id == world.staff_ids[role])
                .values(chat_user_id=user.id)
            )
            chats[user.id] = role
    return chats


async def alerts(services: Services, chats: dict[int, str]) -> list[tuple[str, str]]:
    async with services.db.session() as db:
        rows = (
            await db.execute(
                select(OutboxMessage.chat_user_id, OutboxMessage.text)
                .where(OutboxMessage.kind == "staff_alert")
                .order_by(OutboxMessage.id)
            )
        ).all()
    return [(chats[user_id], text) for user_id, text in rows]


async def test_the_county_is_told_not_the_city_or_province(
    client: TestClient, world: World, services: Services
) -> None:
    chats = await bind_staff_chats(services, world, ["province", "changchun", "jilin_city", "nanguan_county"])
    chat = ChatDriver(client, "web-notify-1")
    await ask_for_person(chat, "南关区")
    [(role, text)] = await alerts(services, chats)
    assert role == "nanguan_county" and "南关区" in text and "转人工" in text
    await chat.say("转人工")  # a repeated request is not news
    assert len(await alerts(services, chats)) == 1


async def test_a_city_hears_when_its_county_has_no_bound_chat_and_cities_share_the_province_queue(
    client: TestClient, world: World, services: Services
) -> None:
    chats = await bind_staff_chats(services, world, ["changchun", "jilin_city"])
    await ask_for_person(ChatDriver(client, "web-notify-2"), "朝阳区")
    assert [r for r, _ in await alerts(services, chats)] == ["changchun"]
    await ask_for_person(ChatDriver(client, "web-notify-3"), "说不清")
    assert sorted(r for r, _ in (await alerts(services, chats))[1:]) == ["changchun", "jilin_city"]
