"""The eligibility conversation, walked the way trainees talk: free text, buttons, numbers.

Every finished conversation is checked against the policy engine for the same
answers (`assert_result_matches`), so the chat can never say something the
rules of 吉人社规〔2024〕3号 do not.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import create_app
from bot.clock import FrozenClock
from bot.identity import hash_id_card
from bot.services import Services
from bot.settings import Settings
from models import ChatUser, Enrollment, Trainee
from tests.conftest import ChatDriver

from .helpers import MESSAGES, add_class, answers_of, assert_result_matches, chat_user, details, state_of

TODAY = date(2026, 11, 23)  # the clock fixture's day
Q = MESSAGES["questions"]


def asks(chat: ChatDriver, field: str) -> bool:
    """The last reply asks this profile field's question."""
    return Q[field]["ask"] in chat.text


async def press_number(chat: ChatDriver, label: str) -> None:
    """Type the number of a choice, as WeChat users do with a numbered list."""
    await chat.say(str(chat.choices.index(label) + 1))


async def test_free_text_alone_reaches_a_cited_result(chat: ChatDriver, services: Services) -> None:
    await chat.say("我能参加补贴培训吗")
    assert MESSAGES["intro"] in chat.text and asks(chat, "employment")
    await chat.say("我退伍了，现在没工作")
    # The group said in passing is kept, and the multi-select asks for more.
    assert "退役军人" in chat.text and Q["groups"]["more"] in chat.text
    await chat.say("没有了")
    assert asks(chat, "reached_retirement_age")
    await chat.say("还没到")
    assert asks(chat, "first_evaluation_this_year")
    await chat.say("不清楚")
    profile = {"employment": "unemployed", "groups": ["veteran"], "reached_retirement_age": False}
    assert await answers_of(services, chat) == profile
    assert_result_matches(await details(chat), profile, TODAY)
    # 不清楚 is not "no": the evaluation subsidy waits for that answer and says so.
    assert "今年是否首次通过技能评价" in chat.text
    assert "须是今年初次通过技能评价" in chat.text


@pytest.mark.parametrize("text", ["能参加吗", "能参加不", "请问我这样的能参加吗"])
async def test_a_bare_can_i_take_part_starts_the_screening(chat: ChatDriver, text: str) -> None:
    # 参加 alone is in the rules for retirees, students and the 年检 an institution skips
    # alike; none of them is the answer, the screening is.
    await chat.say(text)
    assert MESSAGES["intro"] in chat.text
    assert "依据" not in chat.text


async def test_buttons_alone_reach_a_cited_result(chat: ChatDriver, services: Services) -> None:
    await chat.say("我能参加补贴培训吗")  # the menu button
    assert "在企业上班" in chat.choices
    await chat.say("在企业上班")
    assert asks(chat, "groups") and "都没有" in chat.choices
    await chat.say("都没有")
    assert asks(chat, "reached_retirement_age")
    await chat.say("还没到")
    profile = {"employment": "employed", "groups": [], "reached_retirement_age": False}
    assert await answers_of(services, chat) == profile
    assert_result_matches(await details(chat), profile, TODAY)
    assert "企业在岗职工" in chat.text and "劳动合同复印件或社保证明" in chat.text
    assert "找培训班" in chat.choices


async def test_typed_choice_numbers_alone_reach_a_cited_result(chat: ChatDriver, services: Services) -> None:
    await chat.say("我能参加补贴培训吗")
    await press_number(chat, "没有工作")
    await press_number(chat, "脱贫劳动力（脱贫户）")
    assert Q["groups"]["more"] in chat.text and "脱贫劳动力（脱贫户）" not in chat.choices
    await press_number(chat, "没有了")
    await press_number(chat, "还没到")
    await press_number(chat, "是第一次")
    profile = {
        "employment": "unemployed",
        "groups": ["poverty_alleviated"],
        "reached_retirement_age": False,
        "first_evaluation_this_year": True,
    }
    assert await answers_of(services, chat) == profile
    assert_result_matches(await details(chat), profile, TODAY)
    # 脱贫劳动力 get all three subsidies of 第十五条.
    for line in ("培训补贴（第十五条（一））：可以申请", "评价补贴（第十五条（二））：可以申请"):
        assert line in chat.text
    assert "生活费补贴（第十五条（三））：可以申请" in chat.text


