"""CPU per chat turn, by kind, in process: where a bound trainee's personal answers stand.

The turns go straight through `Engine.handle` (no HTTP) on a demo-seeded
database, the first BENCH_TURN_USERS demo trainees bound to web users in the
order bench/bench_chat.py binds them (the drop-in class first). Per kind it
prints the process CPU time per turn (user + system, all threads: SQLite's
and the driver's included) and its ratio to a baseline measured in the same
run: an engine turn with an empty message, which does the turn's bookkeeping
(lock the user, state, transcript) and nothing else. Kinds: greeting 你好,
签到, 补贴到哪了, 我的出勤率 (bound trainees), and an unbound rule question.

Each kind runs BENCH_TURN_ROUNDS rounds, interleaved with the others so that
drifts of the machine hit all of them alike; the figure is the median round.
SQLite (a temporary data directory) by default; PostgreSQL with
BENCH_DATABASE_URL (a scratch database is created next to it and dropped).
Run with `nice`: .venv/bin/python bench/bench_turn_cpu.py
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_chat import bind_demo_trainees  # noqa: E402
from bench.scratch_db import Scratch  # noqa: E402

USERS = int(os.environ.get("BENCH_TURN_USERS", "16"))
TURNS = int(os.environ.get("BENCH_TURN_TURNS", "10"))
ROUNDS = int(os.environ.get("BENCH_TURN_ROUNDS", "5"))
GOAL = "issue 17: <= 1.5 ms greeting, <= 3 ms bound 补贴到哪了"
# (label, text, bound users?)
KINDS: list[tuple[str, str, bool]] = [
    ("baseline: empty turn", "", False),
    ("greeting 你好", "你好", False),
    ("bound 签到", "签到", True),
    ("bound 补贴到哪了", "补贴到哪了", True),
    ("bound 我的出勤率", "我的出勤率", True),
    # A rule question goes through the knowledge search (issue 15's routing).
    ("rule question 开班申请几天能审完", "开班申请交上去人社局几天能审完", False),
]


async def _round(handle: Callable[[str, str], Awaitable[Any]], text: str, bound: bool) -> float:
    """CPU milliseconds per turn over USERS x TURNS turns of one kind."""
    prefix = "bench-" if bound else "bench-open-"
    before = time.process_time()
    for _ in range(TURNS):
        for uid in range(USERS):
            await handle(f"{prefix}{uid}", text)
    return (time.process_time() - before) * 1000 / (TURNS * USERS)


async def run(database_url: str) -> list[str]:
    from bot.app import create_app
    from bot.settings import load_settings

    data_dir = Path(tempfile.mkdtemp(prefix="bench-turn-cpu-"))
    settings = load_settings(bot_data_dir=data_dir, database_url=database_url, scheduler_enabled=False)
    settings = settings.model_copy(update={"seed_demo": True, "slow_turn_ms": 10**9})
    app = create_app(settings, scheduler=False)
    runner = web.AppRunner(app)
    await runner.setup()  # migrate + demo
    try:
        await bind_demo_trainees(app["services"], USERS)
        engine = app["engine"]

        async def handle(external_id: str, text: str) -> Any:
            return await engine.handle("web", external_id, text)

        samples: dict[str, list[float]] = {label: [] for label, _, _ in KINDS}
        for _, text, bound in KINDS:  # warm-up: users exist, caches filled, first check-in done
            await _round(handle, text, bound)
        for _ in range(ROUNDS):
            for label, text, bound in KINDS:
                samples[label].append(await _round(handle, text, bound))
    finally:
        await runner.cleanup()
    base = statistics.median(samples[KINDS[0][0]])
    lines = []
    for label, _, _ in KINDS:
        cpu = statistics.median(samples[label])
        spread = f"{min(samples[label]):.2f}-{max(samples[label]):.2f}"
        lines.append(f"  {label:<22} {cpu:6.2f} ms CPU/turn  (rounds {spread})   x{cpu / base:5.2f} baseline")
    return lines


async def _pg_scratch() -> Scratch | None:
    base = os.environ.get("BENCH_DATABASE_URL")
    if not base:
        return None
    scratch = Scratch(base, prefix="bench_turn_cpu")
    await scratch.make()
    return scratch


async def main() -> None:
    one, five, fifteen = os.getloadavg()
    print(f"CPU per turn, in process: {USERS} users x {TURNS} turns x {ROUNDS} rounds per kind")
    print(f"  load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs   goal ({GOAL})")
    scratch = await _pg_scratch()
    if scratch is None:
        print("SQLite")
        for line in await run(""):
            print(line)
        return
    try:
        print("PostgreSQL")
        for line in await run(scratch.url):
            print(line)
    finally:
        await scratch.drop()


if __name__ == "__main__":
    asyncio.run(main())
