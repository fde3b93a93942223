"""Item 2 of issue 12: a trainee's identity cannot be taken over by guessing, and never quietly.

The hostile test bound a demo trainee with 51 guesses spread over 11 web
user ids; the per-account lock never saw more than five. Now guesses are
counted per target record and per client address in the database, at most
two chats hold one identity (a third unbinds the oldest), the trainee's other
chats are told, and staff can see and unbind the chats.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.binding import throttle
from bot.binding.service import MAX_CHATS_PER_TRAINEE
from models import AuditEntry, OutboxMessage
from tests.claims.conftest import World
from tests.conftest import ChatDriver


def wrong_phone(phone: str, n: int) -> str:
    return phone[:3] + f"{n:04d}" + phone[7:]


async def test_guessing_from_many_user_ids_is_stopped_per_trainee(world: World) -> None:
    zhang = world.trainees["zhang"]
    guesses = 0
    for account in range(11):
        chat = ChatDriver(world.client, f"guesser-{account}")
        for _ in range(4):  # under the per-account lock
            guesses += 1
            await chat.say(f"绑定 {zhang.id_card} {wrong_phone(zhang.phone, guesses)}")
    assert guesses >= throttle.TARGET.failures
    # The record is locked for everyone now, even the right pair from a fresh account.
    late = ChatDriver(world.client, "guesser-right")
    await late.say(f"绑定 {zhang.id_card} {zhang.phone}")
    assert "次数太多" in late.text and "绑定成功" not in late.text
    assert (await world.chat_user("guesser-right")).trainee_id is None
    # Another trainee is not affected by the lock on zhang (though the address is busy).
    liu = world.trainees["liu"]
    other = ChatDriver(world.client, "liu-own")
    async with world.services.db.session() as db:
        await throttle.clear(db, throttle.source_key_for("web:127.0.0.1"))
    await other.say(f"绑定 {liu.id_card} {liu.phone}")
    assert "绑定成功" in other.text


async def test_one_address_is_limited_across_targets(world: World) -> None:
    people = list(world.trainees.values())
    for n in range(throttle.SOURCE.failures):
        person = people[n % len(people)]
        chat = ChatDriver(world.client, f"sprayer-{n}")
        await chat.say(f"绑定 {person.id_card} {wrong_phone(person.phone, n)}")
    chat = ChatDriver(world.client, "sprayer-last")
    jin = world.trainees["jin"]
    await chat.say(f"绑定 {jin.id_card} {jin.phone}")
    assert "次数太多" in chat.text


async def test_a_new_chat_tells_the_others_and_replaces_the_oldest(world: World) -> None:
    zhang = world.trainees["zhang"]
    chats = [ChatDriver(world.client, f"zhang-{n}") for n in range(MAX_CHATS_PER_TRAINEE + 1)]
    for chat in chats:
        await chat.say(f"绑定 {zhang.id_card} {zhang.phone}")
        assert "绑定成功" in chat.text
    first, second, third = [await world.chat_user(f"zhang-{n}") for n in range(3)]
    assert first.trainee_id is None  # the oldest gave way
    assert second.trainee_id == zhang.id and third.trainee_id == zhang.id
    async with world.services.db.session() as db:
        notices = list(
            (
                await db.execute(
                    select(OutboxMessage)
                    .where(OutboxMessage.kind == "security_notice")
                    .order_by(OutboxMessage.id)
                )
            ).scalars()
        )
    told = [(n.chat_user_id, n.text) for n in notices]
    assert any(uid == first.id and "另一个" in text for uid, text in told)  # when the second bound
    assert any(uid == first.id and "自动解除" in text for uid, text in told)  # when the third bound
    assert any(uid == second.id and "另一个" in text for uid, text in told)
    assert not any(uid == third.id for uid, _ in told)


async def test_staff_see_and_unbind_the_chats(world: World) -> None:
    zhang = world.trainees["zhang"]
    await world.bind_directly("zhang-phone", "zhang")
    status, body = await world.get("nanguan", f"/api/v1/admin/trainees/{zhang.id}/chats")
    assert status == 200, body
    assert [c["external_id_masked"] for c in body["chats"]] == ["zha*****one"]
    chat_id = body["chats"][0]["id"]
    # Out of scope and unknown answer alike.
    status_other, other = await world.get("yanbian", f"/api/v1/admin/trainees/{zhang.id}/chats")
    status_none, none = await world.get("nanguan", "/api/v1/admin/trainees/999999/chats")
    assert status_other == status_none == 404 and other["error"]["code"] == none["error"]["code"]
    resp = await world.client.delete(
        f"/api/v1/admin/trainees/{zhang.id}/chats/{chat_id}", headers=world.headers("nanguan")
    )
    assert resp.status == 200, await resp.text()
    assert (await world.chat_user("zhang-phone")).trainee_id is None
    async with world.services.db.session() as db:
        entry = (
            await db.execute(select(AuditEntry).where(AuditEntry.action == "unbind_trainee"))
        ).scalar_one()
    assert entry.actor == f"staff:{world.staff_ids['nanguan']}" and entry.detail["chat_user"] == chat_id
    status, body = await world.get("nanguan", f"/api/v1/admin/trainees/{zhang.id}/chats")
    assert body["chats"] == []


async def test_console_shows_and_unbinds_the_chats(world: World) -> None:
    from tests.staff.console_client import sign_in

    zhang = world.trainees["zhang"]
    chat_id = await world.bind_directly("zhang-phone", "zhang")
    csrf = await sign_in(world.client, world.tokens["nanguan"])
    page = await world.client.get(f"/console/trainees/{zhang.id}/chats")
    html = await page.text()
    assert page.status == 200 and "zha*****one" in html and "zhang-phone" not in html
    resp = await world.client.post(
        f"/console/trainees/{zhang.id}/chats/{chat_id}/unbind", data={"_csrf": csrf}, allow_redirects=False
    )
    assert resp.status == 303
    assert (await world.chat_user("zhang-phone")).trainee_id is None
    async with world.services.db.session() as db:
        entry = (
            await db.execute(select(AuditEntry).where(AuditEntry.action == "unbind_trainee"))
        ).scalar_one()
    assert entry.actor == f"staff:{world.staff_ids['nanguan']}"
    # Another region's staff: the same "not found" as a trainee that does not exist.
    await sign_in(world.client, world.tokens["yanbian"])
    hidden = await world.client.get(f"/console/trainees/{zhang.id}/chats")
    missing = await world.client.get("/console/trainees/999999/chats")
    assert hidden.status == missing.status == 404
