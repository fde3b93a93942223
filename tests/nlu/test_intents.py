"""Intents as a trainee would notice them: the bot understands what they meant."""

from __future__ import annotations

import pytest

from nlu import MAX_TEXT, NLU, TextTooLong
from nlu.config import DEFAULT_CONFIG_DIR, INTENTS, load_examples

# Phrasings written for these tests: in neither train.yaml nor heldout.yaml.
UNSEEN = [
    ("你好呀，有人回复吗", "greet"),
    ("谢谢你们帮忙啦", "thanks"),
    ("这个号都能办什么事", "help"),
    ("我是退役军人，想学技术，有资格吗", "check_eligibility"),
    ("俺家是贫困户，俺能不能报名学个手艺", "check_eligibility"),
    ("出勤率要达到多少才给全额补贴", "subsidy_info"),
    ("生活费补贴一共能给多少", "subsidy_info"),
    ("去报名的时候要带啥证件", "documents_needed"),
    ("想学厨师，长春哪有定点学校", "find_training"),
    ("明天上午的课在几楼上", "class_info"),
    ("我们老师明天来不来上课", "class_info"),
    ("我已经到教室了，签个到吧", "check_in"),
    ("查查我现在出勤率是多少", "attendance_query"),
    ("我补贴审核过了没有，啥时候到账", "claim_status"),
    ("结业俩月了钱咋还没打过来", "claim_status"),
    ("帮我把身份证绑定上", "bind_identity"),
    ("每天早上七点提醒我签到", "reminder_settings"),
    ("以后别再给我发提醒了", "reminder_settings"),
    ("培训学校收了我们三百块钱，我要举报", "complaint"),
    ("机构让我们光签到不上课", "complaint"),
    ("我要跟人工客服说话", "human_agent"),
    ("对，是的", "affirm"),
    ("不是不是", "deny"),
    ("不弄了，退出吧", "cancel"),
    ("明天长春下雨不", "out_of_scope"),
    ("红烧排骨怎么做", "out_of_scope"),
]


@pytest.mark.parametrize(("text", "intent"), UNSEEN)
def test_unseen_phrasings(nlu: NLU, text: str, intent: str) -> None:
    assert nlu.parse(text).intent == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("签到", "check_in"),
        ("签到！", "check_in"),
        ("/start", "greet"),
        ("菜单", "help"),
        ("帮助", "help"),
        ("取消", "cancel"),
        ("转人工", "human_agent"),
        ("是", "affirm"),
        ("否", "deny"),
        ("好的", "affirm"),
        (" 取消吧 ", "cancel"),
    ],
)
def test_exact_commands_are_certain(nlu: NLU, text: str, intent: str) -> None:
    p = nlu.parse(text)
    assert (p.intent, p.confidence) == (intent, 1.0)


def test_typos_and_voice_punctuation(nlu: NLU) -> None:
    assert nlu.parse("我，想，签道").intent == "check_in"
    assert nlu.parse("补帖到帐了没").intent == "claim_status"
    assert nlu.parse("我的 出琴率 多少").intent == "attendance_query"


def test_alternatives_are_a_ranked_distribution(nlu: NLU) -> None:
    p = nlu.parse("补贴啥时候能发下来")
    assert len(p.alternatives) == 3
    assert p.alternatives[0] == (p.intent, p.confidence)
    probs = [prob for _, prob in p.alternatives]
    assert probs == sorted(probs, reverse=True)
    assert 0 < sum(probs) <= 1.0 + 1e-9
    assert all(i in INTENTS for i, _ in p.alternatives)


def test_unsure_message_is_not_a_confident_guess(nlu: NLU) -> None:
    p = nlu.parse("那个东西弄了吗")
    assert p.intent == "out_of_scope" or p.confidence < nlu.params.thresholds.clarify_below


def test_clarify_offers_the_two_likeliest(nlu: NLU) -> None:
    from nlu.types import Parse

    unsure = Parse(
        "out_of_scope", 0.2, (), (("out_of_scope", 0.2), ("claim_status", 0.3), ("subsidy_info", 0.25))
    )
    assert nlu.clarify(unsure) == ("claim_status", "subsidy_info")
    question, choices = nlu.clarify_question(unsure) or ("", [])
    assert nlu.labels["claim_status"] in question and nlu.labels["subsidy_info"] in question
    assert nlu.intent_for_label(choices[0]) == "claim_status"
    sure = Parse("claim_status", 0.95, (), (("claim_status", 0.95), ("subsidy_info", 0.03), ("greet", 0.01)))
    assert nlu.clarify(sure) is None
    # A weak runner-up: one likely meaning, asked as a yes/no question (see test_clarify.py).
    weak_second = Parse(
        "claim_status", 0.5, (), (("claim_status", 0.5), ("subsidy_info", 0.05), ("greet", 0.01))
    )
    assert nlu.clarify(weak_second) == ("claim_status",)


def test_global_commands_work_inside_flows(nlu: NLU) -> None:
    assert nlu.global_command("取消") == "cancel"
    assert nlu.global_command("算了不弄了") == "cancel"
    assert nlu.global_command("转人工！") == "human_agent"
    assert nlu.global_command("帮助") == "help"
    # An ordinary answer is the flow's to read.
    assert nlu.global_command("没有") is None
    assert nlu.global_command("2023年毕业的") is None


def test_empty_text_is_out_of_scope_with_zero_confidence(nlu: NLU) -> None:
    for text in ("", "   ", "\n\t", "。。。", "？？"):
        p = nlu.parse(text)
        assert (p.intent, p.confidence, p.entities) == ("out_of_scope", 0.0, ())


def test_too_long_text_is_refused_before_any_work(nlu: NLU) -> None:
    with pytest.raises(TextTooLong) as exc:
        nlu.parse("签" * 20_000)
    assert exc.value.length == 20_000 and exc.value.limit == MAX_TEXT
    with pytest.raises(TextTooLong):
        nlu.answer_question("补贴" * MAX_TEXT)
    with pytest.raises(TextTooLong):
        nlu.extract_entities("1" * (MAX_TEXT + 1))
    assert nlu.parse("我想问补贴的事。" * (MAX_TEXT // 8)).intent in INTENTS  # exactly at the limit is fine


def test_heldout_phrasings_hold_up(nlu: NLU) -> None:
    """Wordings never trained on, through the real parse path."""
    heldout = load_examples(DEFAULT_CONFIG_DIR / "heldout.yaml")
    train = {t for t, _ in load_examples(DEFAULT_CONFIG_DIR / "train.yaml")}
    assert not train & {t for t, _ in heldout}, "held-out phrasings leaked into training"
    right = sum(nlu.parse(text).intent == intent for text, intent in heldout)
    assert right / len(heldout) >= 0.92


def test_training_data_covers_every_contract_intent() -> None:
    examples = load_examples(DEFAULT_CONFIG_DIR / "train.yaml")
    counts = {i: sum(1 for _, j in examples if j == i) for i in INTENTS}
    assert min(counts.values()) >= 40, counts
