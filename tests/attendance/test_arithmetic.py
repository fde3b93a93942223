"""The attendance arithmetic of 第十四条（四） / 第十五条: rate, what is reachable, how many may be missed."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from bot.attendance.service import Mark, SessionSlot, compute
from bot.clock import LOCAL_TZ

T0 = datetime(2026, 11, 2, 8, 30, tzinfo=LOCAL_TZ)


def sessions(*hours: float) -> list[SessionSlot]:
    return [
        SessionSlot(i + 1, T0 + timedelta(days=i), T0 + timedelta(days=i, hours=3), Decimal(str(h)))
        for i, h in enumerate(hours)
    ]


def present(*ids: int, source: str = "chat") -> list[Mark]:
    return [Mark(i, source, "present") for i in ids]


def run(slots: list[SessionSlot], marks: list[Mark], now_day: int, planned: float | None = None):  # type: ignore[no-untyped-def]
    total = sum((s.hours for s in slots), Decimal(0))
    return compute(
        trainee_id=1,
        name="张伟",
        class_id=1,
        planned_hours=Decimal(str(planned)) if planned else total,
        sessions=slots,
        marks=marks,
        now=T0 + timedelta(days=now_day, hours=-1),  # before the session of that day starts
    )


def test_midway_rate_and_misses() -> None:
    # 20 sessions of 3 h; 10 held, 9 attended: 27/60 h, 10 left.
    a = run(sessions(*[3] * 20), present(*range(1, 10)), now_day=10)
    assert (a.attended_hours, a.planned_hours, a.sessions_left, a.sessions_done) == (27, 60, 10, 10)
    assert a.rate == Decimal("0.45")
    assert a.best_rate == Decimal("0.95")
    assert a.can_miss_full == 1  # 57 - 3 = 54 = 90 %
    assert a.can_miss_exam == 5  # 57 - 15 = 42 = 70 %


@pytest.mark.parametrize(
    ("attended", "full", "exam"),
    [
        (10, 1, 3),  # 30 h possible: 27 h is exactly 90 %, 21 h exactly 70 % (以上 includes the number)
        (9, 0, 2),
        (8, None, 1),  # 24/30 = 80 %: full subsidy is out of reach
        (7, None, 0),
        (6, None, None),  # 18/30 = 60 %: no exam
    ],
)
def test_thresholds_are_inclusive(attended: int, full: int | None, exam: int | None) -> None:
    # 10 sessions of 3 h; the institution marked the first ones absent, the rest are still open.
    missed = 10 - attended
    absent = [Mark(i, "institution", "absent") for i in range(1, missed + 1)]
    a = run(sessions(*[3] * 10), absent, now_day=0)
    assert (a.can_miss_full, a.can_miss_exam) == (full, exam)


def test_longest_sessions_are_assumed_missed_first() -> None:
    # planned 20 h: 4 open sessions of 6, 6, 4, 4 hours. 90 % = 18 h, 70 % = 14 h.
    a = run(sessions(6, 6, 4, 4), [], now_day=0)
    assert a.best_rate == 1
    assert a.can_miss_full == 0  # missing a 6 h lesson leaves 14 h
    assert a.can_miss_exam == 1  # missing 6 h is fine (14 h); a second 6 h is not


def test_institution_record_overrides_chat_and_counts_a_disagreement() -> None:
    slots = sessions(3, 3, 3)
    marks = [*present(1, 2), Mark(2, "institution", "absent"), Mark(3, "institution", "present")]
    a = run(slots, marks, now_day=3)
    assert a.attended_hours == 6  # session 1 (chat) + session 3 (institution); session 2 overridden
    assert a.sessions_attended == 2 and a.disagreements == 1


def test_rate_is_against_filed_hours_not_sessions_held() -> None:
    # The filed plan (备案课时) is 72 h but only 60 h of sessions are scheduled: 90 % is out of reach.
    a = run(sessions(*[3] * 20), [], now_day=0, planned=72)
    assert a.best_rate < Decimal("0.9") and a.can_miss_full is None
    assert a.can_miss_exam is not None


def test_ended_sessions_without_record_are_missed() -> None:
    a = run(sessions(3, 3, 3, 3), present(2), now_day=3)
    assert a.sessions_done == 3 and a.sessions_left == 1 and a.attended_hours == 3
