"""The pacer on a fake clock: both platform limits hold whatever the timer's lateness.

The end-to-end tests deliver through the fakes, whose clocks are the machine's:
on a loaded machine requests bunch on the way, so what they can assert is the
outcome (everything once, in order, every 429 honoured). What the pacer itself
decides is checked here, exactly, with the dispatcher's own slot choice
(the chat whose slot comes first) and a timer that wakes late by random amounts.
"""

from __future__ import annotations

import itertools
import random

from bot.outbox.config import load_config
from bot.outbox.pacing import Pacer


class FakeMonotonic:
    def __init__(self) -> None:
        self.t = 1_000.0

    def __call__(self) -> float:
        return self.t


def most_in_any_second(times: list[float]) -> int:
    ordered, best, start = sorted(times), 0, 0
    for end, at in enumerate(ordered):
        while ordered[start] <= at - 1.0 + 1e-9:
            start += 1
        best = max(best, end - start + 1)
    return best


def drain(pacer: Pacer, clock: FakeMonotonic, queues: dict[str, list[int]], rng: random.Random) -> list:
    """Send every queued message as the runner does: the first ready chat, at its slot (or late)."""
    starts: list[tuple[float, str, int]] = []
    while any(queues.values()):
        chat = min((c for c, q in queues.items() if q), key=pacer.ready_at)
        ready = pacer.ready_at(chat)
        # The timer wakes a little late, sometimes a lot (a busy event loop).
        late = rng.choice([0.0, 0.002, 0.01, 0.03, 0.2]) if rng.random() < 0.5 else 0.0
        clock.t = max(clock.t, ready) + late
        pacer.take(chat, scheduled=ready)
        starts.append((clock.t, chat, queues[chat].pop(0)))
    return starts


def test_the_telegram_pace_keeps_under_both_limits_with_a_late_timer() -> None:
    telegram = load_config().channels.telegram
    clock, rng = FakeMonotonic(), random.Random(13)
    pacer = Pacer(telegram.rate_per_second, telegram.per_chat_interval_seconds, now=clock)
    queues = {f"chat-{n}": list(range(4)) for n in range(150)}
    starts = drain(pacer, clock, queues, rng)

    assert len(starts) == 600
    assert most_in_any_second([t for t, _, _ in starts]) <= telegram.platform_rate_per_second - 1
    by_chat: dict[str, list[tuple[float, int]]] = {}
    for at, chat, n in starts:
        by_chat.setdefault(chat, []).append((at, n))
    for sends in by_chat.values():
        assert [n for _, n in sends] == [0, 1, 2, 3]  # each chat's order
        gaps = [b[0] - a[0] for a, b in itertools.pairwise(sends)]
        assert min(gaps) >= telegram.per_chat_interval_seconds - 1e-9


def test_after_a_stall_the_backlog_is_not_sent_in_a_burst() -> None:
    clock = FakeMonotonic()
    pacer = Pacer(20, 0.0, now=clock)
    for n in range(10):
        pacer.take(f"c{n}", scheduled=pacer.ready_at(f"c{n}"))
        clock.t = pacer.ready_at("any")
    clock.t += 5.0  # the loop stalled: fifty slots went by unused
    starts = []
    for n in range(60):
        ready = pacer.ready_at(f"d{n}")
        clock.t = max(clock.t, ready)
        pacer.take(f"d{n}", scheduled=ready)
        starts.append(clock.t)
    assert most_in_any_second(starts) <= 21


def test_a_flood_pause_holds_every_chat_and_the_chat_that_got_it_longer() -> None:
    clock = FakeMonotonic()
    pacer = Pacer(28, 1.05, now=clock)
    pacer.take("a", scheduled=pacer.ready_at("a"))
    pacer.pause_all(3.0)
    pacer.pause_chat("a", 5.0)
    assert pacer.paused_for() == 3.0
    assert pacer.ready_at("b") >= clock.t + 3.0 and pacer.ready_at("a") >= clock.t + 5.0
    clock.t += 3.0
    assert pacer.paused_for() == 0.0 and pacer.ready_at("b") <= clock.t
