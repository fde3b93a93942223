"""Every article's facts, asked as people ask them: a question → the article and its own words.

Issue 15 counts an answer right only when it cites the article and states the
fact in the Measures' words (compared after NFKC: the seed writes digits
full-width). These questions are written for this test, none of them an
entry's phrasing, and cover the articles a trainee, an institution or a clerk
asks about beyond 第十二至十七条 too: designation, supervision, violations,
the catalogues. A question naming its article ("第十七条说的啥") is answered
from that article.
"""

from __future__ import annotations

import unicodedata

import pytest

from handlers.rules import is_question
from nlu import NLU
from nlu.articles import article_numeral, mentioned_articles

ARTICLE_FACTS = [
    # (question, the article the answer cites (its start is enough), a fact in the article's words)
    ("搞这个管理办法依据了哪些文件", "第一条", "终身职业技能培训制度"),
    ("职业院校可以开展政府补贴培训吗", "第二条", "职业院校"),
    ("生活费补贴里算不算交通费", "第二条", "含交通费"),
    ("重点群体培训要提高啥", "第三条", "上岗率"),
    ("县人社局在补贴培训里负责什么工作", "第四条", "组织实施"),
    ("民办机构申请定点 上一年年检要评成什么等级", "第五条", "合格等级"),
    ("申请定点的机构场地要符合卫生要求吗", "第五条", "卫生"),
    ("申请定点要不要提交办学资质证明", "第六条", "办学资质证明"),
    ("定点机构想去协议场所以外的地方上课 得先干啥", "第六条", "报备"),
    ("定点机构确认了以后 公示完报哪里", "第七条", "备案"),
    ("定点机构协议书跟哪个部门签", "第八条", "定点培训机构协议书"),
    ("机构违规了 还没发的补贴资金会先压着不拨吗", "第十一条", "暂缓拨付"),
    ("个体工商户的用工算企业职工吗", "第十二条", "个体工商户用工"),
    ("过了退休年龄 又没按月领养老金 还有培训意愿 能参加吗", "第十二条", "确有培训意愿"),
    ("快结业时身份变了 补贴按哪个时候的身份算", "第十二条", "培训班次结束时"),
    ("企业职工取得证书后补贴给谁", "第十三条", "职工个人或企业"),
    ("就业重点群体人员培训面向啥样的人", "第十三条", "灵活就业"),
    ("一期线下班能不能收到六十五个人", "第十四条", "60人"),
    ("人社局审开班申请用几个工作日", "第十四条", "5个工作日"),
    ("培训录的视频要显示什么信息", "第十四条", "日期、时间"),
    ("结业考试的试题要符合什么标准", "第十四条", "国家职业标准"),
    ("定点机构对什么负责", "第十四条", "全过程及真实性负责"),
    ("出勤率七成以上补贴怎么给", "第十五条", "个人出勤率"),
    ("在户籍地以外的求职就业地培训能补吗", "第十五条", "求职就业地"),
    ("技能评价补贴给啥样的人", "第十五条", "初次通过"),
    ("班期结束后机构要在多少个工作日内申请补贴资金", "第十六条", "10个工作日"),
    ("重点群体培训基本身份类证明选几样", "第十六条", "其一"),
    ("公益一类的培训机构申请补贴交什么", "第十六条", "代为申领协议"),
    ("补贴申报材料人社局多少个工作日审完", "第十七条", "10个工作日"),
    ("补贴公示在人社局官方网站上吗", "第十七条", "官方网站"),
    ("公示有异议的话人社局要干啥", "第十七条", "开展调查"),
    ("补贴标准是哪几个部门核拨", "第十八条", "财政部门"),
    ("人社局搞的按比例抽查 班次比例不低于多少", "第十九条", "30%"),
    ("检查培训机构的检查组不能少于几个人", "第十九条", "2人"),
    ("投诉举报的人会被保护吗", "第十九条", "依法保护举报人"),
    ("市县监管培训开展情况包括什么", "第二十条", "招收学员"),
    ("反映集中性质恶劣的投诉省里管吗", "第二十一条", "性质恶劣"),
    ("市里人社局每个月都要给省厅报告培训情况吗", "第二十三条", "每月"),
    ("对违规定点机构可以把问题线索移送有关部门吗", "第二十五条", "移送有关部门"),
    ("申报的授课教师被机构私自换了怎么处理", "第二十六条", "约谈机构负责人"),
    ("一年里机构负责人被约谈了四次会怎样", "第二十七条", "整改函"),
    ("机构在上年度年检中被定为不合格等次会咋样", "第二十八条", "解除政府补贴培训协议"),
    ("培训出了重大安全生产事故 机构会怎样", "第二十八条", "解除政府补贴培训协议"),
    ("县人社局没按规定开展日常检查 省里会咋处理", "第二十九条", "工作约谈"),
    ("整改期间的机构能继续开补贴培训吗", "第三十条", "不得开展政府补贴培训"),
    ("人社局处理了培训机构 要在几个工作日内报省厅", "第三十一条", "5个工作日"),
    ("人社局工作人员玩忽职守怎么处理", "第三十二条", "法律法规"),
    ("定点培训机构目录要写办学性质吗", "第三十三条", "办学性质"),
    ("线上学习能多页面非前端播放课程吗", "第三十四条", "多页面非前端播放课程"),
    ("一个账号能在几个设备上同时登录学习吗", "第三十四条", "多端口登录"),
    ("授课教师没有职称但干了很多年行不行", "第三十五条", "丰富的实践经验"),
    ("企业新型学徒制培训人数按啥统计", "第三十六条", "开班人数"),
    ("对诚信度高的定点机构有什么支持", "第三十八条", "助企政策"),
    ("这个办法谁负责解释", "第四十条", "负责解释"),
    ("管理办法从什么时候开始实行", "第四十二条", "印发之日"),
]