async def test_several_groups_by_number_in_one_message(chat: ChatDriver, services: Services) -> None:
    await chat.say("我能参加补贴培训吗")
    await chat.say("没有工作")
    first = chat.choices.index("退役军人") + 1
    second = chat.choices.index("农村转移就业劳动者（农民工）") + 1
    await chat.say(f"{first}、{second}")
    assert "退役军人" in chat.text and "农村转移就业劳动者" in chat.text
    await chat.say("没有了")
    assert (await answers_of(services, chat))["groups"] == ["rural_migrant", "veteran"]


async def test_sixteen_categories_come_in_two_steps(chat: ChatDriver, services: Services) -> None:
    """At most 8 buttons in one message: the rarer groups sit behind a second step."""
    await chat.say("我能参加补贴培训吗")
    await chat.say("没有工作")
    assert asks(chat, "groups") and len(chat.choices) <= 8
    await press_number(chat, "失业、残疾、困难家庭…")
    assert Q["groups"]["sub_ask"] in chat.text and "残疾人" in chat.choices
    assert len(chat.choices) <= 8 and Q["groups"]["back_label"] in chat.choices
    await press_number(chat, "残疾人")
    assert "残疾人" in chat.text and Q["groups"]["more"] in chat.text and len(chat.choices) <= 8
    await chat.say("没有了")
    assert (await answers_of(services, chat))["groups"] == ["disabled"]


async def test_college_graduate_by_free_text(chat: ChatDriver, services: Services) -> None:
    await chat.say("我能参加补贴培训吗")
    await chat.say("待业在家")
    await chat.say("我是大学毕业的")
    await chat.say("就这些")
    assert asks(chat, "graduation_year")
    assert f"{TODAY.year - 1}年" in chat.choices
    await chat.say("去年毕业的")
    assert asks(chat, "employed_since_graduation")
    await chat.say("一直没找到")
    assert asks(chat, "reached_retirement_age")
    await chat.say("没到")
    await chat.say("是第一次")
    profile = {
        "employment": "unemployed",
        "groups": ["college_graduate"],
        "graduation_year": TODAY.year - 1,
        "employed_since_graduation": False,
        "reached_retirement_age": False,
        "first_evaluation_this_year": True,
    }
    assert await answers_of(services, chat) == profile
    assert_result_matches(await details(chat), profile, TODAY)
    assert "离校还在两年内" in chat.text


async def test_an_earlier_graduation_asks_for_the_year_and_can_rule_out(
    chat: ChatDriver, services: Services
) -> None:
    await chat.say("我能参加补贴培训吗")
    await chat.say("没有工作")
    await chat.say("高校毕业生（含中职、技校）")
    await chat.say("没有了")
    await chat.say("更早")
    assert Q["graduation_year"]["exact"] in chat.text
    await chat.say("2015年")
    profile = {"employment": "unemployed", "groups": ["college_graduate"], "graduation_year": 2015}
    assert await answers_of(services, chat) == profile
    assert_result_matches(await details(chat), profile, TODAY)
    assert MESSAGES["result"]["header"]["false"] in chat.text
    assert "转人工" in chat.choices


async def test_retirement_clause_needs_the_employability_assessment(
    chat: ChatDriver, services: Services
) -> None:
    await chat.say("我能参加补贴培训吗")
    await chat.say("没工作")
    await chat.say("农民工")
    await chat.say("没有了")
    await chat.say("到了")
    assert asks(chat, "receives_pension")
    await chat.say("没领")
    assert asks(chat, "ability_assessed")
    await chat.say("还没有")
    profile = {
        "employment": "unemployed",
        "groups": ["rural_migrant"],
        "reached_retirement_age": True,
        "receives_pension": False,
        "ability_assessed": False,
    }
    assert await answers_of(services, chat) == profile
    assert_result_matches(await details(chat), profile, TODAY)
    assert "就业能力评估" in chat.text and "第十二条" in chat.text


