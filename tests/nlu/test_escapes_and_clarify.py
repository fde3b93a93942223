"""Escapes said inside a sentence, in and out of a flow, and the one-meaning
clarifying question, through the real engine (the `chat` fixture)."""

from __future__ import annotations

import pytest

from nlu import NLU
from nlu.types import Parse
from tests.conftest import ChatDriver

HANDOFF = "转接人工"
CANCELLED = "已取消"


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("算了，帮我找个工作人员吧", "human_agent"),
        ("你这说不明白，我想跟真人聊聊", "human_agent"),
        ("能不能麻烦帮我转一下人工", "human_agent"),
        ("哎呀太麻烦了我不弄了", "cancel"),
        ("拉倒吧，俺不整了", "cancel"),
        ("先不办了，以后再说", "cancel"),
        ("给我看看菜单", "help"),
        ("找人工太慢了，算了不办了", "cancel"),  # the last request wins
    ],
)
def test_escapes_inside_sentences(nlu: NLU, text: str, command: str) -> None:
    assert nlu.global_command(text) == command
    assert nlu.parse(text).intent == command


@pytest.mark.parametrize(
    "text",
    [
        "不办了能退钱吗？",  # a question about stopping
        "我想取消签到提醒",  # 取消 of something else
        "机构说不办了就不退钱，我们要求退费",  # someone else stopped
        "工作人员什么时候审核",
        "我没有工作人员证",
        "不做了",  # "I quit that job" is an answer, not a stop
    ],
)
def test_look_alikes_are_not_escapes(nlu: NLU, text: str) -> None:
    assert nlu.global_command(text) is None


def test_one_likely_meaning_is_asked_as_yes_no(nlu: NLU) -> None:
    unsure = Parse("out_of_scope", 0.3, (), (("out_of_scope", 0.3), ("check_in", 0.45), ("cancel", 0.05)))
    assert nlu.clarify(unsure) == ("check_in",)
    question, choices = nlu.clarify_question(unsure) or ("", [])
    assert question == "您是想今天签到吗？"
    assert choices == ["是的", "不是"]
    # Two close meanings still get both; nothing likely gets no question.
    two = Parse("out_of_scope", 0.3, (), (("out_of_scope", 0.3), ("check_in", 0.35), ("cancel", 0.3)))
    assert nlu.clarify(two) == ("check_in", "cancel")
    nothing = Parse("out_of_scope", 0.8, (), (("out_of_scope", 0.8), ("check_in", 0.1), ("cancel", 0.05)))
    assert nlu.clarify(nothing) is None


# ------------------------------------------------------------ in the engine
async def test_request_for_a_person_inside_a_flow(chat: ChatDriver) -> None:
    await chat.say("我能参加补贴培训吗")
    first_question = chat.text
    assert "？" in first_question
    await chat.say("算了，帮我找个工作人员吧")
    assert HANDOFF in chat.text
    assert first_question not in chat.text


async def test_stop_inside_a_flow_in_a_sentence(chat: ChatDriver) -> None:
    await chat.say("我能参加补贴培训吗")
    await chat.say("哎呀太麻烦了，我不弄了")
    assert CANCELLED in chat.text
    # The flow is over: a yes now is not an answer to its question.
    await chat.say("你好")
    assert "您好" in chat.text


async def test_menu_inside_a_flow_in_a_sentence(chat: ChatDriver) -> None:
    await chat.say("我能参加补贴培训吗")
    await chat.say("先别问了，给我看看菜单")
    assert "请选择您要办的事" in chat.text


async def test_request_for_a_person_outside_a_flow(chat: ChatDriver) -> None:
    await chat.say("你这个机器人说不明白，我还是想找个人工客服")
    assert HANDOFF in chat.text


async def test_one_meaning_clarify_then_yes(chat: ChatDriver) -> None:
    await chat.say("那个签")
    assert chat.text == "您是想今天签到吗？"
    assert chat.choices == ["是的", "不是"]
    await chat.say("嗯呐")
    assert "绑定" in chat.text  # the check-in ran: an unbound user is asked to bind first


async def test_one_meaning_clarify_then_no(chat: ChatDriver) -> None:
    await chat.say("那个签")
    await chat.say("不是")
    assert "您想办什么" in chat.text
    assert chat.choices  # the menu, not a guess


async def test_one_meaning_clarify_then_emoji(chat: ChatDriver) -> None:
    await chat.say("那个签")
    await chat.say("👌")
    assert "绑定" in chat.text