def _says(text: str, fact: str) -> bool:
    return unicodedata.normalize("NFKC", fact) in unicodedata.normalize("NFKC", text)


def _answered_from(nlu_model: NLU, question: str, article: str, fact: str) -> None:
    """The knowledge base answers, from that article, in its own words."""
    answer = nlu_model.answer_question(question)
    assert answer is not None, question
    assert answer.article.startswith(article), (question, answer.entry_id, answer.article)
    assert _says(answer.text, fact), (question, answer.text)


@pytest.mark.parametrize(("question", "article", "fact"), ARTICLE_FACTS)
def test_the_article_and_its_own_words(nlu_model: NLU, question: str, article: str, fact: str) -> None:
    _answered_from(nlu_model, question, article, fact)


@pytest.mark.parametrize(
    ("question", "article", "fact"),
    [
        ("第十七条说的啥", "第十七条", "12个工作日"),
        ("17条讲的是什么", "第十七条", "10个工作日"),
        ("第二十七条里整改函多久要整改完", "第二十七条", "1个月"),
        ("第十四条对每班人数怎么规定的", "第十四条", "60人"),
        ("办法第四十条是啥", "第四十条", "负责解释"),
    ],
)
def test_a_question_naming_its_article_is_answered_from_it(
    nlu_model: NLU, question: str, article: str, fact: str
) -> None:
    _answered_from(nlu_model, question, article, fact)


def test_article_numbers_are_read_as_the_measures_write_them() -> None:
    assert [article_numeral(n) for n in (2, 10, 17, 20, 42)] == ["二", "十", "十七", "二十", "四十二"]
    assert mentioned_articles("第十七条和28条") == ["第十七条", "第二十八条"]
    assert mentioned_articles("有一条规定说的啥") == []


@pytest.mark.parametrize(
    ("question", "article", "fact"),
    [
        # chatty questions with words no entry has: several specific words still match one entry
        ("俺们那个补贴班 报名的人贼多 一个班最多到底能收多少人啊 九十个中不中", "第十四条", "60人"),
        ("咱就是说 机构申请定点的时候 民办学校上一年的年检到底得啥等级", "第五条", "合格等级"),
    ],
)
def test_a_long_chatty_question_is_answered_by_its_specific_words(
    nlu_model: NLU, question: str, article: str, fact: str
) -> None:
    _answered_from(nlu_model, question, article, fact)


@pytest.mark.parametrize(
    "text", ["给小饭馆打工的能参加补贴培训不 我在后厨切菜", "补贴到了没，我等着用钱", "能报名不 我五十多了"]
)
def test_a_question_in_the_first_clause_is_a_question(text: str) -> None:
    assert is_question(text)
