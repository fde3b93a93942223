"""Free answers to each question, the way people write them, and what gets saved.

Each case puts the conversation at one question (as if it had been asked),
sends one answer and reads the saved profile: the value, or "unknown" for
不清楚, or a kind re-ask when the answer says nothing we can use.

Only exact commands act globally here (`global_threshold` 1.0), so the table
checks how the flow reads answers, not how the NLU's intent model happens to
score them today (see `test_nlu_conflicts.py`).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.services import Services
from models import ChatUser, ConversationState
from tests.conftest import ChatDriver

from .helpers import MESSAGES, answers_of, chat_user


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"global_threshold": 1.0}


UNKNOWN = "unknown"  # 不清楚: saved as "asked, not known", never as "no"
REASK = "reask"
MORE = "more"  # a group picked: the multi-select asks whether there are more

CASES: list[tuple[str, str, Any]] = [
    ("employment", "在厂里上班", "employed"),
    ("employment", "劳务派遣的", "employed"),
    ("employment", "没上班", "unemployed"),
    ("employment", "没有", "unemployed"),
    ("employment", "我没在公司上班", "unemployed"),
    ("employment", "不在企业上班了，现在打零工", "flexible"),
    ("employment", "跑外卖", "flexible"),
    ("employment", "还在上学", "student"),
    ("employment", "不太清楚", UNKNOWN),
    ("employment", "有", REASK),
    ("groups", "我是退伍的", MORE),
    ("groups", "退役军人", MORE),
    ("groups", "都不是", []),
    ("groups", "没有", []),
    ("groups", "不知道", UNKNOWN),
    ("graduation_year", "去年毕业的", 2025),
    ("graduation_year", "二零二三年", 2023),
    ("graduation_year", "前年", 2024),
    ("graduation_year", "2019", 2019),
    ("graduation_year", "记不清了", UNKNOWN),
    ("graduation_year", "毕业了", REASK),
    ("employed_since_graduation", "一直没找到", False),
    ("employed_since_graduation", "上过班", True),
    ("household", "农村的", "rural"),
    ("household", "我是城镇户口", "urban"),
    ("household", "村里的", "rural"),
    ("reached_retirement_age", "到了", True),
    ("reached_retirement_age", "还没到", False),
    ("reached_retirement_age", "我还年轻", False),
    ("reached_retirement_age", "是的", True),
    ("receives_pension", "没领", False),
    ("receives_pension", "领着呢", True),
    ("receives_pension", "不知道", UNKNOWN),
    ("ability_assessed", "做过了", True),
    ("ability_assessed", "没有", False),
    ("first_evaluation_this_year", "第一次", True),
    ("first_evaluation_this_year", "今年考过了", False),
    ("first_evaluation_this_year", "嗯", True),
]


async def _at_question(services: Services, chat: ChatDriver, field: str) -> None:
    await chat.say("你好")
    user = await chat_user(services, chat)
    async with services.db.session() as db:
        state = await db.get(ConversationState, user.id)
        assert state is not None
        state.flow, state.step, state.data = "eligibility", field, {}
        state.last_choices = []


@pytest.mark.parametrize(("field", "text", "expected"), CASES, ids=[f"{f}:{t}" for f, t, _ in CASES])
async def test_free_answer(
    services: Services, chat: ChatDriver, field: str, text: str, expected: Any
) -> None:
    await _at_question(services, chat, field)
    await chat.say(text)
    answers = await answers_of(services, chat)
    user = await chat_user(services, chat)
    skipped = (user.profile or {}).get("eligibility", {}).get("skipped", [])
    if expected in (REASK, MORE):
        assert field not in answers and field not in skipped
        key = MESSAGES["reask"] if expected == REASK else MESSAGES["questions"]["groups"]["more"]
        assert key in chat.text
    elif expected == UNKNOWN:
        assert field not in answers and field in skipped
    else:
        assert answers[field] == expected


async def test_a_group_in_an_answer_is_kept_and_the_question_asked_again(
    services: Services, chat: ChatDriver
) -> None:
    await _at_question(services, chat, "employment")
    await chat.say("我是退伍的")
    assert "退役军人" in chat.text and MESSAGES["questions"]["employment"]["ask"] in chat.text
    async with services.db.session() as db:
        user = (await db.execute(select(ChatUser).where(ChatUser.external_id == chat.user_id))).scalar_one()
        assert user.profile["eligibility"]["pending_groups"] == ["veteran"]
    await chat.say("没工作")
    assert MESSAGES["questions"]["groups"]["more"] in chat.text
