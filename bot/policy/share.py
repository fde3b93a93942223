"""The share of the training subsidy a trainee gets from attendance (第十五条).

Below the minimum rate: no exam and nothing; from it up to the full rate:
the rate itself; from the full rate: everything; without a certificate:
nothing, whatever the attendance. All in Decimal, so 70 % and 90 % are exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bot.policy.attendance import attendance_thresholds
from bot.policy.params import Policy

ZERO = Decimal(0)
ONE = Decimal(1)


class ShareInputError(ValueError):
    """Hours or certificate of the wrong kind; `field` names the bad input."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Share:
    attendance_rate: Decimal
    exam_allowed: bool
    share: Decimal
    article: str
    exam_article: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "attendance_rate": float(self.attendance_rate),
            "exam_allowed": self.exam_allowed,
            "share": float(self.share),
            "article": self.article,
            "exam_article": self.exam_article,
        }


def _hours(value: object, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ShareInputError(field, f"{field} must be a number")
    number = Decimal(value)
    if not number.is_finite():
        raise ShareInputError(field, f"{field} must be a finite number")
    if number < 0:
        raise ShareInputError(field, f"{field} must not be negative")
    return number


def subsidy_share(
    attended_hours: Decimal | int,
    planned_hours: Decimal | int,
    certificate: bool,
    policy: Policy | None = None,
) -> Share:
    """Raises ShareInputError (a ValueError) for non-numbers, negatives, planned ≤ 0, attended > planned."""
    attended = _hours(attended_hours, "attended_hours")
    planned = _hours(planned_hours, "planned_hours")
    if planned <= 0:
        raise ShareInputError("planned_hours", "planned_hours must be greater than 0")
    if attended > planned:
        raise ShareInputError("attended_hours", "attended_hours must not exceed planned_hours")
    if not isinstance(certificate, bool):
        raise ShareInputError("certificate", "certificate must be true or false")
    th = attendance_thresholds(policy)
    rate = attended / planned
    exam_allowed = th.reaches(attended, planned, th.exam_min)
    if not certificate or not th.reaches(attended, planned, th.share_min):
        share = ZERO
    elif th.reaches(attended, planned, th.full):
        share = ONE
    else:
        share = rate
    return Share(rate, exam_allowed, share, th.share_article, th.exam_article)
