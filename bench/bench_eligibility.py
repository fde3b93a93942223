"""The eligibility conversation: latency of its turns, and the cost of choosing the next question.

Part 1 walks complete screenings (free text, several groups, back, 不清楚)
through the real engine, NLU and an SQLite file (BENCH_DATABASE_URL for
PostgreSQL), USERS conversations at a time, and prints per-turn latency.
Part 2 times `next_question` alone: without skipped answers it is the
engine's `missing[0]`; with 不清楚 answers it re-runs the screening for each
possible answer, which is the worst case of a turn.

Run: .venv/bin/python bench/bench_eligibility.py  (or `make bench`)
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from bot.app import create_app
from bot.engine import Engine
from bot.policy.eligibility import assess
from bot.settings import load_settings
from handlers.eligibility.questions import next_question
from models.db import Database

USERS = int(os.environ.get("BENCH_USERS", "16"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
SCRIPTS = [
    ["我能参加补贴培训吗", "我退伍了，现在没工作", "贫困户", "没有了", "还没到", "是第一次"],
    ["我能参加补贴培训吗", "在企业上班", "都没有", "上一步", "农民工", "没有了", "没到", "不清楚"],
    ["查资格", "待业在家", "我是大学毕业的", "就这些", "去年毕业的", "一直没找到", "没到", "第一次"],
    ["我能参加补贴培训吗", "不清楚", "不清楚"],
]


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


async def _walk(engine: Engine, uid: str, script: list[str], latencies: list[float]) -> None:
    for text in script:
        t0 = time.perf_counter()
        await engine.handle("web", uid, text)
        latencies.append(time.perf_counter() - t0)


async def conversations() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-eligibility-"))
    settings = load_settings(
        bot_data_dir=tmp,
        database_url=os.environ.get("BENCH_DATABASE_URL", ""),
        scheduler_enabled=False,
        seed_demo=False,
        admin_token="bench",
        secret_key="bench",
    )
    db = Database(settings.db_url)
    await db.migrate()
    await db.dispose()
    app = create_app(settings, migrate=False, scheduler=False)
    engine: Engine = app["engine"]
    await engine.handle("web", "warm-up", "我能参加补贴培训吗")
    latencies: list[float] = []
    t0 = time.perf_counter()
    for r in range(ROUNDS):
        await asyncio.gather(
            *(_walk(engine, f"u{r}-{u}", SCRIPTS[u % len(SCRIPTS)], latencies) for u in range(USERS))
        )
    elapsed = time.perf_counter() - t0
    await app["services"].db.dispose()
    backend = "postgresql" if "postgresql" in settings.db_url else "sqlite"
    print(f"eligibility conversations ({backend}, {USERS} at a time, {ROUNDS} rounds):")
    print(f"  turns: {len(latencies)}, {len(latencies) / elapsed:.0f} turns/s")
    print(
        f"  turn latency ms: p50 {_pct(latencies, 0.5):.1f}  p99 {_pct(latencies, 0.99):.1f}"
        f"  mean {statistics.mean(latencies) * 1000:.1f}"
    )


def choosing() -> None:
    as_of = date(2026, 11, 23)
    cases = {
        "nothing skipped": ({"employment": "unemployed"}, []),
        "groups skipped": ({"employment": "employed"}, ["groups"]),
        "work and groups skipped": ({}, ["employment", "groups"]),
    }
    print("next_question per call:")
    for name, (answers, skipped) in cases.items():
        n = 2000 if not skipped else 200
        t0 = time.perf_counter()
        for _ in range(n):
            next_question(assess(answers, as_of), answers, skipped, as_of)
        per = (time.perf_counter() - t0) / n
        print(f"  {name}: {per * 1e6:.0f} µs")


if __name__ == "__main__":
    choosing()
    asyncio.run(conversations())
