"""Facts said in passing: taken, confirmed in one line, never asked again; negations read right."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from bot.identity import hash_id_card
from bot.services import Services
from bot.settings import Settings
from models import ChatUser, Trainee
from tests.conftest import ChatDriver

from .helpers import MESSAGES, answers_of, chat_user

TODAY = date(2026, 11, 23)
Q = MESSAGES["questions"]
RESULT = MESSAGES["result"]


def asks(chat: ChatDriver, field: str) -> bool:
    return Q[field]["ask"] in chat.text


async def test_an_opening_full_of_facts_starts_the_screening_with_them(
    chat: ChatDriver, services: Services
) -> None:
    await chat.say("俺闺女十六，中考完没再上学，家是农村的")
    assert MESSAGES["intro"] in chat.text
    assert "记下了：16岁，女，农村户口" in chat.text
    assert asks(chat, "employment")
    await chat.say("在家待着呢")
    # A 16-year-old has not reached retirement age, and with 两后生 + 农村户口 no other
    # group could change anything: neither question is asked.
    assert not asks(chat, "reached_retirement_age") and Q["groups"]["more"] not in chat.text
    assert asks(chat, "first_evaluation_this_year")
    await chat.say("没考过")
    assert RESULT["header"]["true"] in chat.text
    answers = await answers_of(services, chat)
    assert answers["groups"] == ["two_after"] and answers["household"] == "rural"
    assert answers["reached_retirement_age"] is False


async def test_a_rhetorical_no_at_the_pension_question_is_no(chat: ChatDriver, services: Services) -> None:
    await chat.say("我能参加补贴培训吗")
    await chat.say("打零工")
    await chat.say("农民工")
    await chat.say("没了")
    await chat.say("早过了")
    assert asks(chat, "receives_pension")
    await chat.say("哪有退休金啊")
    assert (await answers_of(services, chat))["receives_pension"] is False
    assert asks(chat, "ability_assessed")
    await chat.say("还没做呢")
    assert "按月领取城镇职工基本养老金" not in chat.text  # not the pension reason
    await chat.say(RESULT["details_label"])
    assert "就业能力评估" in chat.text and "按月领取城镇职工基本养老金，不能" not in chat.text


async def test_an_age_answers_the_retirement_question(chat: ChatDriver, services: Services) -> None:
    await chat.say("我能参加补贴培训吗")
    await chat.say("在企业上班")
    await chat.say("都没有")
    assert asks(chat, "reached_retirement_age")
    await chat.say("我才二十出头")
    assert MESSAGES["reask"] not in chat.text
    assert (await answers_of(services, chat))["reached_retirement_age"] is False
    assert RESULT["header"]["true"] in chat.text


async def test_in_the_band_sex_is_asked_once_and_settles_it(chat: ChatDriver, services: Services) -> None:
    await chat.say("我能参加补贴培训吗")
    await chat.say("在企业上班")
    await chat.say("都没有")
    await chat.say("五十八了")
    assert MESSAGES["sex_question"]["ask"] in chat.text and chat.choices == ["男", "女"]
    await chat.say("男的")
    # A man of 58 has not reached 60-and-some-months.
    assert (await answers_of(services, chat))["reached_retirement_age"] is False
    assert RESULT["header"]["true"] in chat.text


async def test_a_bound_trainee_is_not_asked_the_sex(
    chat: ChatDriver, services: Services, settings: Settings
) -> None:
    await chat.say("你好")
    user = await chat_user(services, chat)
    async with services.db.session() as db:
        # The masked number keeps the last four digits; the 17th (here 3) is odd: a man.
        trainee = Trainee(
            name="李强",
            id_card_hash=hash_id_card("220204196811020031", settings.secret_key.encode()),
            id_card_masked="220204********0031",
            region_code="220204",
        )
        db.add(trainee)
        await db.flush()
        row = (await db.execute(select(ChatUser).where(ChatUser.id == user.id))).scalar_one()
        row.trainee_id = trainee.id
    await chat.say("我能参加补贴培训吗")
    await chat.say("在企业上班")
    await chat.say("都没有")
    await chat.say("五十八了")
    assert MESSAGES["sex_question"]["ask"] not in chat.text
    assert (await answers_of(services, chat))["reached_retirement_age"] is False


async def test_a_correction_in_the_middle_replaces_the_fact(chat: ChatDriver, services: Services) -> None:
    await chat.say("俺闺女十六，中考完没再上学，家是农村的")
    assert (await answers_of(services, chat))["household"] == "rural"
    await chat.say("说错了，我们是城里户口")
    assert "记下了：城镇户口" in chat.text and MESSAGES["reask"] not in chat.text
    assert asks(chat, "employment")  # the question it was at, asked again
    assert (await answers_of(services, chat))["household"] == "urban"


async def test_a_correction_after_the_result_changes_the_result(chat: ChatDriver, services: Services) -> None:
    await chat.say("我能参加补贴培训吗")
    await chat.say("没工作")
    await chat.say("都不是")
    assert RESULT["header"]["false"] in chat.text
    await chat.say("说错了，我在厂里上班")
    assert "记下了：在企业上班" in chat.text
    await chat.say("没到")
    assert RESULT["header"]["true"] in chat.text
    assert (await answers_of(services, chat))["employment"] == "employed"


async def test_the_verdict_is_short_and_the_reasoning_comes_on_request(chat: ChatDriver) -> None:
    await chat.say("我是退伍兵，三十五岁，现在没工作，今年没考过证")
    assert "记下了：35岁，没工作，今年第一次考证" in chat.text
    await chat.say("没了")
    verdict = next(r["text"] for r in chat.replies if RESULT["header"]["true"] in r["text"])
    assert len(verdict) <= 200
    assert "（第十二条）" in verdict and "第十五条" in verdict
    assert chat.choices[0] == RESULT["details_label"] and len(chat.choices) <= 8
    await chat.say("为什么")
    assert "吉人社规〔2024〕3号" in chat.text and "培训补贴（第十五条（一））：可以申请" in chat.text
    assert len(chat.text) > 200


async def test_facts_answer_the_resume_offer(chat: ChatDriver, services: Services) -> None:
    await chat.say("我能参加补贴培训吗")
    await chat.say("没工作")
    await chat.say("不查了")
    await chat.say("我能参加补贴培训吗")
    assert MESSAGES["resume_offer"] in chat.text
    await chat.say("我是退伍兵")
    assert MESSAGES["reask"] not in chat.text and MESSAGES["offer_reask"] not in chat.text
    assert "退役军人" in chat.text
    answers = await answers_of(services, chat)
    assert answers["employment"] == "unemployed"


async def test_a_question_about_a_term_is_not_taken_for_an_answer(
    chat: ChatDriver, services: Services
) -> None:
    await chat.say("我能参加补贴培训吗")
    await chat.say("没工作")
    assert asks(chat, "groups")
    await chat.say("两后生是啥意思")
    user = await chat_user(services, chat)
    meta = (user.profile or {}).get("eligibility", {})
    assert "groups" not in (await answers_of(services, chat))
    assert "two_after" not in meta.get("pending_groups", [])
    assert Q["groups"]["more"] not in chat.text


async def test_where_the_birth_month_decides_the_question_is_asked_with_its_source(
    chat: ChatDriver, services: Services
) -> None:
    await chat.say("我能参加补贴培训吗")
    await chat.say("在企业上班")
    await chat.say("都没有")
    await chat.say("我六十了")
    await chat.say("男")
    # A man of 60 in 2026 may or may not have reached 60 years and some months.
    assert asks(chat, "reached_retirement_age")
    assert "国务院关于渐进式延迟法定退休年龄的办法第二条" in chat.text
    assert "reached_retirement_age" not in await answers_of(services, chat)
    await chat.say("还差俩月")
    assert RESULT["header"]["true"] in chat.text
    assert (await answers_of(services, chat))["reached_retirement_age"] is False


async def test_a_statement_of_ones_situation_opens_the_screening_not_a_complaint(
    chat: ChatDriver, services: Services
) -> None:
    for text, label in (
        ("家里没人上班，是零就业家庭", "零就业家庭成员"),
        ("我是低保户", "城市低保家庭"),
        ("我们家是脱贫户", "脱贫户"),
        ("我有残疾证", "残疾人"),
    ):
        await chat.say("取消")
        await chat.say(text)
        assert MESSAGES["intro"] in chat.text, text
        assert f"记下了：{label}" in chat.text, (text, chat.text)
        assert "反映" not in chat.text  # neither complaint answer (info.complaint)


async def test_a_grievance_with_a_group_fact_is_still_a_complaint(chat: ChatDriver) -> None:
    await chat.say("我是残疾人，培训机构乱收费，我要投诉")
    assert MESSAGES["intro"] not in chat.text
    assert "反映" in chat.text
