"""Item 1 of issue 12: no full ID-card number or phone is kept, whatever path a message takes.

Each case is one that kept the number raw before masking moved to the door:
already bound, locked out, over the length limit, full-width digits, a zero-width
space inside the number, and the channel inbox (`inbound_updates.text`).
"""

from __future__ import annotations

from sqlalchemy import select

from bot.identity import mask_personal, normalize_inbound
from models import AuditEntry, InboundUpdate, Message
from tests.claims.conftest import World
from tests.conftest import ChatDriver

FULL = str.maketrans("0123456789", "０１２３４５６７８９")


async def transcript(world: World, external_id: str = "trainee-zhang") -> str:
    user = await world.chat_user(external_id)
    async with world.services.db.session() as db:
        rows = (await db.execute(select(Message.text).where(Message.chat_user_id == user.id))).scalars()
        return "\n".join(rows)


def assert_clean(text: str, world: World) -> None:
    for person in world.trainees.values():
        assert person.id_card not in text, "full ID number kept"
        assert person.id_card[:17] not in text
        assert person.phone not in text, "full phone kept"


def test_mask_personal_catches_the_disguises() -> None:
    number, phone = "220102198803120011", "13904310001"
    for text in (
        f"绑定 {number} {phone}",
        f"{number.translate(FULL)} {phone.translate(FULL)}",
        f"{number[:8]}\u200b{number[8:]} {phone[:3]}\u2060{phone[3:]}",
        f"{number[:6]} {number[6:14]} {number[14:]} 电话 {phone[:3]}-{phone[3:7]}-{phone[7:]}",
        f"{number[:6]}\u2014{number[6:]} +86 {phone}",
        f"\u202e{number}\u202c",
    ):
        masked = mask_personal(text)
        digits = "".join(ch for ch in masked if ch.isdigit())
        assert number not in digits and phone not in digits, masked
        assert "220102" in masked and "0011" in masked and "****" in masked
    assert mask_personal("2026-11-23 上课 3 天，报名费 1200 元") == "2026-11-23 上课 3 天，报名费 1200 元"
    assert normalize_inbound("a\x00b\ud800c\u200bd") == "ab\ufffdcd"


async def test_already_bound_user_resending_the_pair_is_masked(
    world: World, trainee_chat: ChatDriver
) -> None:
    zhang = world.trainees["zhang"]
    await trainee_chat.say(f"绑定 {zhang.id_card} {zhang.phone}")
    assert "绑定成功" in trainee_chat.text
    await trainee_chat.say(f"绑定 {zhang.id_card} {zhang.phone}")
    assert "已经绑定" in trainee_chat.text
    assert_clean(await transcript(world), world)


async def test_locked_out_attempts_are_masked(world: World, trainee_chat: ChatDriver) -> None:
    zhang, liu = world.trainees["zhang"], world.trainees["liu"]
    for _ in range(5):
        await trainee_chat.say(f"绑定 {zhang.id_card} {liu.phone}")
    assert "次数太多" in trainee_chat.text
    await trainee_chat.say(f"绑定 {zhang.id_card} {zhang.phone}")
    await trainee_chat.say(f"{liu.id_card} {liu.phone}")
    assert_clean(await transcript(world), world)


async def test_over_length_message_is_masked(world: World, trainee_chat: ChatDriver) -> None:
    zhang = world.trainees["zhang"]
    limit = world.services.settings.max_text_chars
    await trainee_chat.say(f"{zhang.id_card} {zhang.phone} " + "啊" * limit)
    assert_clean(await transcript(world), world)
    # A number cut in two by the length limit is not left with 16 digits either.
    await trainee_chat.say("啊" * (limit - 9) + zhang.id_card)
    assert_clean(await transcript(world), world)


async def test_full_width_and_zero_width_numbers_bind_and_are_masked(
    world: World, trainee_chat: ChatDriver
) -> None:
    zhang = world.trainees["zhang"]
    await trainee_chat.say("绑定身份")
    await trainee_chat.say(zhang.id_card[:9] + "\u200b" + zhang.id_card[9:])
    assert "手机" in trainee_chat.text
    await trainee_chat.say(zhang.phone.translate(FULL))
    assert "绑定成功" in trainee_chat.text
    assert_clean(await transcript(world), world)


async def test_full_width_id_number_binds(world: World, client: object) -> None:
    liu = world.trainees["liu"]
    chat = ChatDriver(world.client, "trainee-liu")
    await chat.say(f"绑定 {liu.id_card.translate(FULL)} {liu.phone.translate(FULL)}")
    assert "绑定成功" in chat.text
    assert_clean(await transcript(world, "trainee-liu"), world)


async def test_complaint_with_a_phone_is_masked_in_the_audit_log(
    world: World, trainee_chat: ChatDriver
) -> None:
    zhang = world.trainees["zhang"]
    await trainee_chat.say("我要投诉")
    await trainee_chat.say(f"培训机构不给我签到，我的电话{zhang.phone}，身份证{zhang.id_card}")
    async with world.services.db.session() as db:
        details = [str(d) for d in (await db.execute(select(AuditEntry.detail))).scalars()]
    assert_clean("\n".join(details), world)
    assert_clean(await transcript(world), world)


async def test_inbox_keeps_no_raw_delivery(world: World) -> None:
    from bot.channels import inbox

    zhang = world.trainees["zhang"]
    await inbox.accept(
        world.services,
        channel="telegram",
        key="1",
        external_id="42",
        kind="message",
        text=f"绑定 {zhang.id_card} {zhang.phone}",
    )
    async with world.services.db.session() as db:
        texts = list((await db.execute(select(InboundUpdate.text))).scalars())
    assert texts and all(t is not None for t in texts)
    assert_clean("\n".join(texts), world)