async def test_unsure_answers_give_an_honest_undecided_result(chat: ChatDriver, services: Services) -> None:
    await chat.say("我能参加补贴培训吗")
    await chat.say("不清楚")
    assert asks(chat, "groups")
    await chat.say("不清楚")
    # Nothing else can settle it while work and groups are unknown: no graduation year
    # or pension questions for someone who may be neither a graduate nor retired.
    assert_result_matches(await details(chat), {}, TODAY)
    assert "还需要弄清楚：就业状态、人员类别" in chat.text
    assert await answers_of(services, chat) == {}


async def test_a_skipped_group_question_still_asks_what_matters(chat: ChatDriver, services: Services) -> None:
    await chat.say("我能参加补贴培训吗")
    await chat.say("在企业上班")
    await chat.say("不清楚")
    assert asks(chat, "reached_retirement_age")  # retirement ends the enterprise-employee route
    await chat.say("没到")
    assert asks(chat, "first_evaluation_this_year")  # can still rule out the evaluation subsidy
    await chat.say("是第一次")
    profile = {"employment": "employed", "reached_retirement_age": False, "first_evaluation_this_year": True}
    assert await answers_of(services, chat) == profile
    assert_result_matches(await details(chat), profile, TODAY)
    assert "还需要弄清楚：人员类别" in chat.text


async def test_back_undoes_the_last_answer(chat: ChatDriver, services: Services) -> None:
    await chat.say("我能参加补贴培训吗")
    await chat.say("在企业上班")
    assert asks(chat, "groups")
    await chat.say("上一步")
    assert MESSAGES["back_ack"] in chat.text and asks(chat, "employment")
    assert "employment" not in await answers_of(services, chat)
    await chat.say("在校学生")
    assert (await answers_of(services, chat))["employment"] == "student"
    # Inside the multi-select, back forgets the groups picked so far.
    await chat.say("退役军人")
    await chat.say("上一步")
    assert asks(chat, "groups") and "退役军人" in chat.choices
    await chat.say("上一步")
    assert asks(chat, "employment")
    await chat.say("上一步")
    assert MESSAGES["first_question"] in chat.text and asks(chat, "employment")


async def test_restart_forgets_the_answers(chat: ChatDriver, services: Services) -> None:
    await chat.say("我能参加补贴培训吗")
    await chat.say("没工作")
    await chat.say("都没有")
    assert (await answers_of(services, chat)) == {"employment": "unemployed", "groups": []}
    await chat.say("重新开始")
    assert MESSAGES["restarted"] in chat.text and asks(chat, "employment")
    assert await answers_of(services, chat) == {}


async def test_cancel_ends_the_flow_and_a_new_start_offers_to_continue(
    chat: ChatDriver, services: Services
) -> None:
    await chat.say("我能参加补贴培训吗")
    await chat.say("没工作")
    await chat.say("取消")
    assert (await state_of(services, chat)).flow is None
    await chat.say("没有")  # no longer an answer to anything
    assert await answers_of(services, chat) == {"employment": "unemployed"}
    await chat.say("我能参加补贴培训吗")
    assert MESSAGES["resume_offer"] in chat.text and chat.choices == MESSAGES["resume_choices"]
    await chat.say(MESSAGES["resume_choices"][0])
    assert asks(chat, "groups")


async def test_an_answer_not_understood_is_asked_again_kindly(chat: ChatDriver) -> None:
    await chat.say("我能参加补贴培训吗")
    await chat.say("啊啊啊啊")
    assert MESSAGES["reask"] in chat.text and asks(chat, "employment")
    assert MESSAGES["reask_hint"] not in chat.text
    await chat.say("啊啊啊啊")
    assert MESSAGES["reask_hint"] in chat.text and "不清楚" in chat.choices


async def test_resumes_after_a_restart_of_the_service(
    aiohttp_client: Any, settings: Settings, clock: FrozenClock, nlu_model: Any
) -> None:
    app1 = create_app(settings, clock=clock, nlu=nlu_model, migrate=False, scheduler=False)
    first = ChatDriver(await aiohttp_client(app1), "restart-eligibility")
    await first.say("我能参加补贴培训吗")
    await first.say("在企业上班")
    assert asks(first, "groups")
    await first.client.close()

    app2 = create_app(settings, clock=clock, nlu=nlu_model, migrate=False, scheduler=False)
    second = ChatDriver(await aiohttp_client(app2), "restart-eligibility")
    await second.say("都没有")
    assert asks(second, "reached_retirement_age")
    await second.say("没到")
    profile = {"employment": "employed", "groups": [], "reached_retirement_age": False}
    assert_result_matches(await details(second), profile, TODAY)


