"""Free rule questions are answered from the knowledge base, cited, or honestly not."""

from __future__ import annotations

import pytest

from nlu import NLU
from nlu.evaluate import evaluate_retrieval


@pytest.mark.parametrize(
    ("question", "article", "must_mention"),
    [
        ("线上培训算不算？", "第三十四条", "线上培训"),
        ("网课刷课可以吗", "第三十四条", "刷课"),
        ("合格证书要交钱吗？", "第十四条（四）", "免费"),
        ("出勤率多少才能拿全额补贴", "第十五条", "90%"),
        ("补贴的钱打到哪张卡", "第十七条", "社会保障卡"),
        ("公示几天", "第十七条", "公示5个工作日"),
        ("退休了还能参加培训吗", "第十二条（二）", "法定退休年龄"),
    ],
)
def test_answered_with_the_article(nlu: NLU, question: str, article: str, must_mention: str) -> None:
    answer = nlu.answer_question(question)
    assert answer is not None
    assert answer.article == article
    assert "吉人社规〔2024〕3号" in answer.source_title
    assert must_mention in answer.text


@pytest.mark.parametrize(
    "question", ["证书丢了怎么办", "今天天气怎么样", "医保怎么报销", "公积金怎么提取", "", "？？"]
)
def test_does_not_pretend_to_know(nlu: NLU, question: str) -> None:
    assert nlu.answer_question(question) is None


def test_action_plan_answers_name_the_plan(nlu: NLU) -> None:
    answer = nlu.answer_question("退役军人有专门的培训吗")
    assert answer is not None and "退役军人" in answer.text
    assert answer.article.startswith("（三）")
    assert "行动计划" in answer.source


def test_an_amount_is_never_given_but_sent_to_the_local_bureau(nlu: NLU) -> None:
    answer = nlu.answer_question("培训补贴一个人给多少钱")
    assert answer is not None
    assert answer.article == "第十八条"
    assert "12333" in answer.text and "当地人社局" in answer.text


def test_retrieval_on_the_development_questions(nlu: NLU) -> None:
    result = evaluate_retrieval(nlu)
    assert result["accuracy"] >= 0.9, result["errors"]
