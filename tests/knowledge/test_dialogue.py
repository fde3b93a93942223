"""Rule questions in the chat: answered whoever asks, bound or not, inside a flow or not.

Tried as a new user would: a general question ("补贴多久到账") is answered
with its article and never met with "bind first"; a question inside a flow is
answered and the flow's question comes back unchanged; a request about one's
own record goes to the personal handler (after the rule, when unbound); a
question is never filed as a complaint and never answered by asking for an
ID number.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from bot.services import Services
from models import AuditEntry, ChatUser, Handover
from tests.attendance import factory
from tests.conftest import ChatDriver

BIND_FIRST = "需要先绑定身份"


async def _bind(services: Services, chat: ChatDriver) -> None:
    """The web user as a bound trainee enrolled in a running class."""
    async with services.db.session() as db:
        inst = await factory.institution(db)
        klass, _ = await factory.training_class(db, inst, start=date(2026, 11, 16), end=date(2026, 12, 11))
        person = await factory.trainee(db)
        await factory.enroll(db, klass, person)
        await factory.chat_user(db, person, chat.user_id)


GENERAL = [
    ("补贴多久到账", "第十七条", "12个工作日"),
    ("补贴打到哪张卡", "第十七条", "社会保障卡"),
    ("一个班最多多少人", "第十四条（一）", "60人"),
    ("出勤不到七成能考试吗", "第十四条（四）", "70%"),
    ("公示有异议怎么办", "第十七条", "调查"),
    ("培训合格证书要花钱吗", "第十四条（四）", "免费"),
    ("公示名单里会不会有我的身份证号", "第十七条", "遮挡"),
    ("机构的整改期限是多久", "第二十七条", "1个月"),
    ("创业培训有补贴吗", "第二条", "创业培训相关规定"),
    ("交通费报不报", "第二条", "交通费"),
    ("培训补贴在哪儿申请", "第十六条", "代为申请"),
]


@pytest.mark.parametrize(("question", "article", "fact"), GENERAL)
async def test_general_question_unbound_is_answered_not_bind_first(
    chat: ChatDriver, question: str, article: str, fact: str
) -> None:
    await chat.say(question)
    assert article in chat.replies[0]["text"] and fact in chat.replies[0]["text"], chat.text
    assert BIND_FIRST not in chat.text
    assert "身份证号码" not in chat.text.replace("公民身份证号码", "") or "遮挡" in chat.text


@pytest.mark.parametrize(("question", "article", "fact"), GENERAL[:5])
async def test_general_question_bound_gets_the_rule_not_the_record(
    services: Services, chat: ChatDriver, question: str, article: str, fact: str
) -> None:
    await _bind(services, chat)
    await chat.say(question)
    assert article in chat.replies[0]["text"] and fact in chat.replies[0]["text"], chat.text


async def test_rule_with_a_personal_side_offers_the_own_record(chat: ChatDriver) -> None:
    await chat.say("补贴多久到账")
    assert "补贴到哪了" in chat.choices


async def test_own_record_unbound_gets_the_rule_then_the_offer_to_bind(chat: ChatDriver) -> None:
    await chat.say("我的补贴什么时候到账")
    assert "第十七条" in chat.replies[0]["text"]
    assert BIND_FIRST in chat.replies[-1]["text"]
    assert "绑定身份" in chat.choices


async def test_where_is_my_subsidy_unbound_gets_the_timeline_then_the_offer_to_bind(chat: ChatDriver) -> None:
    await chat.say("我的补贴到哪了")
    assert "第十七条" in chat.replies[0]["text"] and "12个工作日" in chat.replies[0]["text"]
    assert BIND_FIRST in chat.replies[-1]["text"]


def test_every_personal_rule_names_an_entry() -> None:
    from handlers.rules import routing
    from nlu.knowledge import KnowledgeBase

    kb = KnowledgeBase.load()
    for intent, entry in routing().personal_rule.items():
        assert entry in kb.by_id and kb.by_id[entry].personal == intent


async def test_own_record_bound_goes_to_the_personal_handler(services: Services, chat: ChatDriver) -> None:
    await _bind(services, chat)
    await chat.say("我的补贴什么时候到账")
    assert BIND_FIRST not in chat.text
    assert "（依据《管理办法》第十七条）" not in chat.replies[0]["text"]


@pytest.mark.parametrize(
    ("question", "article", "fact"),
    [
        ("退休了还能参加吗", "第十二条（二）", "养老金"),
        ("残疾人能参加吗", "第十二条（二）", "残疾人"),
        ("在打工的地方参加培训能拿补贴吗", "第十五条（一）", "求职就业地"),
        ("上到一半找到工作了还有补贴吗", "第十二条", "结束时"),
        ("毕业三年了还能报吗", "第十二条（二）", "两年"),
    ],
)
async def test_eligibility_question_gets_the_rule_and_the_offer_to_check(
    chat: ChatDriver, question: str, article: str, fact: str
) -> None:
    await chat.say(question)
    first = chat.replies[0]["text"]
    assert article in first and fact in first, chat.text
    assert "我能参加补贴培训吗" in chat.choices
    # The rule, not the screening: no screening question was asked.
    assert len(chat.replies) == 1


async def test_inside_the_screening_a_question_is_answered_and_the_question_comes_back(
    chat: ChatDriver,
) -> None:
    await chat.say("我能参加补贴培训吗")
    question = chat.replies[-1]["text"]
    choices = chat.choices
    await chat.say("补贴多久到账")
    assert "12个工作日" in chat.replies[0]["text"]
    assert question in chat.replies[-1]["text"]
    assert chat.replies[-1]["choices"] == choices
    # Twice in a row: still the screening's question, not the previous answer.
    await chat.say("一个班最多多少人")
    assert "60人" in chat.replies[0]["text"]
    assert question in chat.replies[-1]["text"]
    # The screening kept its place: answering it moves on.
    await chat.say(choices[0])
    assert question not in chat.replies[-1]["text"]


async def test_inside_binding_a_question_is_not_taken_for_the_answer(chat: ChatDriver) -> None:
    await chat.say("绑定身份")
    question = chat.replies[-1]["text"]
    await chat.say("公示会公开我的身份证号吗")
    assert "遮挡" in chat.replies[0]["text"]
    assert question in chat.replies[-1]["text"]


async def test_a_question_is_never_filed_as_a_complaint(services: Services, chat: ChatDriver) -> None:
    await chat.say("机构的整改期限是多久？收到整改函的机构要多久整改完")
    await chat.say("培训机构让我们代签到，这样算违规吗？")
    async with services.db.session() as db:
        filed = (await db.execute(select(AuditEntry).where(AuditEntry.action == "complaint"))).scalars()
        assert list(filed) == []


async def test_unknown_question_says_so_and_offers_a_person_and_12333(
    services: Services, chat: ChatDriver
) -> None:
    await chat.say("医保怎么报销？")
    assert "12333" in chat.text and "转人工" in chat.choices
    assert "身份证" not in chat.text
    async with services.db.session() as db:
        user = (await db.execute(select(ChatUser).where(ChatUser.external_id == chat.user_id))).scalar_one()
        opened = (await db.execute(select(Handover).where(Handover.chat_user_id == user.id))).all()
        assert opened == []  # offered, not forced


async def test_inside_a_flow_an_unknown_question_is_said_so_and_the_question_comes_back(
    chat: ChatDriver,
) -> None:
    await chat.say("我能参加补贴培训吗")
    question = chat.replies[-1]["text"]
    await chat.say("医保怎么报销？")
    assert "12333" in chat.replies[0]["text"] and "没太明白" not in chat.text
    assert question in chat.replies[-1]["text"]
