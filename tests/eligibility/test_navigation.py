"""上一步-style navigation inside the eligibility flow: 为什么问这个, 继续, after pauses.

These tests run with only exact commands acting globally (`global_threshold`
1.0: 取消, 转人工, 帮助 still interrupt any flow), so they check the flow's own
handling of its commands, whatever the NLU's current calibration says about
the same words. `test_nlu_conflicts.py` tracks where the two disagree.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.clock import FrozenClock
from bot.policy import get_policy
from tests.conftest import ChatDriver

from .helpers import MESSAGES

Q = MESSAGES["questions"]


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"global_threshold": 1.0}


@pytest.mark.parametrize("why", ["为什么问这个", "为啥问这个", "问这个干什么"])
async def test_why_explains_the_question_with_its_article(chat: ChatDriver, why: str) -> None:
    await chat.say("我能参加补贴培训吗")
    await chat.say("没工作")
    await chat.say(why)
    question = get_policy().question("groups")
    assert question.why in chat.text and question.article in chat.text
    assert "吉林省政府补贴职业技能培训工作管理办法" in chat.text
    assert Q["groups"]["ask"] in chat.text and "都没有" in chat.choices
    await chat.say("都没有")  # the question still waits for its answer
    assert MESSAGES["result"]["header"]["false"] in chat.text


@pytest.mark.parametrize("word", ["继续", "继续上次"])
async def test_resumes_after_a_days_pause(chat: ChatDriver, clock: FrozenClock, word: str) -> None:
    await chat.say("我能参加补贴培训吗")
    await chat.say("没工作")
    clock.advance(timedelta(days=1))
    await chat.say(word)
    assert MESSAGES["continue_ack"] in chat.text and Q["groups"]["ask"] in chat.text
    await chat.say("残疾人")
    assert Q["groups"]["more"] in chat.text


async def test_typed_continue_after_a_cancel(chat: ChatDriver) -> None:
    await chat.say("我能参加补贴培训吗")
    await chat.say("没工作")
    await chat.say("取消")
    await chat.say("我能参加补贴培训吗")
    await chat.say("继续上次")
    assert Q["groups"]["ask"] in chat.text


async def test_exact_commands_still_interrupt(chat: ChatDriver) -> None:
    await chat.say("我能参加补贴培训吗")
    await chat.say("转人工")
    assert "人工" in chat.text
