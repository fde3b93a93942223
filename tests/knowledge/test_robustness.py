"""Unseen wording, class by class: the ways people ask that no phrasing of an entry spells out.

Each table is one class of failure found on a spent held-out list (the
sentences here are new, written from the Measures): shares written as 八成
or 百分之七十五, spoken words for the Measures' words (掏钱, 帮我申请, 几个人,
从哪出), filler words (到底, 啥意思), the key fact in the Measures' own words,
an article of the Measures before an action-plan section that mentions it,
and questions the Measures do not answer, which must get no article at all.
"""

from __future__ import annotations

import pytest

from nlu import NLU

SHARES = [
    ("出勤率百分之七十五有补贴吗", "第十五条", "70%"),
    ("出勤九成半能拿全额补贴吗", "第十五条", "90%"),
    ("出勤才六成能参加结业考核吗", "第十四条（四）", "70%"),
    ("抽查比例是百分之几", "第十九条（一）", "30%"),
]

SPOKEN = [
    ("拿合格证书得自己掏钱不", "第十四条（四）", "免费"),
    # the 时候 of a when-question once matched 整改的时候 (第三十条); 给钱 is one word for 补贴
    ("啥时候给钱", "第十七条", "12个工作日"),
    ("缺课多了还发钱吗", "第十五条", "70%以上"),
    ("培训学校能帮我申请补贴不", "第十六条", "代为申请"),
    ("线下一个班能招几个学员", "第十四条（一）", "60人"),
    ("培训补贴的钱从哪来的", "第二条", "就业补助资金"),
    ("结业考试都考些啥", "第十四条（四）", "理论和实操"),
    ("坐车的车钱能报销不", "第二条", "交通费"),
    ("培训到一半找到工作了还给补贴吗", "第十二条", "结束"),
]

FILLERS = [
    ("结业考核到底是啥意思", "第十四条（四）", "结业考核"),
    ("请问两后生是什么意思", "第十二条（二）", "初、高中毕业生"),
]

VERBATIM = [
    ("学员没录进实名制系统给补贴吗", "第十四条", "不予补贴"),
    ("离校两年还没工作的大学生算重点群体吗", "第十二条（二）", "离校两年未就业"),
    ("结业时身份不符合条件还有补贴吗", "第十二条", "不得享受"),
]

ARTICLE_FIRST = [
    ("退伍的能参加补贴培训不", "第十二条（二）", "退役军人"),
]


@pytest.mark.parametrize(
    ("question", "article", "fact"), [*SHARES, *SPOKEN, *FILLERS, *VERBATIM, *ARTICLE_FIRST]
)
def test_unseen_wording_gets_the_article_and_the_fact(
    nlu_model: NLU, question: str, article: str, fact: str
) -> None:
    answer = nlu_model.answer_question(question)
    assert answer is not None, question
    assert answer.article == article, (question, answer.entry_id, answer.article)
    assert fact in answer.text, (question, answer.text)


# Nothing in the Measures says any of this: an article would be a guess.
NOT_IN_THE_MEASURES = [
    "培训期间包吃住吗",
    "补贴要交个人所得税吗",
    "学费能分期吗",
    "考试不及格能补考吗",
    "证书全国通用吗",
    "外国人能参加吗",
    "培训完给推荐工作吗",
    "失业金怎么领",
    "孩子上学有补贴吗",
    "请假要写假条吗",
]


@pytest.mark.parametrize("question", NOT_IN_THE_MEASURES)
def test_a_question_the_measures_do_not_answer_gets_no_article(nlu_model: NLU, question: str) -> None:
    answer = nlu_model.answer_question(question)
    assert answer is None, (question, answer and answer.entry_id)
