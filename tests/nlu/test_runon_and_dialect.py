"""Issue 14, fourth round: voice messages without punctuation, more 东北话, hello-and-who-I-am,
pinyin short answers, and other services that look like ours. Each case is what a trainee
would notice: the bot answering the question asked, not the facts around it."""

from __future__ import annotations

import pytest

from nlu import NLU
from nlu.normalize import Normalizer


@pytest.fixture(scope="module")
def normalizer() -> Normalizer:
    return Normalizer.load()


# ---------------------------------------------------------- voice run-ons
@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # facts first, no punctuation, the question last
        ("我在舒兰打零工家里还有两个孩子上学现在想问一下学完了补贴给多少", "subsidy_info"),
        ("我之前在饭店后厨干了好几年现在饭店关门了那我想学个面点去哪报名", "find_training"),
        ("我前天去上课了昨天也去了但是不知道系统里记没记上我一共上了几天", "attendance_query"),
    ],
)
def test_unpunctuated_voice_message_is_read_by_its_question(nlu: NLU, text: str, intent: str) -> None:
    assert nlu.parse(text).intent == intent


def test_a_sure_whole_message_is_not_overruled_by_its_last_words(nlu: NLU) -> None:
    # "…可是我不会弄" alone is a plea for help; the whole message is about checking in.
    assert nlu.parse("今天到了学校老师叫我们用手机签到可是我不会弄").intent == "check_in"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("你好，我是舒兰市的学员", "greet"),
        ("喂您好 我是焊工班的", "greet"),
        ("你好，我是焊工班的，明天几点上课", "class_info"),
        ("您好，我是低保户，能报名吗", "check_eligibility"),
    ],
)
def test_hello_and_who_i_am_is_a_greeting_until_something_is_asked(nlu: NLU, text: str, intent: str) -> None:
    assert nlu.parse(text).intent == intent


# ----------------------------------------------------------------- 东北话
@pytest.mark.parametrize(
    ("text", "reading"),
    [
        ("教室埋汰", "教室脏"),
        ("多咱开课", "什么时候开课"),
        ("上课前喊我一声", "上课前提醒我"),
        ("这块儿有班没", "这里有班没"),
        ("俺家丫头想学", "我家女儿想学"),
        ("有教电焊的不", "有教电焊的吗"),
    ],
)
def test_dialect_words_are_read_in_plain_chinese(normalizer: Normalizer, text: str, reading: str) -> None:
    assert normalizer.normalize(text) == reading


def test_words_with_a_dialect_look_alike_inside_are_kept(normalizer: Normalizer) -> None:
    # 必须 is "must" inside a sentence and "of course" only on its own.
    assert normalizer.normalize("那必须的") == "当然"
    assert "必须" in normalizer.normalize("必须的材料有哪些")
    assert "女儿" in normalizer.normalize("我女儿想学")


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("那个培训学校贼埋汰", "complaint"),
        ("多咱能开班啊", "class_info"),
        ("到时候喊我一声呗", "reminder_settings"),
    ],
)
def test_dialect_messages_get_their_intent(nlu: NLU, text: str, intent: str) -> None:
    assert nlu.parse(text).intent == intent


# ------------------------------------------------------- pinyin and typos
@pytest.mark.parametrize(("text", "intent"), [("bu dui", "deny"), ("budui", "deny"), ("shi de", "affirm")])
def test_short_pinyin_answers_are_answers(nlu: NLU, text: str, intent: str) -> None:
    assert nlu.parse(text).intent == intent


def test_a_typo_repair_never_breaks_a_word_typed_right(nlu: NLU) -> None:
    # 咋绑 sounds like 咋办, but 绑定 is a word: the message is about binding, not "what to do".
    spelling = nlu.understanding.spelling
    assert "绑定" in spelling.correct("咋绑定身份证")
    assert nlu.parse("身份证咋绑定 俺不会弄").intent == "bind_identity"


# ------------------------------------------------------ other public services
@pytest.mark.parametrize("text", ["我闺女的社保能转回吉林吗", "公积金能取出来吗", "电费在网上怎么交"])
def test_other_services_are_out_of_scope(nlu: NLU, text: str) -> None:
    assert nlu.parse(text).intent == "out_of_scope"


def test_a_trainees_travel_costs_are_a_subsidy_question(nlu: NLU) -> None:
    # 生活费补贴 includes 交通费 (第十四条): not an employer's travel allowance.
    assert nlu.parse("培训期间交通补贴能给吗").intent == "subsidy_info"


def test_a_zero_employment_household_is_a_fact_not_a_complaint(nlu: NLU) -> None:
    assert nlu.parse("家里没人上班，是零就业家庭").intent != "complaint"
