"""What bench/bench_outbox_soak.py reads off the fakes, the rows and the workers' logs, and prints."""

from __future__ import annotations

import json
import re
import statistics
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import select

from models import OutboxMessage
from models.db import Database
from tests.outbox.fakes import Arrival, ClockedWeChat, FloodTelegram, max_in_any_second


async def results(
    db: Database,
    telegram: FloodTelegram,
    wechat: ClockedWeChat,
    enqueued: dict[str, float],
    broadcast_done: float,
    killed_at: float,
    claimed_at_kill: int,
    in_flight_window: int,
    wall: float,
    logs: Path,
) -> dict[str, Any]:
    arrivals: list[Arrival] = telegram.arrivals + wechat.arrivals
    counts = Counter((a.chat, a.text.split(" ", 1)[0]) for a in arrivals)
    async with db.session() as s:
        rows = (await s.execute(select(OutboxMessage.idempotency_key, OutboxMessage.status))).all()
        statuses = Counter(r.status for r in rows)
    got = {key for _, key in counts}
    lost = [r.idempotency_key for r in rows if r.idempotency_key not in got]
    first_arrival: dict[str, float] = {}
    for a in arrivals:
        key = a.text.split(" ", 1)[0]
        if key.startswith("reply-"):
            first_arrival.setdefault(key, a.wall)
    during = {
        k: first_arrival[k] - t for k, t in enqueued.items() if k in first_arrival and t < broadcast_done
    }
    # Replies the SIGKILL held up: not out at the kill and enqueued before sending resumed
    # (claimed by the killed process, or waiting for the channel lease to pass on).
    # The victim held Telegram (it may not have held WeChat, which then went on): its next send.
    resumed = min((a.wall for a in telegram.arrivals if a.wall > killed_at), default=killed_at)
    held_up = {k for k in during if first_arrival[k] > killed_at and enqueued[k] < resumed + 1.0}
    steady = [v for k, v in during.items() if k not in held_up]
    # ... and those a flood pause held up (enqueued in, or just before, an announced window).
    flooded = {k for k in during if any(start - 2.0 <= enqueued[k] <= end for start, end in telegram.windows)}
    calm = [v for k, v in during.items() if k not in held_up and k not in flooded]
    takeover = resumed - killed_at
    slowest = sorted(during, key=during.__getitem__)[-5:]
    print(
        "  slowest replies (latency s, enqueued relative to the kill s, held up):",
        [(round(during[k], 1), round(enqueued[k] - killed_at, 1), k in held_up) for k in slowest],
    )
    claim_ms: list[float] = []
    for path in logs.glob("*.log"):
        for match in re.finditer(r"outbox run stats (\{.*\})", path.read_text(errors="replace")):
            claim_ms += json.loads(match.group(1))["claim_ms"]
    gaps: dict[str, list[float]] = {}
    for a in telegram.arrivals:
        gaps.setdefault(a.chat, []).append(a.wall)
    min_gap = min(
        (b - a for times in gaps.values() for a, b in zip(sorted(times), sorted(times)[1:], strict=False)),
        default=float("inf"),
    )
    return {
        "delivered": len(arrivals),
        "duplicates": sum(n - 1 for n in counts.values() if n > 1),
        "claimed_at_kill": claimed_at_kill,
        "sent_in_last_second_at_kill": in_flight_window,
        "lost": len(lost),
        "statuses": dict(statuses),
        "telegram_max_per_second": max_in_any_second([a.wall for a in telegram.arrivals]),
        "wechat_max_per_second": max_in_any_second([a.wall for a in wechat.arrivals]),
        "telegram_min_chat_gap": min_gap,
        "limit_429s": telegram.limit_hits,
        "announced_429s": telegram.announced,
        "calls_in_retry_windows": telegram.window_calls,
        "wechat_forced_refreshes": wechat.forced(),
        "replies_during_broadcast": len(during),
        "reply_p50": statistics.median(steady) if steady else float("nan"),
        "reply_p99": quantile(steady, 0.99),
        "reply_p99_calm": quantile(calm, 0.99),
        "replies_in_flood_windows": len(flooded - held_up),
        "replies_held_up_by_kill": len(held_up),
        "reply_max_held_up": max((during[k] for k in held_up), default=0.0),
        "reply_p99_all": quantile(list(during.values()), 0.99),
        "takeover_seconds": takeover,
        "claims": len(claim_ms),
        "claim_ms_p50": statistics.median(claim_ms) if claim_ms else float("nan"),
        "claim_ms_p99": quantile(claim_ms, 0.99),
        "claim_ms_max": max(claim_ms, default=float("nan")),
        "wall": wall,
    }


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def show(reports: dict[int, dict[str, Any]]) -> None:
    names = sorted(reports)
    print(f"\n{'':40}" + "".join(f"{f'{n} process' + ('es' if n > 1 else ''):>16}" for n in names))
    rows = [
        ("delivered", "delivered", "{:,}"),
        ("duplicates", "duplicates", "{}"),
        ("  rows claimed at the kill", "claimed_at_kill", "{}"),
        ("  sends in the second before it", "sent_in_last_second_at_kill", "{}"),
        ("lost", "lost", "{}"),
        ("Telegram max msgs in any second", "telegram_max_per_second", "{}"),
        ("WeChat max msgs in any second", "wechat_max_per_second", "{}"),
        ("Telegram min gap in one chat (s)", "telegram_min_chat_gap", "{:.3f}"),
        ("429s from the limits", "limit_429s", "{}"),
        ("429s announced by the fake", "announced_429s", "{}"),
        ("calls inside retry windows", "calls_in_retry_windows", "{}"),
        ("WeChat forced token refreshes", "wechat_forced_refreshes", "{}"),
        ("replies during the broadcast", "replies_during_broadcast", "{}"),
        ("reply latency p50 (s, not held by kill)", "reply_p50", "{:.2f}"),
        ("reply latency p99 (s, not held by kill)", "reply_p99", "{:.2f}"),
        ("  replies near a 429 window", "replies_in_flood_windows", "{}"),
        ("  p99 without those (s)", "reply_p99_calm", "{:.2f}"),
        ("  replies held up by the kill", "replies_held_up_by_kill", "{}"),
        ("  their longest wait (s)", "reply_max_held_up", "{:.1f}"),
        ("  p99 including them (s)", "reply_p99_all", "{:.2f}"),
        ("  kill to next send (s)", "takeover_seconds", "{:.1f}"),
        ("claims (ticks)", "claims", "{}"),
        ("claim time p50 (ms)", "claim_ms_p50", "{:.1f}"),
        ("claim time p99 (ms)", "claim_ms_p99", "{:.1f}"),
        ("claim time max (ms)", "claim_ms_max", "{:.1f}"),
        ("bench VACUUMs (server autovacuum off)", "vacuums", "{}"),
        ("  most dead outbox row versions", "dead_versions_max", "{:,}"),
        ("wall time (s)", "wall", "{:.0f}"),
    ]
    for label, key, fmt in rows:
        print(f"{label:40}" + "".join(f"{fmt.format(reports[n][key]):>16}" for n in names))
    for n in names:
        print(f"statuses with {n}: {reports[n]['statuses']}")
