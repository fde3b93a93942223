"""The knowledge base, table-driven: a question → the entry's article and the fact it must say.

The first table uses questions as a trainee or an institution would type
them (many close to an entry's own phrasings: the entry must win); the second
paraphrases them in other words, voice-input punctuation and full-width
digits, so an answer does not hang on one wording.
"""

from __future__ import annotations

import pytest

from nlu import NLU
from nlu.knowledge import KnowledgeBase

KB = KnowledgeBase.load()

CASES = [
    # (question, article the answer cites, a fact it must state)
    ("补贴多久到账", "第十七条", "12个工作日"),
    ("补贴打到哪张卡", "第十七条", "社会保障卡银行账户"),
    ("补贴申请审核要几天", "第十七条", "10个工作日"),
    ("公示期多长", "第十七条", "5个工作日"),
    ("公示会公开我的身份证号吗", "第十七条", "遮挡"),
    ("公示有异议怎么办", "第十七条", "调查"),
    ("补贴标准是多少", "第十八条", "12333"),
    ("一个班最多多少人", "第十四条（一）", "60人"),
    ("开班申请什么时候提交", "第十四条（一）", "5个工作日"),
    ("出勤不到七成能考试吗", "第十四条（四）", "70%"),
    ("培训合格证书要花钱吗", "第十四条（四）", "免费"),
    ("没有录入系统还有补贴吗", "第十四条", "不予补贴"),
    ("涉密单位职工培训怎么录系统", "第十四条", "证明"),
    ("出勤率多少能拿全额补贴", "第十五条", "90%"),
    ("在外地培训有补贴吗", "第十五条（一）", "求职就业地"),
    ("第二次考证还有评价补贴吗", "第十五条（二）", "初次通过"),
    ("生活费补贴谁能领", "第十五条（三）", "两后生"),
    ("交通费报不报", "第二条", "生活费补贴"),
    ("创业培训有补贴吗", "第二条", "创业培训相关规定"),
    ("补贴要我自己申请吗", "第十六条", "代为申请"),
    ("结业后多久申请补贴", "第十六条", "10个工作日"),
    ("评价补贴要什么材料", "第十六条（四）", "税务发票"),
    ("退休了还能参加吗", "第十二条（二）", "养老金"),
    ("两后生是啥意思", "第十二条（二）", "未继续升学"),
    ("培训中途找到工作了还有补贴吗", "第十二条", "结束时"),
    ("劳务派遣人员算不算", "第十二条（一）", "劳务派遣"),
    ("灵活就业是什么意思", "第十三条（二）", "灵活就业"),
    ("证书指的是哪些", "第十三条（一）", "特种作业证书"),
    ("定点机构需要什么条件", "第五条", "师资"),
    ("培训能换地方吗", "第六条", "报备"),
    ("举报人信息保密吗", "第十九条（四）", "保密"),
    ("抽查比例多少", "第十九条（一）", "30%"),
    ("整改期限是多久", "第二十七条", "1个月"),
    ("整改期间能开班吗", "第三十条", "不得"),
    ("网课能挂机吗", "第三十四条", "挂课"),
    ("老师需要什么资格", "第三十五条（二）", "职业资格"),
    ("办法什么时候生效", "第四十二条", "印发之日"),
    ("马兰花计划是什么", "（四）加强创业培训", "马兰花"),
]

PARAPHRASES = [
    ("补贴啥时候能到我卡里", "第十七条"),
    ("补贴，多久，到账？", "第十七条"),
    ("一个班最多能收６０个人吗", "第十四条（一）"),
    ("出勤率不够７０％还让考试不", "第十四条（四）"),
    ("结业证书收费不", "第十四条（四）"),
    ("俺在打工的城市培训给补贴不", "第十五条（一）"),
    ("路费给不给补", "第二条"),
    ("退休的人还让学吗", "第十二条（二）"),
    ("啥叫两后生", "第十二条（二）"),
    ("公示的时候身份证号会全显示出来吗", "第十七条"),
    ("机构让我们帮别人签到算违规吗", "第二十六条（一）"),
    ("网上学习能找人替课吗", "第三十四条"),
]


def test_the_knowledge_base_is_large_enough_and_covers_every_article() -> None:
    assert len(KB) >= 150
    cited = {e.base_article for e in KB.entries if e.source == "measures"}
    # Every article a trainee or an institution can ask about (第三十一、三十二条 are
    # the bureaus' own duties, still answered; only 第一条's citation-free preamble aside).
    missing = {f"第{n}条" for n in _NUMERALS} - cited
    assert missing == set(), missing


_NUMERALS = [
    "一", "二", "三", "四", "五", "六", "七", "八", "九", "十",
    "十一", "十二", "十三", "十四", "十五", "十六", "十七", "十八", "十九", "二十",
    "二十一", "二十二", "二十三", "二十四", "二十五", "二十六", "二十七", "二十八", "二十九", "三十",
    "三十一", "三十二", "三十三", "三十四", "三十五", "三十六", "三十七", "三十八", "三十九", "四十",
    "四十一", "四十二",
]  # fmt: skip


def test_glossary_terms_are_answered() -> None:
    terms = {e.id for e in KB.entries if e.kind == "term"}
    for needed in ("two_after", "term_flexible_employment", "term_hard_to_employ", "term_poverty_labour"):
        assert needed in terms


@pytest.mark.parametrize(("question", "article", "fact"), CASES)
def test_question_gets_the_article_and_the_fact(
    nlu_model: NLU, question: str, article: str, fact: str
) -> None:
    answer = nlu_model.answer_question(question)
    assert answer is not None, question
    assert answer.article == article, (question, answer.entry_id, answer.article)
    assert fact in answer.text, (question, answer.text)


@pytest.mark.parametrize(("question", "article"), PARAPHRASES)
def test_paraphrase_gets_the_same_article(nlu_model: NLU, question: str, article: str) -> None:
    answer = nlu_model.answer_question(question)
    assert answer is not None, question
    assert answer.article == article, (question, answer.entry_id, answer.article)


def test_amount_questions_never_get_an_amount(nlu_model: NLU) -> None:
    for q in ("评价补贴多少钱", "生活费补贴一天多少钱", "培训补贴能给多少"):
        answer = nlu_model.answer_question(q)
        assert answer is not None and answer.article == "第十八条", q
        assert "12333" in answer.text


def test_the_heldout_questions_are_not_among_the_phrasings() -> None:
    from bot.config_file import load_yaml
    from nlu.evaluate_rules import HELDOUT, RuleQuestionFile
    from nlu.text import compact

    phrasings = {compact(p) for e in KB.entries for p in (*e.ask, *e.keywords)}
    leaked = [q.q for q in load_yaml(RuleQuestionFile, HELDOUT).questions if compact(q.q) in phrasings]
    assert leaked == []
