"""Free answers inside a flow: yes/no/unsure, groups, numbers, years."""

from __future__ import annotations

import pytest

from nlu.answers import UNRECOGNISED, parse_group, parse_number, parse_year, yes_no

from .conftest import TODAY


@pytest.mark.parametrize(
    "text",
    [
        "是",
        "是的",
        "对",
        "对的呀",
        "嗯",
        "嗯呐",
        "好的",
        "没错",
        "有",
        "有的",
        "可以",
        "当然",
        "是的，我是退伍的",
        "嗯嗯！",
        "YES",
    ],
)
def test_yes(text: str) -> None:
    assert yes_no(text) is True


@pytest.mark.parametrize(
    "text",
    [
        "不是",
        "没有",
        "否",
        "不",
        "没有领",
        "我没有",
        "还没呢",
        "当然不是",
        "不对",
        "嗯，不是的",
        "不是退伍的",
        "no",
    ],
)
def test_no(text: str) -> None:
    assert yes_no(text) is False


@pytest.mark.parametrize("text", ["不清楚", "不知道", "不确定", "这个我也不太清楚", "记不清了", "说不好"])
def test_unsure_is_unknown_not_no(text: str) -> None:
    assert yes_no(text) is None


@pytest.mark.parametrize("text", ["", "。。", "有个问题想问", "今天天气怎么样", "我想查补贴", "是不是要交钱"])
def test_not_an_answer_is_distinguishable(text: str) -> None:
    result = yes_no(text)
    assert result is UNRECOGNISED
    assert result is not None and result is not False


def test_groups_from_free_answers() -> None:
    assert parse_group("我是退伍的") == ["veteran"]
    assert parse_group("贫困户") == ["poverty_alleviated"]
    assert parse_group("我在外面打工，家里是低保户") == ["urban_dibao"] or parse_group(
        "我在外面打工，家里是低保户"
    ) == ["rural_migrant", "urban_dibao"]
    assert parse_group("外出打工的，也是脱贫户") == ["rural_migrant", "poverty_alleviated"]
    assert parse_group("都不是") == []
    assert parse_group("我没当过兵") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("三十五", 35),
        ("35岁", 35),
        ("八成", 0.8),
        ("百分之八十", 0.8),
        ("八十", 80),
        ("不知道", None),
        ("两个", 2),
    ],
)
def test_numbers_from_free_answers(text: str, expected: float | None) -> None:
    assert parse_number(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("去年毕业的", 2025),
        ("今年", 2026),
        ("前年", 2024),
        ("2023年", 2023),
        ("2023", 2023),
        ("二零二三年毕业", 2023),
        ("23年毕业的", 2023),
        ("三年前毕业", 2023),
        ("不记得了", None),
    ],
)
def test_years(text: str, expected: int | None) -> None:
    assert parse_year(text, TODAY) == expected