async def test_saved_answers_are_offered_again(chat: ChatDriver, services: Services) -> None:
    await chat.say("我能参加补贴培训吗")
    await chat.say("在企业上班")
    await chat.say("都没有")
    await chat.say("还没到")
    await chat.say("我能参加补贴培训吗")
    assert "2026年11月23日" in chat.text and chat.choices == ["用上次的回答", "重新开始"]
    await chat.say("用上次的回答")
    profile = {"employment": "employed", "groups": [], "reached_retirement_age": False}
    assert_result_matches(await details(chat), profile, TODAY)
    await chat.say("我能参加补贴培训吗")
    await chat.say("重新开始")
    assert asks(chat, "employment") and await answers_of(services, chat) == {}


async def test_result_buttons_lead_to_documents_and_classes(chat: ChatDriver, services: Services) -> None:
    async with services.db.session() as db:
        await add_class(
            db,
            occupation="育婴员",
            region_code="220102",
            start=TODAY + timedelta(days=7),
            end=TODAY + timedelta(days=40),
        )
    await chat.say("我能参加补贴培训吗")
    await chat.say("在企业上班")
    await chat.say("都没有")
    await chat.say("还没到")
    await chat.say("需要什么材料")
    assert "劳动合同复印件或社保证明" in chat.text and "第十六条" in chat.text
    await chat.say("找培训班")
    assert "育婴员(五级)培训班" in chat.text


async def test_identity_is_judged_at_the_end_of_the_trainees_class(
    chat: ChatDriver, services: Services, settings: Settings
) -> None:
    """第十二条: identity counts as it is when the class ends, here in January of next year."""
    end = date(2027, 1, 8)
    await chat.say("你好")
    user = await chat_user(services, chat)
    async with services.db.session() as db:
        klass = await add_class(
            db, occupation="电工", region_code="220102", start=TODAY, end=end, status="running"
        )
        trainee = Trainee(
            name="孙磊",
            id_card_hash=hash_id_card("220204200112020011", settings.secret_key.encode()),
            id_card_masked="220204********0011",
            region_code="220204",
        )
        db.add(trainee)
        await db.flush()
        db.add(Enrollment(class_id=klass.id, trainee_id=trainee.id))
        row = (await db.execute(select(ChatUser).where(ChatUser.id == user.id))).scalar_one()
        row.trainee_id = trainee.id
    await chat.say("我能参加补贴培训吗")
    await chat.say("没工作")
    await chat.say("高校毕业生（含中职、技校）")
    await chat.say("没有了")
    await chat.say("今年")
    # Judged today, this year's graduate counts whatever happens; judged at the class
    # end (next year) only if still without a job, so that is asked.
    assert asks(chat, "employed_since_graduation")
    await chat.say("一直没有")
    await chat.say("没到")
    await chat.say("是第一次")
    profile = {
        "employment": "unemployed",
        "groups": ["college_graduate"],
        "graduation_year": TODAY.year,
        "employed_since_graduation": False,
        "reached_retirement_age": False,
        "first_evaluation_this_year": True,
    }
    assert await answers_of(services, chat) == profile
    assert_result_matches(await details(chat), profile, end)
    assert "您所在的培训班2027年1月8日结束" in chat.text


async def test_back_after_the_result_reopens_the_last_question(chat: ChatDriver, services: Services) -> None:
    await chat.say("我能参加补贴培训吗")
    await chat.say("在企业上班")
    await chat.say("都没有")
    await chat.say("还没到")
    assert MESSAGES["result"]["header"]["true"] in chat.text
    await chat.say("上一步")
    assert asks(chat, "reached_retirement_age")
    await chat.say("到了")
    profile = {"employment": "employed", "groups": [], "reached_retirement_age": True}
    assert await answers_of(services, chat) == profile
    # Past retirement age the enterprise-employee route ends (第十二条), and no key group applies.
    assert_result_matches(await details(chat), profile, TODAY)
    assert MESSAGES["result"]["header"]["false"] in chat.text
