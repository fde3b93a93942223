"""Where a backlogged channel's sending time went in the live wave: stalls or lateness.

The rate check (`wave_live._Sampler.achieved`) says how far a channel fell
below its configured rate while it had work waiting, not why. Between two
arrivals while backlogged the pace allows 1/rate; what a gap takes beyond
that is lost capacity. Gaps STALL_SECONDS or more beyond it are stalls (the
dispatcher between runs, a slow claim, a pause: causes in the service, which
cost the same share in production); the rest is lateness spread over many
sends (timers and a busy event loop at k x real time: what a lower k, or an
idle machine, reduces).
"""

from __future__ import annotations

import bisect
import itertools

STALL_SECONDS = 1.0  # a gap this much longer than the pace's interval is a stall


def capacity_lost(
    times: list[float], spans: list[tuple[float, float, int]], rate: float
) -> tuple[float, int, float, float]:
    """(seconds lost in stalls, how many stalls, the longest gap, net seconds lost in lateness)."""
    interval = 1.0 / rate
    stall = late = longest = 0.0
    stalls = 0
    ordered = sorted(times)
    for t0, t1, _ in spans:
        inside = ordered[bisect.bisect_left(ordered, t0) : bisect.bisect_left(ordered, t1)]
        for a, b in itertools.pairwise(inside):
            excess = b - a - interval
            if excess >= STALL_SECONDS:
                stall, stalls, longest = stall + excess, stalls + 1, max(longest, b - a)
            else:
                late += excess  # net: a send that makes up for a late one (its slot's credit) counts back
    return stall, stalls, longest, late


def backlogs(due: list[float], sent: list[float], threshold: int) -> list[tuple[float, float]]:
    """The stretches during which at least `threshold` rows were due and not yet arrived.

    From each row's due time and each arrival, not from samples: the plan makes
    a minute's rows due at its start, so a channel that keeps up empties its
    backlog within the minute and waits for the next; a sample interval that
    began and ended with rows waiting would count that wait as slowness.
    """
    events = sorted([(t, 1) for t in due] + [(t, -1) for t in sent])
    stretches: list[tuple[float, float]] = []
    waiting, start = 0, None
    for t, change in events:
        waiting += change
        if start is None and waiting >= threshold:
            start = t
        elif start is not None and waiting < threshold:
            stretches.append((start, t))
            start = None
    return stretches


def paced(sent: list[float], stretches: list[tuple[float, float]]) -> tuple[float | None, float, float]:
    """(sends per second between the first and last arrival of each backlog, those seconds, wake-up seconds).

    The rate check of the machine: while rows wait, sends follow each other at
    the configured pace unless the loop falls behind. The wait from a backlog's
    start to its first arrival (the dispatcher's next tick or claim) is a cost of
    the service, the same in production, and is returned apart.
    """
    ordered = sorted(sent)
    sends = seconds = woke = 0.0
    for t0, t1 in stretches:
        inside = ordered[bisect.bisect_left(ordered, t0) : bisect.bisect_right(ordered, t1)]
        if len(inside) < 2:
            continue
        sends += len(inside) - 1
        seconds += inside[-1] - inside[0]
        woke += inside[0] - t0
    return (sends / seconds if seconds else None), seconds, woke
