"""10,000 outbox messages to the fake Telegram API with Telegram's limits enforced.

The dispatcher runs as the service runs it, a separate process
(`python -m bot outbox run`), against the fake Telegram API
(tests/fakes/fake_telegram.py: at most 30 messages in any second overall,
one per second per chat; a request over a limit gets a 429 and is dropped).
The dispatcher is stopped with SIGTERM at a third (a deploy: it finishes the
sends on the wire and gives its claims back) and killed with SIGKILL at two
thirds (a crash: its claims come back when their lease runs out), each time
started again at once. Printed:

- 429s (must be 0): the pacing stays under both limits;
- the sending rate while a dispatcher runs (per full second, median and
  mean), against the allowed 30/s (must be at least 90 %), and the wall time
  including the restart gaps;
- lost (rows never delivered: must be 0) and doubled messages. After the
  SIGTERM nothing may be doubled. A SIGKILL can land between Telegram taking a
  message and the dispatcher writing it down; the bench lists those messages
  (delivered, not marked sent when the process died) - they are sent again
  (at-least-once: never lost), and every double must be one of them;
- the dispatcher's CPU per send: the CPU time of its three processes, less
  three times that of one process started and stopped on an empty outbox in
  the same run (imports, migrations), over the sends.

Run: .venv/bin/python bench/bench_outbox.py [--messages N] [--chats N]
(SQLite by default; BENCH_DATABASE_URL=postgresql+asyncpg://… for PostgreSQL.)
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web
from sqlalchemy import func, insert, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.outbox.config import load_config  # noqa: E402
from models import ChatUser, OutboxMessage  # noqa: E402
from models.db import Database  # noqa: E402
from tests.fakes.fake_telegram import FakeTelegram  # noqa: E402


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--messages", type=int, default=10_000)
    p.add_argument("--chats", type=int, default=2_000)
    p.add_argument(
        "--kill-at", type=float, default=0.5, help="fraction delivered when the dispatcher is killed"
    )
    p.add_argument("--signal", choices=["KILL", "TERM"], default="KILL")
    return p.parse_args()


async def seed(db: Database, messages: int, chats: int) -> None:
    now = datetime.now(UTC)
    async with db.session() as s:
        await s.execute(
            insert(ChatUser),
            [
                {"channel": "telegram", "external_id": str(900_000 + i), "created_at": now, "reachable": True}
                for i in range(chats)
            ],
        )
        ids = list((await s.execute(select(ChatUser.id).order_by(ChatUser.id))).scalars())
    rows = [
        {
            "idempotency_key": f"bench:{n}",
            "chat_user_id": ids[n % chats],
            "kind": "broadcast",
            "text": f"bench-{n:05d} 关于开展2027年春季补贴性职业技能培训的通知",
            "choices": [],
            "due_at": now,
            "status": "pending",
            "attempts": 0,
            "created_at": now,
        }
        for n in range(messages)
    ]
    for start in range(0, len(rows), 2_000):
        async with db.session() as s:
            await s.execute(insert(OutboxMessage), rows[start : start + 2_000])


class DispatcherProcess:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, *extra: str) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "outbox",
            "run",
            *extra,
            cwd=ROOT,
            env=self.env,
        )

    async def stop(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        await self.proc.wait()


def children_cpu() -> float:
    """CPU seconds (user + system) of the child processes that have ended and been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def wait_until(predicate, seconds: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("the benchmark did not finish in time")
        await asyncio.sleep(0.05)


class Distinct:
    """How many different messages the fake received, counted incrementally (the fake shares this loop)."""

    def __init__(self, fake: FakeTelegram) -> None:
        self.fake = fake
        self.seen: set[str] = set()
        self.read = 0

    def count(self) -> int:
        sent = self.fake.sent
        while self.read < len(sent):
            self.seen.add(sent[self.read].text.split(" ", 1)[0])
            self.read += 1
        return len(self.seen)


def full_second_rates(times: list[float]) -> list[int]:
    """Sends per full second of the stretches of continuous sending (partial end seconds left out)."""
    counts: list[int] = []
    stretch: list[float] = []
    for t in [*times, float("inf")]:
        if stretch and t - stretch[-1] > 1.5:
            if len(stretch) > 2:
                per_second = Counter(int(x - stretch[0]) for x in stretch)
                counts += [per_second[k] for k in sorted(per_second)[1:-1]]
            stretch = []
        stretch.append(t)
    return counts


async def on_the_wire(db: Database, fake: FakeTelegram) -> set[str]:
    """Messages Telegram has that the (dead) dispatcher had not marked sent: sent again after the restart."""
    delivered = {s.text.split(" ", 1)[0] for s in fake.sent}
    async with db.session() as s:
        unmarked = (
            await s.execute(select(OutboxMessage.text).where(OutboxMessage.status != "sent"))
        ).scalars()
        return {t.split(" ", 1)[0] for t in unmarked} & delivered


async def main() -> None:
    args = parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-outbox-"))
    base_url = os.environ.get("BENCH_DATABASE_URL", "")
    if base_url:
        url = f"{base_url.rsplit('/', 1)[0]}/bench_outbox_{uuid.uuid4().hex[:8]}"
        import asyncpg

        admin = await asyncpg.connect(base_url.replace("postgresql+asyncpg://", "postgresql://"))
        await admin.execute(f'CREATE DATABASE "{url.rsplit("/", 1)[1]}"')
        await admin.close()
    else:
        url = f"sqlite+aiosqlite:///{tmp / 'bench.sqlite3'}"
    db = Database(url)
    await db.migrate()

    fake = FakeTelegram()
    runner = web.AppRunner(fake.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    env = {
        **os.environ,
        "DATABASE_URL": url,
        "BOT_DATA_DIR": str(tmp / "data"),
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_SECRET_TOKEN": "bench-secret",
        "TELEGRAM_API_BASE": f"http://127.0.0.1:{port}",
        "WECHAT_TOKEN": "",
        "WECHAT_APP_ID": "",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    config = load_config()
    budget = args.messages / fake.per_second * 2 + 120
    dispatcher = DispatcherProcess(env)
    # The same-run baseline of CPU per send: one process's start-up and stop with nothing to send.
    cpu0 = children_cpu()
    idle = DispatcherProcess(env)
    await idle.start("--until-idle")
    assert idle.proc is not None
    await idle.proc.wait()
    startup_cpu = children_cpu() - cpu0
    cpu0 = children_cpu()
    t0 = time.perf_counter()
    await seed(db, args.messages, args.chats)
    seed_s = time.perf_counter() - t0
    gaps: dict[str, float] = {}
    marks: dict[str, int] = {}
    started = time.monotonic()
    try:
        await dispatcher.start()
        for name, sig, fraction in (("SIGTERM", signal.SIGTERM, 1 / 3), ("SIGKILL", signal.SIGKILL, 2 / 3)):
            await wait_until(lambda f=fraction: len(fake.sent) >= args.messages * f, budget)  # type: ignore[misc]
            await dispatcher.stop(sig)
            stopped, marks[name] = time.monotonic(), len(fake.sent)
            if sig == signal.SIGKILL:
                wire = await on_the_wire(db, fake)
            await dispatcher.start()
            await wait_until(lambda n=marks[name]: len(fake.sent) > n, budget)  # type: ignore[misc]
            gaps[name] = fake.sent[marks[name]].at - stopped
        unique = Distinct(fake)
        await wait_until(lambda: unique.count() >= args.messages, budget)
        finished = time.monotonic()
        await asyncio.sleep(2)  # anything sent twice would show up now
        await dispatcher.stop(signal.SIGTERM)
    finally:
        if dispatcher.proc is not None and dispatcher.proc.returncode is None:
            dispatcher.proc.kill()
            await dispatcher.proc.wait()
        await runner.cleanup()
    cpu = children_cpu() - cpu0  # the three dispatcher processes, all waited for

    seen: dict[str, int] = {}
    doubled: dict[str, list[str]] = {"SIGTERM": [], "SIGKILL": []}
    for index, sent in enumerate(fake.sent):
        marker = sent.text.split(" ", 1)[0]
        if marker in seen:
            # Charged to the stop that came between its two deliveries.
            phase = "SIGTERM" if seen[marker] < marks["SIGTERM"] <= index else "SIGKILL"
            doubled[phase].append(marker)
        seen.setdefault(marker, index)
    async with db.session() as s:
        counted = await s.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
        statuses = {status: n for status, n in counted.all()}
    await db.dispose()
    if base_url:
        import asyncpg

        admin = await asyncpg.connect(base_url.replace("postgresql+asyncpg://", "postgresql://"))
        await admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')
        await admin.close()

    lost = args.messages - len(seen)
    allowed = fake.per_second
    rates = full_second_rates([s.at for s in fake.sent])
    median, mean = statistics.median(rates), statistics.mean(rates)
    wall = finished - started
    last_seen: dict[str, float] = {}
    smallest_gap = float("inf")
    for sent in fake.sent:
        if sent.chat_id in last_seen:
            smallest_gap = min(smallest_gap, sent.at - last_seen[sent.chat_id])
        last_seen[sent.chat_id] = sent.at
    tg = config.channels.telegram
    print(
        f"bench_outbox: {args.messages:,} messages to {args.chats:,} chats "
        f"({'PostgreSQL' if base_url else 'SQLite'}; seeded in {seed_s:.1f} s)"
    )
    print(
        f"  fake Telegram: {allowed}/s overall, 1/s per chat; "
        f"dispatcher paced at {tg.rate_per_second}/s, {tg.per_chat_interval_seconds} s per chat"
    )
    print(
        f"  429s provoked              {fake.limit_hits} "
        f"(overall {fake.overall_hits}, per chat {fake.per_chat_hits})"
    )
    print(
        f"  rate while sending         median {median:.1f}/s, mean {mean:.1f}/s "
        f"= {median / allowed:.0%} / {mean / allowed:.0%} of the allowed {allowed}/s"
    )
    print(f"  smallest gap in one chat   {smallest_gap:.2f} s")
    arrivals = [x.at for x in fake.sent]
    spans = [arrivals[k + 29] - arrivals[k] for k in range(len(arrivals) - 29)]
    print(f"  tightest 30 sends          {min(spans):.3f} s (Telegram allows 30 per second)")
    for name in ("SIGTERM", "SIGKILL"):
        print(
            f"  {name} after {marks[name]:>6,}      sending again {gaps[name]:.1f} s later "
            f"(leader lease {config.dispatcher.leader_lease_seconds:.0f} s, "
            f"claim lease {config.dispatcher.claim_lease_seconds:.0f} s)"
        )
    print(f"  wall time                  {wall:.1f} s ({args.messages / wall:.1f}/s with both restarts)")
    per_send = (cpu - 3 * startup_cpu) / max(len(fake.sent), 1)
    print(
        f"  dispatcher CPU per send    {per_send * 1000:.2f} ms ({cpu:.1f} s in 3 processes, "
        f"less 3 x {startup_cpu:.1f} s of one started and stopped idle)"
    )
    print(f"  delivered {len(fake.sent):,} sends of {len(seen):,} messages; lost {lost}")
    print(f"  doubled after SIGTERM      {len(doubled['SIGTERM'])}")
    print(
        f"  doubled after SIGKILL      {len(doubled['SIGKILL'])} "
        f"(on the wire when it died: {sorted(wire) or 'none'}; "
        f"doubled: {sorted(doubled['SIGKILL']) or 'none'})"
    )
    print(f"  outbox rows by status      {statuses}")
    ok = (
        fake.limit_hits == 0
        and lost == 0
        and not doubled["SIGTERM"]
        and set(doubled["SIGKILL"]) <= wire
        and median >= 0.9 * allowed
    )
    verdict = "OK" if ok else "NOT OK"
    print(
        f"  {verdict}: no 429s, >= 90 % of the allowed rate, none lost, "
        "nothing doubled but what was on the wire at the SIGKILL"
    )


if __name__ == "__main__":
    asyncio.run(main())
