"""The statutory retirement age since 2025, against the 对照表 of the State Council measures."""

from __future__ import annotations

from datetime import date

import pytest

from bot.policy.retirement import (
    births_for_age,
    births_for_year,
    deciding,
    get_retirement_rules,
    reached,
    retirement_age_months,
    retirement_date,
)

RULES = get_retirement_rules()
TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("schedule", "born", "years", "months"),
    [
        ("male", date(1964, 12, 1), 60, 0),  # original retirement before 2025: unchanged
        ("male", date(1965, 1, 1), 60, 1),
        ("male", date(1965, 4, 1), 60, 1),
        ("male", date(1965, 5, 1), 60, 2),
        ("male", date(1970, 1, 1), 61, 4),
        ("male", date(1976, 8, 1), 62, 11),
        ("male", date(1976, 9, 1), 63, 0),
        ("male", date(1990, 1, 1), 63, 0),
        ("female_55", date(1970, 1, 1), 55, 1),
        ("female_55", date(1981, 9, 1), 58, 0),
        ("female_50", date(1975, 1, 1), 50, 1),
        ("female_50", date(1975, 3, 1), 50, 2),
        ("female_50", date(1984, 11, 1), 55, 0),
    ],
)
def test_table_of_the_state_council_measures(schedule: str, born: date, years: int, months: int) -> None:
    assert retirement_age_months(RULES, schedule, born) == years * 12 + months


def test_the_date_itself() -> None:
    assert retirement_date(RULES, "male", date(1965, 1, 15)) == date(2025, 2, 15)


@pytest.mark.parametrize(("age", "expected"), [(20, False), (45, False), (62, True), (70, True)])
def test_an_age_settles_it_when_clear_either_way(age: int, expected: bool) -> None:
    assert reached(births_for_age(age, age, TODAY), TODAY) is expected
    assert deciding(births_for_age(age, age, TODAY), TODAY) is None


def test_in_the_band_sex_decides() -> None:
    births = births_for_age(58, 58, TODAY)
    assert reached(births, TODAY) is None and deciding(births, TODAY) == "sex"
    assert reached(births, TODAY, "male") is False and reached(births, TODAY, "female") is True


def test_a_woman_of_52_depends_on_her_post() -> None:
    births = births_for_age(52, 52, TODAY)
    assert reached(births, TODAY, "female") is None
    assert deciding(births, TODAY, "female") == "ask"


def test_a_man_turning_sixty_around_now_must_say() -> None:
    assert reached(births_for_age(60, 60, TODAY), TODAY, "male") is None


def test_a_birth_year_is_a_range() -> None:
    assert reached(births_for_year(1960), TODAY, "male") is True
    assert reached(births_for_year(1990), TODAY) is False
