"""The flow's own words reach the flow, even where the NLU reads them as a command.

The NLU scores 为什么问这个 as `help` and 继续 as `cancel` with high confidence;
the engine lets only *exact* commands interrupt a flow, so these words are
the flow's to read. Also covers 不知道 and a plain 继续.
"""

from __future__ import annotations

from bot.policy import get_policy
from tests.conftest import ChatDriver

from .helpers import MESSAGES


async def test_why_this_question_reaches_the_flow(chat: ChatDriver) -> None:
    await chat.say("我能参加补贴培训吗")
    await chat.say("没工作")
    await chat.say("为什么问这个")
    assert get_policy().question("groups").why in chat.text


async def test_continue_last_time_reaches_the_flow(chat: ChatDriver) -> None:
    await chat.say("我能参加补贴培训吗")
    await chat.say("没工作")
    await chat.say("取消")
    await chat.say("我能参加补贴培训吗")
    await chat.say("继续上次")
    assert MESSAGES["questions"]["groups"]["ask"] in chat.text
