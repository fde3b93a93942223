"""我的补贴到哪了: a bound trainee gets the true stage and the legal payment date, in plain words."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.clock import FrozenClock
from tests.claims.conftest import World, at
from tests.conftest import ChatDriver


async def bind(world: World, chat: ChatDriver, key: str) -> None:
    person = world.trainees[key]
    await chat.say(f"绑定身份 {person.id_card} {person.phone}")
    assert "绑定成功" in chat.text


async def walk(
    world: World, clock: FrozenClock, class_id: int, steps: list[tuple[date, str, dict[str, Any]]]
) -> int:
    """Submit the class's training claims and move the first through `steps`; returns its id."""
    clock.set(at(steps[0][0]))
    status, body = await world.post(
        "changchun", f"/api/v1/admin/classes/{class_id}/claims", {"subsidy_type": "training"}
    )
    assert status == 201, body
    cid = body["claims"][0]["id"]
    for day, to, extra in steps[1:]:
        clock.set(at(day))
        status, body = await world.post(
            "changchun", f"/api/v1/admin/claims/{cid}/transitions", {"to": to, **extra}
        )
        assert status == 200, body
    return cid


async def test_bound_trainee_in_publicity_gets_stage_and_latest_payment_date(
    world: World, clock: FrozenClock, trainee_chat: ChatDriver
) -> None:
    class_id = await world.add_class(
        "S1", date(2026, 9, 1), date(2026, 9, 24), trainees=("zhang",), name="电工培训班"
    )
    await walk(
        world,
        clock,
        class_id,
        [
            (date(2026, 9, 28), "submitted", {}),
            (date(2026, 9, 30), "under_review", {}),
            (date(2026, 10, 9), "approved", {"amount": "1200"}),
            (date(2026, 10, 12), "in_publicity", {}),
        ],
    )
    clock.set(at(date(2026, 10, 14)))
    await bind(world, trainee_chat, "zhang")
    await trainee_chat.say("我的钱啥时候能到账啊")
    text = trainee_chat.text
    assert "【培训补贴】电工培训班" in text
    assert "现在：公示中（10月12日起）" in text
    assert "公示结束，按规定最晚10月16日" in text
    assert "最晚11月3日前到账" in text
    assert "1200.00元" in text
    assert "超过" not in text and "暂按" not in text


async def test_overdue_review_is_flagged_with_the_complaint_line(
    world: World, clock: FrozenClock, trainee_chat: ChatDriver
) -> None:
    class_id = await world.add_class("S2", date(2026, 9, 1), date(2026, 9, 24), trainees=("zhang",))
    await walk(
        world,
        clock,
        class_id,
        [(date(2026, 9, 28), "submitted", {}), (date(2026, 9, 29), "under_review", {})],
    )
    clock.set(at(date(2026, 10, 20)))
    await bind(world, trainee_chat, "zhang")
    await trainee_chat.say("补贴审核到哪一步了")
    text = trainee_chat.text
    assert "人社部门审核中" in text and "10月16日" in text
    assert "超过规定期限" in text and "12333" in text and "第十九条" in text
    # Even if the review ends today (10/20): publicity by 10/23, ends 10/29, paid by 11/16.
    assert "11月16日" in text


async def test_december_class_answer_says_dates_are_provisional(
    world: World, clock: FrozenClock, trainee_chat: ChatDriver
) -> None:
    class_id = await world.add_class("S3", date(2026, 12, 1), date(2026, 12, 28), trainees=("zhang",))
    await walk(world, clock, class_id, [(date(2026, 12, 29), "submitted", {})])
    clock.set(at(date(2026, 12, 30)))
    await bind(world, trainee_chat, "zhang")
    await trainee_chat.say("补贴到哪了")
    text = trainee_chat.text
    assert "2027年1月12日" in text
    assert "2027年的放假安排还没公布" in text and "仅供参考" in text


async def test_returned_rejected_paid_and_unclaimed_classes(
    world: World, clock: FrozenClock, trainee_chat: ChatDriver
) -> None:
    returned = await world.add_class(
        "S4", date(2026, 9, 1), date(2026, 9, 24), trainees=("zhang",), name="育婴员班"
    )
    paid = await world.add_class(
        "S5", date(2026, 8, 1), date(2026, 8, 28), trainees=("zhang",), name="养老护理员班"
    )
    await world.add_class("S6", date(2026, 10, 1), date(2026, 10, 16), trainees=("zhang",), name="电子商务班")
    await walk(
        world,
        clock,
        returned,
        [
            (date(2026, 9, 28), "submitted", {}),
            (date(2026, 9, 29), "returned", {"reason": "缺少培训合格证书复印件"}),
        ],
    )
    await walk(
        world,
        clock,
        paid,
        [
            (date(2026, 9, 1), "submitted", {}),
            (date(2026, 9, 2), "under_review", {}),
            (date(2026, 9, 8), "approved", {"amount": 936}),
            (date(2026, 9, 9), "in_publicity", {}),
            (date(2026, 9, 15), "payment_pending", {}),
            (date(2026, 9, 22), "paid", {}),
        ],
    )
    clock.set(at(date(2026, 10, 20)))
    await bind(world, trainee_chat, "zhang")
    await trainee_chat.say("我的补贴怎么样了")
    text = trainee_chat.text
    assert "您有2项补贴申请" in text
    assert "退回补充材料" in text and "缺少培训合格证书复印件" in text
    assert "已于9月22日拨付" in text and "936.00元" in text
    # The class that ended 10/16 has no claim yet: the institution has until 10/30.
    assert "电子商务班" in text and "10月30日" in text


async def test_only_own_claims_are_shown(world: World, clock: FrozenClock, trainee_chat: ChatDriver) -> None:
    mine = await world.add_class(
        "S7", date(2026, 9, 1), date(2026, 9, 24), trainees=("zhang",), name="我的班"
    )
    theirs = await world.add_class(
        "S8", date(2026, 9, 1), date(2026, 9, 24), trainees=("liu",), name="别人的班"
    )
    await walk(
        world,
        clock,
        theirs,
        [
            (date(2026, 9, 28), "submitted", {}),
            (date(2026, 9, 29), "under_review", {}),
            (date(2026, 10, 9), "approved", {"amount": "777"}),
        ],
    )
    clock.set(at(date(2026, 10, 12)))
    stranger = ChatDriver(world.client, "stranger")
    await stranger.say("钱什么时候到账")
    assert "绑定" in stranger.text and "别人的班" not in stranger.text and "777" not in stranger.text
    await bind(world, trainee_chat, "zhang")
    await trainee_chat.say("钱什么时候到账")
    assert "别人的班" not in trainee_chat.text and "777" not in trainee_chat.text
    assert "还没有查到您的补贴申请记录" in trainee_chat.text and "我的班" in trainee_chat.text
    del mine
