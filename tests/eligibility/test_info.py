"""The information intents: subsidies, documents, finding a class, complaints — all cited."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from bot.policy import get_policy
from bot.services import Services
from models import AuditEntry
from tests.conftest import ChatDriver

from .helpers import add_class

TODAY = date(2026, 11, 23)


async def test_subsidy_info_gives_the_three_subsidies_and_the_attendance_rule(chat: ChatDriver) -> None:
    await chat.say("补贴政策")
    text = chat.text
    for sub in get_policy().subsidies.subsidies.values():
        assert f"{sub.name}（{sub.citation}）" in text
    assert "不足备案课时的70%，不能参加结业考核（第十四条（四））" in text
    assert "达到70%以上，按个人出勤率享受培训补贴；达到90%以上，享受全额补贴（第十五条）" in text
    assert "脱贫劳动力" in text and "12333" in text


async def test_documents_for_a_named_subsidy(chat: ChatDriver) -> None:
    await chat.say("评价补贴需要准备什么材料")
    assert "评价补贴（第十六条（四））" in chat.text
    assert "职业技能评价机构开具的税务发票" in chat.text
    assert "培训班结束后10个工作日内" in chat.text  # 第十六条
    assert "生活费补贴" in chat.choices


async def test_documents_ask_which_kind_without_a_profile(chat: ChatDriver) -> None:
    await chat.say("材料清单")
    assert "企业职工培训" in chat.choices and "生活费补贴" in chat.choices
    await chat.say("生活费补贴")
    assert "生活费补贴（第十六条（五））" in chat.text
    assert "城市低保证明（城市低保家庭适用）" in chat.text


async def test_documents_picker_ends_politely_on_thanks_or_ok(chat: ChatDriver, services: Services) -> None:
    texts = services.texts
    reask = texts.get("info.documents.reask")
    for closing, expected in (
        ("谢谢", texts.get("menu.thanks")),
        ("拜拜", texts.get("menu.thanks")),
        ("好的", texts.get("info.documents.closed")),
        ("行了", texts.get("info.documents.closed") + "|" + texts.get("menu.thanks")),
    ):
        await chat.say("材料清单")
        assert "生活费补贴" in chat.choices
        await chat.say(closing)
        assert reask not in chat.text, closing
        assert chat.text in expected.split("|"), (closing, chat.text)
        # The picker is closed: a claim name now is a fresh message, not the picker's answer.
        await chat.say("谢谢")
        assert chat.text == texts.get("menu.thanks")


async def test_documents_picker_lets_another_request_through(chat: ChatDriver, services: Services) -> None:
    reask = services.texts.get("info.documents.reask")
    await chat.say("材料清单")
    await chat.say("补贴政策")
    assert reask not in chat.text
    assert "不足备案课时的70%" in chat.text  # the subsidy answer, not the picker again
    await chat.say("生活费补贴")  # the picker is gone: no list from a stale flow
    assert "请从下面选一种补贴" not in chat.text
    await chat.say("材料清单")
    await chat.say("你好")  # a greeting is no answer to the picker, and no reason to repeat it
    assert chat.text == services.texts.get("menu.welcome")


async def test_documents_follow_the_saved_screening(chat: ChatDriver) -> None:
    await chat.say("我能参加补贴培训吗")
    await chat.say("没工作")
    await chat.say("“两后生”（初高中毕业没再上学）")
    await chat.say("没有了")
    await chat.say("没到")
    await chat.say("农村户口")
    await chat.say("是第一次")
    await chat.say("材料清单")
    text = chat.text
    assert "就业重点群体" in text
    # 第十六条（二）: for 两后生 the school certificate and the proxy agreement are added.
    assert "对应初、高中毕业证书复印件" in text and "第十六条（二）" in text
    # The living allowance of 第十五条（三） for rural 两后生, with its papers (第十六条（五）).
    assert "第十六条（五）" in text
    assert "城市低保证明" not in text


async def test_find_training_filters_by_region_and_occupation(chat: ChatDriver, services: Services) -> None:
    soon, later = TODAY + timedelta(days=5), TODAY + timedelta(days=40)
    async with services.db.session() as db:
        await add_class(db, occupation="育婴员", region_code="220102", start=soon, end=later)
        await add_class(
            db,
            occupation="电工",
            region_code="222401",
            start=TODAY - timedelta(days=3),
            end=later,
            status="running",
        )
        # Not offered: finished, cancelled, or run by a suspended institution.
        await add_class(
            db,
            occupation="育婴员",
            region_code="220104",
            start=TODAY - timedelta(days=60),
            end=TODAY - timedelta(days=1),
            status="finished",
        )
        await add_class(
            db, occupation="育婴员", region_code="220105", start=soon, end=later, status="cancelled"
        )
        await add_class(
            db,
            occupation="育婴员",
            region_code="220106",
            start=soon,
            end=later,
            institution_status="suspended",
        )
    await chat.say("长春有育婴员的培训班吗")
    assert "按“长春 育婴员”找到1个" in chat.text
    assert "育婴员测试培训学校220102" in chat.text and "即将开班" in chat.text
    assert "0431-88880000" in chat.text
    await chat.say("延边有没有电工培训")
    assert "电工(五级)培训班（正在上课）" in chat.text and "育婴员" not in chat.text
    # Nothing in 白城: the rest of the province is offered, with one line saying so.
    await chat.say("白城有培训班吗")
    assert chat.text.startswith("白城暂时没有补贴培训班，省内其他地方有2个：")
    await chat.say("白城有厨师班吗")
    assert "暂时没有找到白城 厨师的补贴培训班" in chat.text and "12333" in chat.text
    assert "转人工" in chat.choices


async def test_find_training_from_the_menu_then_narrow(chat: ChatDriver, services: Services) -> None:
    async with services.db.session() as db:
        for i, occupation in enumerate(["育婴员", "电工", "养老护理员", "保育师", "焊工", "叉车司机"]):
            await add_class(
                db,
                occupation=occupation,
                region_code="220102",
                start=TODAY + timedelta(days=i + 1),
                end=TODAY + timedelta(days=30),
            )
    await chat.say("找培训班")
    assert "找到6个补贴培训班" in chat.text and "还有1个班没列出来" in chat.text
    assert "想学什么工种" in chat.text
    await chat.say("焊工")
    assert "按“焊工”找到1个" in chat.text and "焊工(五级)培训班" in chat.text
    await chat.say("我想学厨师")
    assert "暂时没有找到厨师的补贴培训班" in chat.text


async def test_complaint_records_the_details_in_the_audit_log(chat: ChatDriver, services: Services) -> None:
    await chat.say("我要投诉")
    assert "第二十六条" in chat.text and "第二十八条" in chat.text and "12333" in chat.text
    await chat.say(
        "长春某某职业学校让我们代签考勤，还说不来上课也能拿证，我的身份证220102199001010018被他们拿走了"
    )
    assert "记录编号" in chat.text and "转人工" in chat.choices
    async with services.db.session() as db:
        entries = (
            (await db.execute(select(AuditEntry).where(AuditEntry.action == "complaint"))).scalars().all()
        )
    assert len(entries) == 1
    detail = entries[0].detail
    assert "让我们代签考勤，还说" in detail["text"]  # the words as written, full-width commas kept
    assert "220102199001010018" not in detail["text"] and "220102********0018" in detail["text"]
    assert f"记录编号{entries[0].id}" in chat.text


async def test_complaint_too_short_is_asked_again(chat: ChatDriver, services: Services) -> None:
    await chat.say("我要举报")
    await chat.say("好的")
    assert "内容有点少" in chat.text
    async with services.db.session() as db:
        assert not (await db.execute(select(AuditEntry))).scalars().all()


def test_id_numbers_typed_in_full_width_are_masked_too() -> None:
    from handlers.info import _mask_ids

    assert _mask_ids("身份证２２０１０２１９９００１０１００１Ｘ，电话") == "身份证220102********001X，电话"
