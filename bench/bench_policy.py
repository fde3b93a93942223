"""Cost of the policy engine: assess(), compute_deadline() and subsidy_share() per call.

The conversation calls assess() after every answer and the scheduler computes
deadlines for every class, so these sit on hot paths. Prints p50/p99 in
microseconds over a mix of realistic profiles and dates, plus the cold cost of
the first calendar lookup of a year (each year is built once, then cached).

Run: .venv/bin/python bench/bench_policy.py  (or `make bench`)
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.policy import get_calendar, get_policy
from bot.policy.calendar import load_calendar
from bot.policy.deadlines import EVENTS, compute_deadline
from bot.policy.eligibility import assess
from bot.policy.profile import Profile
from bot.policy.share import subsidy_share

N = int(os.environ.get("BENCH_POLICY_N", "20000"))

PROFILES: list[dict[str, object]] = [
    {},
    {"employment": "employed"},
    {"employment": "unemployed", "groups": ["veteran"]},
    {
        "employment": "unemployed",
        "groups": ["two_after"],
        "household": "rural",
        "reached_retirement_age": False,
    },
    {
        "employment": "unemployed",
        "groups": ["college_graduate"],
        "graduation_year": 2024,
        "employed_since_graduation": False,
        "reached_retirement_age": False,
        "first_evaluation_this_year": True,
    },
    {
        "groups": ["rural_migrant"],
        "reached_retirement_age": True,
        "receives_pension": False,
        "ability_assessed": False,
    },
    {"employment": "flexible", "groups": ["poverty_alleviated", "disabled"], "reached_retirement_age": False},
]


def _measure(label: str, calls: list[Callable[[], object]]) -> None:
    for call in calls[:200]:  # warm caches
        call()
    timings = []
    for call in calls:
        start = time.perf_counter_ns()
        call()
        timings.append(time.perf_counter_ns() - start)
    timings.sort()
    p50 = statistics.median(timings) / 1000
    p99 = timings[int(len(timings) * 0.99)] / 1000
    print(f"{label:<36} n={len(calls):>6}  p50={p50:8.1f} µs  p99={p99:8.1f} µs")


def main() -> None:
    rng = random.Random(1)
    get_policy()
    start = date(2025, 1, 1)

    def day() -> date:
        return start + timedelta(days=rng.randrange(730))

    def any_day() -> date:
        return date(1950, 1, 1) + timedelta(days=rng.randrange(36500))

    # Cold: (profile, class-end day) pairs drawn from a century, so the result
    # cache almost never helps; this is the cost of the rules themselves.
    _measure(
        "assess, uncached", [(lambda p=rng.choice(PROFILES), d=any_day(): assess(p, d)) for _ in range(N)]
    )
    _measure(
        "assess + to_dict, uncached",
        [(lambda p=rng.choice(PROFILES), d=any_day(): assess(p, d).to_dict()) for _ in range(N)],
    )
    # Warm: the same answers again, as after each turn of one conversation.
    as_of = date(2025, 6, 30)
    _measure(
        "assess, repeated answers (cached)",
        [(lambda p=rng.choice(PROFILES): assess(p, as_of)) for _ in range(N)],
    )
    parsed = [Profile.from_mapping(p) for p in PROFILES]
    _measure("assess(Profile), cached", [(lambda p=rng.choice(parsed): assess(p, as_of)) for _ in range(N)])
    _measure(
        "compute_deadline(random event)",
        [(lambda e=rng.choice(EVENTS), d=day(): compute_deadline(e, d)) for _ in range(N)],
    )
    _measure(
        "compute_deadline(payment: 12 days)",
        [(lambda d=day(): compute_deadline("payment", d)) for _ in range(N)],
    )
    cal = get_calendar()
    _measure("is_working_day (cached year)", [(lambda d=day(): cal.is_working_day(d)) for _ in range(N)])
    _measure(
        "subsidy_share",
        [
            (lambda a=Decimal(rng.randrange(0, 4001)) / 100: subsidy_share(a, Decimal(40), True))
            for _ in range(N)
        ],
    )

    fresh = load_calendar()
    t0 = time.perf_counter_ns()
    fresh.is_working_day(date(2026, 3, 1))
    cold = (time.perf_counter_ns() - t0) / 1000
    t0 = time.perf_counter_ns()
    fresh.is_working_day(date(2026, 3, 2))
    warm = (time.perf_counter_ns() - t0) / 1000
    print(f"{'first lookup of a year (builds it)':<36} {cold:8.1f} µs; next lookup {warm:.1f} µs")


if __name__ == "__main__":
    main()
