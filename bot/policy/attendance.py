"""The attendance thresholds of 第十四条（四） and 第十五条, read from config.

Exactly at a threshold counts as reaching it ("以上" includes the number),
unless config says otherwise; comparisons are exact (cross-multiplied
Decimals), so 70 % of 90 hours is 63 hours, not 62.999….
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from bot.policy.params import Policy, get_policy


@dataclass(frozen=True, slots=True)
class AttendanceThresholds:
    exam_min: Decimal  # below it: no final exam (第十四条（四）)
    share_min: Decimal  # from it: subsidy in proportion to attendance (第十五条)
    full: Decimal  # from it: full subsidy (第十五条)
    inclusive: bool
    exam_article: str
    share_article: str

    def reaches(self, attended: Decimal, planned: Decimal, rate: Decimal) -> bool:
        """attended / planned >= rate (or > when not inclusive), without dividing."""
        lhs, rhs = attended, rate * planned
        return lhs >= rhs if self.inclusive else lhs > rhs


def attendance_thresholds(policy: Policy | None = None) -> AttendanceThresholds:
    att = (policy or get_policy()).attendance
    return AttendanceThresholds(
        exam_min=att.exam_min_rate.value,
        share_min=att.share_min_rate.value,
        full=att.full_rate.value,
        inclusive=att.threshold_inclusive.value,
        exam_article=att.exam_min_rate.article,
        share_article=att.full_rate.article,
    )
