"""Where a backlogged channel's sending time went in the live wave: stalls or lateness.

The rate check (`wave_live._Sampler.achieved`) says how far a channel fell
below its configured rate while it had work waiting, not why. Between two
arrivals while backlogged the pace allows 1/rate; what a gap takes beyond
that is lost capacity. Gaps of STALL_SECONDS or more are stalls (the
dispatcher between runs, a slow claim, a pause: causes in the service, which
cost the same share in production); the rest is lateness spread over many
sends (timers and a busy event loop at k x real time: what a lower k, or an
idle machine, reduces).
"""

from __future__ import annotations

import bisect
import itertools

STALL_SECONDS = 1.0  # a gap between two sends of a backlogged channel this long is a stall


def capacity_lost(
    times: list[float], spans: list[tuple[float, float, int]], rate: float
) -> tuple[float, int, float, float]:
    """(seconds lost in stalls, how many stalls, the longest gap, seconds lost in lateness)."""
    interval = 1.0 / rate
    stall = late = longest = 0.0
    stalls = 0
    ordered = sorted(times)
    for t0, t1, _ in spans:
        inside = ordered[bisect.bisect_left(ordered, t0) : bisect.bisect_left(ordered, t1)]
        for a, b in itertools.pairwise(inside):
            excess = b - a - interval
            if excess <= 0:
                continue
            if b - a >= STALL_SECONDS:
                stall, stalls, longest = stall + excess, stalls + 1, max(longest, b - a)
            else:
                late += excess
    return stall, stalls, longest, late
