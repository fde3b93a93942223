"""The share of the training subsidy from attendance (第十五条), exact at 70 % and 90 %."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from bot.policy.attendance import attendance_thresholds
from bot.policy.share import ShareInputError, subsidy_share

from .conftest import load_cases

CASES = load_cases("share.yaml")["cases"]


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c['attended']}of{c['planned']}-{c['certificate']}" for c in CASES]
)
def test_share(case: dict[str, Any]) -> None:
    result = subsidy_share(Decimal(case["attended"]), Decimal(case["planned"]), case["certificate"])
    assert result.exam_allowed is case["exam"]
    if "rate" in case:
        assert result.attendance_rate == Decimal(case["rate"])
    if "share" in case:
        assert result.share == Decimal(case["share"])
    else:
        low, high = (Decimal(x) for x in case["share_between"])
        assert low < result.share < high
    assert result.article == "第十五条"
    body = result.to_dict()
    assert isinstance(body["attendance_rate"], float) and isinstance(body["share"], float)


def test_thresholds_come_from_config() -> None:
    th = attendance_thresholds()
    assert (th.exam_min, th.share_min, th.full) == (Decimal("0.70"), Decimal("0.70"), Decimal("0.90"))
    assert th.inclusive and th.exam_article == "第十四条" and th.share_article == "第十五条"


def test_two_thirds_is_not_rounded_up_to_seventy_percent() -> None:
    result = subsidy_share(Decimal(2), Decimal(3), True)
    assert not result.exam_allowed and result.share == 0


@pytest.mark.parametrize(
    ("attended", "planned", "certificate", "field"),
    [
        (Decimal(10), Decimal(0), True, "planned_hours"),
        (Decimal(10), Decimal(-5), True, "planned_hours"),
        (Decimal(-1), Decimal(10), True, "attended_hours"),
        (Decimal(11), Decimal(10), True, "attended_hours"),
        ("10", Decimal(10), True, "attended_hours"),
        (True, Decimal(10), True, "attended_hours"),
        (Decimal(5), Decimal("NaN"), True, "planned_hours"),
        (Decimal(5), Decimal(10), "yes", "certificate"),
    ],
)
def test_bad_input(attended: Any, planned: Any, certificate: Any, field: str) -> None:
    with pytest.raises(ShareInputError) as info:
        subsidy_share(attended, planned, certificate)
    assert info.value.field == field
