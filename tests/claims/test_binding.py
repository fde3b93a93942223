"""Binding a chat account: ID card + phone, one-time codes, attempt limits, unbinding."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.clock import FrozenClock
from models import BindCode, Message, StaffAccount
from tests.claims.conftest import World
from tests.conftest import ChatDriver


async def issue(world: World, who: str, **body: object) -> tuple[int, dict]:
    return await world.post(who, "/api/v1/admin/bind-codes", body)


async def test_unbound_user_is_asked_to_bind_and_sees_nothing(world: World, trainee_chat: ChatDriver) -> None:
    await trainee_chat.say("我的补贴到哪了")
    assert "绑定" in trainee_chat.text
    assert "绑定身份" in trainee_chat.choices
    for person in world.trainees.values():
        assert person.name not in trainee_chat.text


async def test_bind_with_id_card_and_phone_echoes_them_masked(world: World, trainee_chat: ChatDriver) -> None:
    zhang = world.trainees["zhang"]
    await trainee_chat.say("绑定身份")
    assert "身份证" in trainee_chat.text
    await trainee_chat.say(f"我的身份证是{zhang.id_card}")
    masked_id = zhang.id_card[:6] + "********" + zhang.id_card[-4:]
    assert masked_id in trainee_chat.text and zhang.id_card not in trainee_chat.text
    await trainee_chat.say(zhang.phone)
    assert "绑定成功" in trainee_chat.text
    assert "139****0001" in trainee_chat.text and zhang.phone not in trainee_chat.text
    assert "张*" in trainee_chat.text
    user = await world.chat_user("trainee-zhang")
    assert user.trainee_id == zhang.id and user.bind_failures == 0
    # The transcript keeps no number in clear either.
    async with world.services.db.session() as db:
        texts = list(
            (await db.execute(select(Message.text).where(Message.chat_user_id == user.id))).scalars()
        )
    joined = "\n".join(texts)
    assert zhang.id_card not in joined and zhang.phone not in joined
    # Asking again says who the account is bound to and offers to unbind.
    await trainee_chat.say("绑定身份")
    assert "已经绑定" in trainee_chat.text and "解除绑定" in trainee_chat.choices


async def test_wrong_check_digit_is_reasked_without_counting(world: World, trainee_chat: ChatDriver) -> None:
    number = world.trainees["zhang"].id_card
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    await trainee_chat.say("绑定身份")
    await trainee_chat.say(wrong)
    assert "号码好像不对" in trainee_chat.text
    user = await world.chat_user("trainee-zhang")
    assert user.bind_failures == 0 and user.trainee_id is None
    # Both at once works too.
    await trainee_chat.say(f"{number} 13904310001")
    assert "绑定成功" in trainee_chat.text


async def test_wrong_pairs_lock_the_account_for_a_while(
    world: World, trainee_chat: ChatDriver, clock: FrozenClock
) -> None:
    zhang, liu = world.trainees["zhang"], world.trainees["liu"]
    await trainee_chat.say("绑定身份")
    for left in (4, 3, 2, 1):
        await trainee_chat.say(zhang.id_card)
        await trainee_chat.say(liu.phone)  # someone else's phone
        assert "对不上" in trainee_chat.text and f"还能再试{left}次" in trainee_chat.text
        assert liu.name not in trainee_chat.text and zhang.name not in trainee_chat.text
    await trainee_chat.say(zhang.id_card)
    await trainee_chat.say(liu.phone)
    assert "次数太多" in trainee_chat.text and "09:30" in trainee_chat.text
    # Even the right pair is refused while locked.
    await trainee_chat.say(f"绑定身份 {zhang.id_card} {zhang.phone}")
    assert "次数太多" in trainee_chat.text
    assert (await world.chat_user("trainee-zhang")).trainee_id is None
    clock.advance(timedelta(minutes=31))
    await trainee_chat.say(f"绑定身份 {zhang.id_card} {zhang.phone}")
    assert "绑定成功" in trainee_chat.text


async def test_trainee_bind_code_from_the_institution(
    world: World, trainee_chat: ChatDriver, clock: FrozenClock
) -> None:
    klass = await world.add_class("B1", clock.today(), clock.today(), trainees=("zhang",), status="running")
    del klass
    # Another institution cannot issue a code for this trainee.
    status, body = await issue(world, "yb_operator", kind="trainee", trainee_id=world.trainees["zhang"].id)
    assert status == 404
    status, body = await issue(world, "cc_operator", kind="trainee", trainee_id=world.trainees["zhang"].id)
    assert status == 201, body
    code = body["code"]
    assert body["wechat_text"] == f"绑定 {code}" and body["telegram_start"] == f"bind_{code}"
    async with world.services.db.session() as db:
        stored = list((await db.execute(select(BindCode.code_hash))).scalars())
    assert stored and code not in stored[0]

    await trainee_chat.say(f"绑定 {code.lower()}")
    assert "绑定成功" in trainee_chat.text and "张*" in trainee_chat.text
    assert (await world.chat_user("trainee-zhang")).trainee_id == world.trainees["zhang"].id

    other = ChatDriver(world.client, "someone-else")
    await other.say(f"绑定 {code}")
    assert "用过" in other.text
    assert (await world.chat_user("someone-else")).trainee_id is None


async def test_expired_code_is_refused(world: World, clock: FrozenClock) -> None:
    status, body = await issue(world, "changchun", kind="trainee", trainee_id=world.trainees["zhang"].id)
    assert status == 201
    clock.advance(timedelta(days=8))
    chat = ChatDriver(world.client, "late-binder")
    await chat.say(f"绑定 {body['code']}")
    assert "过期" in chat.text
    assert (await world.chat_user("late-binder")).trainee_id is None


async def test_institution_and_staff_codes_link_contacts(world: World) -> None:
    status, body = await issue(
        world, "cc_operator", kind="institution", institution_id=world.institutions["yb"]
    )
    assert status == 404
    status, body = await issue(
        world, "cc_operator", kind="institution", institution_id=world.institutions["cc"]
    )
    assert status == 201
    contact = ChatDriver(world.client, "cc-contact")
    await contact.say(f"绑定 {body['code']}")
    assert "联系人" in contact.text
    assert (await world.chat_user("cc-contact")).institution_id == world.institutions["cc"]

    status, body = await issue(world, "nanguan", kind="staff")
    assert status == 201 and body["staff_id"] == world.staff_ids["nanguan"]
    status, _ = await issue(world, "nanguan", kind="staff", staff_id=world.staff_ids["changchun"])
    assert status == 403
    status, _ = await issue(world, "admin", kind="staff")
    assert status == 400
    staff_chat = ChatDriver(world.client, "nanguan-phone")
    await staff_chat.say(f"绑定码 {body['code']}")
    assert "工作人员" in staff_chat.text
    user = await world.chat_user("nanguan-phone")
    async with world.services.db.session() as db:
        account = await db.get(StaffAccount, world.staff_ids["nanguan"])
        assert account is not None and account.chat_user_id == user.id

    # 解除绑定 drops every link after a confirmation.
    await staff_chat.say("解除绑定")
    assert "确定解除" in staff_chat.choices
    await staff_chat.say("确定解除")
    assert "已经解除" in staff_chat.text
    async with world.services.db.session() as db:
        account = await db.get(StaffAccount, world.staff_ids["nanguan"])
        assert account is not None and account.chat_user_id is None


async def test_unbind_then_claims_are_hidden_again(world: World, trainee_chat: ChatDriver) -> None:
    zhang = world.trainees["zhang"]
    await trainee_chat.say(f"绑定身份 {zhang.id_card} {zhang.phone}")
    assert "绑定成功" in trainee_chat.text
    await trainee_chat.say("解绑")
    await trainee_chat.say("不解除")
    assert (await world.chat_user("trainee-zhang")).trainee_id == zhang.id
    await trainee_chat.say("解除绑定")
    await trainee_chat.say("是的")
    assert "已经解除" in trainee_chat.text
    assert (await world.chat_user("trainee-zhang")).trainee_id is None
    await trainee_chat.say("补贴到哪了")
    assert "先绑定身份" in trainee_chat.text or "需要先绑定" in trainee_chat.text


async def test_code_button_path_and_gibberish_reask(world: World, trainee_chat: ChatDriver) -> None:
    status, body = await issue(world, "changchun", kind="trainee", trainee_id=world.trainees["liu"].id)
    assert status == 201
    await trainee_chat.say("我要绑定")
    await trainee_chat.say("我有绑定码")
    assert "绑定码" in trainee_chat.text
    await trainee_chat.say("嗯？")
    assert "绑定码" in trainee_chat.text  # re-asked kindly
    await trainee_chat.say(body["code"])
    assert "绑定成功" in trainee_chat.text and "刘*" in trainee_chat.text
