"""Rule questions a domain intent used to take first, and the chat evaluation itself.

Each case is a class of question that reached a handler instead of the rule
(the documents clarification, the subsidy overview, the class search, "bind
first"): the first reply must now carry the article and the fact, for an
unbound user and inside the screening.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers.rules import is_question
from nlu import NLU
from nlu.evaluate_chat import CONTEXTS, evaluate_chat, format_chat_report
from tests.conftest import ChatDriver

PRE_EMPTED = [
    # the documents clarification ("您想查哪种补贴的材料？") took these
    ("机构报补贴资金都得准备啥材料", "第十六条", "花名册"),
    ("交上去的材料人社局几天能审完", "第十七条", "10个工作日"),
    # a spoken question ending in 不 was not taken for a question: the subsidy overview answered
    ("学员没录进实名制系统能给补贴不", "第十四条", "不予补贴"),
    # the class search ("没有找到创业的补贴培训班") took this
    ("学开店创业的课给补贴不", "第二条", "创业培训"),
    # "bind first" took this general question about the institution's deadline
    ("培训结束机构多少天之内得报补贴", "第十六条", "10个工作日"),
]


@pytest.mark.parametrize("in_flow", [False, True], ids=["outside-flow", "in-screening"])
@pytest.mark.parametrize(("question", "article", "fact"), PRE_EMPTED)
async def test_rule_question_is_not_taken_by_a_domain_intent(
    chat: ChatDriver, question: str, article: str, fact: str, in_flow: bool
) -> None:
    if in_flow:
        await chat.say("我能参加补贴培训吗")
    await chat.say(question)
    first = chat.replies[0]["text"]
    assert article in first and fact in first, chat.text
    assert "需要先绑定身份" not in chat.text


@pytest.mark.parametrize(
    ("text", "question"),
    [("没进系统的学员给补贴不", True), ("补贴到了没", True), ("我要投诉这个机构", False), ("好的", False)],
)
def test_spoken_question_endings(text: str, question: bool) -> None:
    assert is_question(text) is question


def test_the_chat_evaluation_counts_only_a_first_reply_with_article_and_fact(
    nlu_model: NLU, tmp_path: Path
) -> None:
    path = tmp_path / "questions.yaml"
    path.write_text(
        "questions:\n"
        "  - {q: 补贴多久到账, article: 第十七条, fact: [12个工作日]}\n"
        "  - {q: 一个班最多多少人, article: 第十四条, fact: [不会出现的事实]}\n",
        encoding="utf-8",
    )
    reports = evaluate_chat(nlu_model, path)
    assert [r.context for r in reports] == list(CONTEXTS)
    for r in reports:
        assert (r.total, r.right) == (2, 1), format_chat_report(reports)
        assert "一个班最多多少人" in r.misses[0]
