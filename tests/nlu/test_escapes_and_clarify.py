"""Escapes said inside a sentence, in and out of a flow, and the one-meaning
clarifying question, through the real engine (the `chat` fixture)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from models import ChatUser, ConversationState
from nlu import NLU
from nlu.types import Parse
from tests.conftest import ChatDriver

HANDOFF = "转人工"  # every hand-over answer names it (config/messages/handover.yaml)
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


# Messages that are likely to leave the model with one plausible meaning; the
# test takes the first the loaded model is unsure of, so it follows the model.
ONE_MEANING_CANDIDATES = ("那个签", "我那个", "钱那个", "投", "举", "签那个", "那个钱")


async def test_engine_asks_about_one_likely_meaning(chat: ChatDriver, services: Any) -> None:
    nlu = services.nlu
    found = [(t, c) for t in ONE_MEANING_CANDIDATES if (c := nlu.clarify(nlu.parse(t))) and len(c) == 1]
    assert found, "none of the candidates leaves the model with one likely meaning"
    text, (intent,) = found[0]
    await chat.say(text)
    assert chat.text == f"您是想{nlu.labels[intent]}吗？"
    assert chat.choices == ["是的", "不是"]


async def _asked_about_check_in(chat: ChatDriver, services: Any) -> None:
    """Put the user where the bot has just asked "您是想今天签到吗？"."""
    await chat.say("你好")
    async with services.db.session() as db:
        user = (await db.execute(select(ChatUser).where(ChatUser.external_id == chat.user_id))).scalar_one()
        state = await db.get(ConversationState, user.id)
        assert state is not None
        state.flow, state.step = "clarify", None
        state.data = {
            "question": "您是想今天签到吗？",
            "labels": ["是的", "不是"],
            "options": {"是的": "check_in"},
            "yes": "check_in",
        }
        state.last_choices = ["是的", "不是"]


@pytest.mark.parametrize("answer", ["嗯呐", "👌", "对头", "是的"])
async def test_one_meaning_clarify_then_yes(chat: ChatDriver, services: Any, answer: str) -> None:
    await _asked_about_check_in(chat, services)
    await chat.say(answer)
    assert "绑定" in chat.text  # the check-in ran: an unbound user is asked to bind first


@pytest.mark.parametrize("answer", ["不是", "木有", "👎"])
async def test_one_meaning_clarify_then_no(chat: ChatDriver, services: Any, answer: str) -> None:
    await _asked_about_check_in(chat, services)
    await chat.say(answer)
    assert "您想办什么" in chat.text
    assert chat.choices  # the menu, not a guess


async def test_one_meaning_clarify_then_something_else(chat: ChatDriver, services: Any) -> None:
    await _asked_about_check_in(chat, services)
    await chat.say("我想查一下补贴到账没有")
    assert "绑定" in chat.text or "补贴" in chat.text
    assert "您想办什么" not in chat.text
