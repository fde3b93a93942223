"""Entities per the contract, resolved against a fixed day (Saturday 2026-11-21)."""

from __future__ import annotations

import itertools

import pytest

from nlu import NLU
from nlu.ids import IdCardCheck, check_id_card

from .conftest import TODAY


def values(nlu: NLU, text: str, type_: str) -> list[object]:
    return [e.value for e in nlu.extract_entities(text, TODAY) if e.type == type_]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("明天上课吗", "2026-11-22"),
        ("后天", "2026-11-23"),
        ("大后天交材料", "2026-11-24"),
        ("昨天的课", "2026-11-20"),
        ("明儿个几点", "2026-11-22"),
        ("下周一开班", "2026-11-23"),
        ("下星期三", "2026-11-25"),
        ("这周五的课", "2026-11-20"),
        ("上周二", "2026-11-10"),
        ("周五考试", "2026-11-27"),
        ("礼拜天上课不", "2026-11-22"),
        ("三天后", "2026-11-24"),
        ("3月5号开课", "2027-03-05"),
        ("11月3日", "2026-11-03"),
        ("1月5号", "2027-01-05"),
        ("十二月二十五号", "2026-12-25"),
        ("2026年12月25日", "2026-12-25"),
        ("二〇二六年十二月二十五日", "2026-12-25"),
        ("2026-12-25", "2026-12-25"),
        ("２０２６/１２/２５", "2026-12-25"),
        ("下个月5号", "2026-12-05"),
        ("5号交", "2026-12-05"),
        ("明年3月1号", "2027-03-01"),
    ],
)
def test_dates(nlu: NLU, text: str, expected: str) -> None:
    assert values(nlu, text, "date") == [expected]


@pytest.mark.parametrize("text", ["在5号楼上课", "坐1号线", "2月30日", "13月5号", "一起去"])
def test_not_dates(nlu: NLU, text: str) -> None:
    assert values(nlu, text, "date") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("早上七点半提醒我", "07:30"),
        ("晚上8点", "20:00"),
        ("下午三点一刻", "15:15"),
        ("8:30", "08:30"),
        ("中午1点", "13:00"),
    ],
)
def test_times(nlu: NLU, text: str, expected: str) -> None:
    assert values(nlu, text, "time") == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我今年三十五", [35]),
        ("我35岁", [35]),
        ("出勤百分之八十", [0.8]),
        ("出勤八成", [0.8]),
        ("八成五", [0.85]),
        ("80%", [0.8]),
        ("８０％", [0.8]),
        ("1.5万", [15000]),
        ("两千块", [2000]),
        ("三点五个小时", [3.5]),
        ("缺了两天课", [2]),
        ("考了八十分", [80]),
        ("三", [3]),
        ("等一下", []),
        ("十分感谢", []),
        ("一起去吧", []),
        ("第三节课", []),
        ("我八成去不了", []),
        ("两后生", []),
    ],
)
def test_numbers(nlu: NLU, text: str, expected: list[object]) -> None:
    assert values(nlu, text, "number") == expected


def test_valid_id_card_is_an_entity_with_upper_case_x(nlu: NLU) -> None:
    ents = nlu.extract_entities("身份证11010519491231002x", TODAY)
    assert [(e.type, e.value, e.text) for e in ents] == [
        ("id_card", "11010519491231002X", "11010519491231002x")
    ]


def test_id_card_typed_with_spaces(nlu: NLU) -> None:
    assert values(nlu, "号码是 110105 19491231 002X", "id_card") == ["11010519491231002X"]


def test_wrong_check_digit_is_not_an_entity_and_is_reported(nlu: NLU) -> None:
    text = "我的身份证是110105194912310021"
    assert values(nlu, text, "id_card") == []
    assert values(nlu, text, "number") == [] and values(nlu, text, "phone") == []
    assert nlu.id_card_issue(text) is IdCardCheck.BAD_CHECK_DIGIT
    assert nlu.id_card_issue("身份证110105491231002") is IdCardCheck.WRONG_LENGTH
    assert nlu.id_card_issue("身份证11010519491231002X") is None
    assert nlu.id_card_issue("没有号码") is None


@pytest.mark.parametrize(
    ("number", "verdict"),
    [
        ("11010519491231002X", IdCardCheck.VALID),
        ("220102199003074516", IdCardCheck.VALID),
        ("220102199003074517", IdCardCheck.BAD_CHECK_DIGIT),
        ("220102199002304516", IdCardCheck.BAD_BIRTH_DATE),
        ("22010219900307451", IdCardCheck.WRONG_LENGTH),
    ],
)
def test_gb11643_check(number: str, verdict: IdCardCheck) -> None:
    assert check_id_card(number) is verdict


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("电话13812345678", ["13812345678"]),
        ("+86 138-1234-5678", ["13812345678"]),
        ("138 1234 5678", ["13812345678"]),
        ("12345678901", []),
        ("座机043188886666", []),
    ],
)
def test_phones(nlu: NLU, text: str, expected: list[str]) -> None:
    assert values(nlu, text, "phone") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我是退伍的", ["veteran"]),
        ("退役军人", ["veteran"]),
        ("当过兵", ["veteran"]),
        ("我家是贫困户", ["poverty_alleviated"]),
        ("脱贫户", ["poverty_alleviated"]),
        ("我是农民工", ["rural_migrant"]),
        ("一直外出打工", ["rural_migrant"]),
        ("两后生", ["two_after"]),
        ("我是低保户，也有残疾证", ["urban_dibao", "disabled"]),
        ("我不是退伍军人", []),
        ("没当过兵", []),
        ("不知道算不算低保户", []),
        ("我不是退伍的，是残疾人", ["disabled"]),
    ],
)
def test_groups(nlu: NLU, text: str, expected: list[str]) -> None:
    assert values(nlu, text, "group") == expected


def test_offsets_point_into_the_original_text(nlu: NLU) -> None:
    text = "我叫李华，手机１３８１２３４５６７８，明天下午３点到，出勤百分之八十，我是退伍的"
    ents = nlu.extract_entities(text, TODAY)
    assert {e.type for e in ents} == {"phone", "date", "time", "number", "group"}
    for e in ents:
        assert text[e.start : e.end] == e.text
    spans = sorted((e.start, e.end) for e in ents)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))


def test_parse_carries_entities_in_contract_shape(nlu: NLU) -> None:
    body = nlu.parse("3月5号的课在哪上", today=TODAY).to_dict()
    assert body["intent"] == "class_info"
    assert body["entities"] == [
        {"type": "date", "value": "2027-03-05", "text": "3月5号", "start": 0, "end": 4}
    ]
    assert 0.0 <= body["confidence"] <= 1.0
