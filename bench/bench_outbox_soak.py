"""Soak: several dispatcher processes on PostgreSQL, a morning's reminders and a broadcast at once.

Each scenario gets a fresh PostgreSQL database with `--reminders` reminders and
a `--broadcast`-recipient broadcast, all due at once (one of each per chat
user; `--telegram-share` of the users on Telegram, the rest on WeChat), plus a
stream of replies (one every `--reply-every` seconds, alternating channels)
while the broadcast runs. `N` dispatcher processes (`python -m bot outbox run`,
the service's own worker) send them to fakes of Telegram and WeChat run as
local servers in this process (tests/outbox/fakes.py): they enforce the
platforms' limits, count per-chat and global rates, and the Telegram fake
announces a 429 (`retry_after` 3 s) every `--announce-every` messages and
counts every call that arrives inside a window it announced. Midway the
process holding the Telegram channel is SIGKILLed (with one process it is
started again at once; with more, the others take over).

Printed per scenario, with the single-process run as the baseline beside it:
duplicates (messages a chat got twice) beside the rows still claimed at the
kill (the most that may double), lost rows, max messages in any second per
channel and the shortest gap in one Telegram chat, calls inside announced
retry windows, reply latency p50/p99 while the broadcast ran, and the claim
time per tick (from the processes' own "outbox run stats" log lines).

Then the claim alone at growing backlogs (1,000 … 100,000 due rows): the
materialised-CTE claim of `bot.outbox.claims` beside the previous
`UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)` statement,
measured in the same run (the old one only up to a few thousand rows: it is
quadratic).

Run: .venv/bin/python bench/bench_outbox_soak.py [--small] [--processes 1,2,3]
(PostgreSQL: BENCH_DATABASE_URL, default postgresql+asyncpg://postgres@127.0.0.1:5432/postgres).
The full size (20,000 + 20,000) takes about 17 minutes per scenario at the
platforms' real pace; `--small` (1,500 + 1,500) about 90 seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import func, insert, select, text, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.outbox.claims import claim_statement, due_query  # noqa: E402
from models import ChatUser, Lease, OutboxMessage  # noqa: E402
from models.db import Database  # noqa: E402
from tests.outbox.fakes import Arrival, ClockedWeChat, FloodTelegram, max_in_any_second  # noqa: E402

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
OPEN = ("pending", "sending")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument(
        "--small", action="store_true", help="1,500 reminders + 1,500 broadcast (about 90 s a run)"
    )
    p.add_argument("--reminders", type=int, default=20_000)
    p.add_argument("--broadcast", type=int, default=20_000)
    p.add_argument("--telegram-share", type=float, default=0.7)
    p.add_argument("--processes", default="1,2,3")
    p.add_argument("--reply-every", type=float, default=0.5)
    p.add_argument("--announce-every", type=int, default=700)
    p.add_argument("--kill-at", type=float, default=0.5, help="fraction delivered when the holder is killed")
    p.add_argument("--claim-sizes", default="1000,10000,100000")
    p.add_argument("--old-claim-sizes", default="400,1200,2400")
    p.add_argument("--skip-claims", action="store_true")
    args = p.parse_args()
    if args.small:
        args.reminders = args.broadcast = 1_500
        args.announce_every = 400
    return args


# -- databases -------------------------------------------------------------------
class Scratch:
    """A throw-away PostgreSQL database."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.name = f"soak_{uuid.uuid4().hex[:10]}"
        self.url = f"{base.rsplit('/', 1)[0]}/{self.name}"

    async def _admin(self, sql: str) -> None:
        import asyncpg

        conn = await asyncpg.connect(self.base.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def create(self) -> Database:
        await self._admin(f'CREATE DATABASE "{self.name}"')
        db = Database(self.url)
        await db.migrate()
        return db

    async def drop(self) -> None:
        await self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


async def seed(db: Database, args: argparse.Namespace) -> tuple[list[str], list[str], list[int], list[int]]:
    """Users and the due rows; (telegram chats, wechat openids, telegram user ids, wechat user ids)."""
    users = max(args.reminders, args.broadcast)
    telegram = int(users * args.telegram_share)
    now = datetime.now(UTC)
    async with db.session() as s:
        await s.execute(
            insert(ChatUser),
            [
                {
                    "channel": "telegram" if n < telegram else "wechat",
                    "external_id": str(700_000 + n) if n < telegram else f"o-soak-{n}",
                    "created_at": now,
                    "last_inbound_at": now,
                    "reachable": True,
                }
                for n in range(users)
            ],
        )
        rows = (await s.execute(select(ChatUser.id, ChatUser.channel, ChatUser.external_id))).all()
    rows.sort(key=lambda r: r.id)
    ids = [r.id for r in rows]
    due = now - timedelta(seconds=1)
    batch: list[dict[str, Any]] = []
    for kind, count in (("reminder", args.reminders), ("broadcast", args.broadcast)):
        for n in range(count):
            key = f"{kind}-{n}"
            batch.append(
                {
                    "idempotency_key": key,
                    "chat_user_id": ids[n % users],
                    "kind": kind,
                    "lane": kind,
                    "text": f"{key} 关于开展2027年春季补贴性职业技能培训的通知",
                    "choices": [],
                    "due_at": due,
                    "status": "pending",
                    "attempts": 0,
                    "created_at": now,
                }
            )
    for start in range(0, len(batch), 5_000):
        async with db.session() as s:
            await s.execute(insert(OutboxMessage), batch[start : start + 5_000])
    async with db.engine.connect() as conn:
        await conn.execute(text("ANALYZE"))
    tg = [r for r in rows if r.channel == "telegram"]
    wx = [r for r in rows if r.channel == "wechat"]
    return [r.external_id for r in tg], [r.external_id for r in wx], [r.id for r in tg], [r.id for r in wx]


# -- the fakes ---------------------------------------------------------------------
async def serve(app: web.Application) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, int(port)


class Worker:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "outbox", "run", cwd=ROOT, env=self.env, stdout=log, stderr=log
        )
        log.close()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def stop(self, sig: signal.Signals) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(sig)
            await self.proc.wait()


# -- one scenario -------------------------------------------------------------------
async def scenario(processes: int, args: argparse.Namespace, base_url: str) -> dict[str, Any]:
    scratch = Scratch(base_url)
    db = await scratch.create()
    telegram = FloodTelegram(per_second=30, per_chat_interval=1.0)
    telegram.announce_every, telegram.announce_retry_after = args.announce_every, 3
    wechat = ClockedWeChat(per_second=100)
    tg_runner, tg_port = await serve(telegram.app())
    wx_runner, wx_port = await serve(wechat.app())
    tmp = Path(tempfile.mkdtemp(prefix="soak-"))
    workers: list[Worker] = []
    try:
        _, _, tg_ids, wx_ids = await seed(db, args)
        total = args.reminders + args.broadcast
        env = {
            **os.environ,
            "DATABASE_URL": scratch.url,
            "REDIS_URL": "",
            "LOG_LEVEL": "INFO",
            "TELEGRAM_BOT_TOKEN": telegram.token,
            "TELEGRAM_SECRET_TOKEN": "soak-secret",
            "TELEGRAM_API_BASE": f"http://127.0.0.1:{tg_port}",
            "WECHAT_APP_ID": wechat.app_id,
            "WECHAT_APP_SECRET": wechat.app_secret,
            "WECHAT_TOKEN": "soak-token",
            "WECHAT_API_BASE": f"http://127.0.0.1:{wx_port}",
        }
        workers = [Worker(env, tmp / f"worker-{n}.log") for n in range(processes)]
        started = time.monotonic()
        for worker in workers:
            await worker.start()

        def delivered() -> int:
            return len(telegram.arrivals) + len(wechat.arrivals)

        enqueued: dict[str, float] = {}
        stop_replies = asyncio.Event()
        broadcast_done: list[float] = []

        async def replies() -> None:
            n = 0
            rng = random.Random(13)
            while not stop_replies.is_set():
                n += 1
                on_wechat = n % 2 == 0 and wx_ids
                user = rng.choice(wx_ids if on_wechat else tg_ids)
                key = f"reply-{n}"
                async with db.session() as s:
                    await s.execute(
                        insert(OutboxMessage).values(
                            idempotency_key=key,
                            chat_user_id=user,
                            kind="reply",
                            lane="reply",
                            text=f"{key} 您好，您的问题已收到",
                            choices=[],
                            due_at=datetime.now(UTC),
                            status="pending",
                            attempts=0,
                            created_at=datetime.now(UTC),
                        )
                    )
                enqueued[key] = time.time()
                await asyncio.sleep(args.reply_every)

        async def watch_broadcast() -> None:
            while True:
                async with db.session() as s:
                    left = (
                        await s.execute(
                            select(func.count())
                            .select_from(OutboxMessage)
                            .where(OutboxMessage.kind != "reply", OutboxMessage.status.in_(OPEN))
                        )
                    ).scalar_one()
                if left == 0:
                    broadcast_done.append(time.time())
                    stop_replies.set()
                    return
                await asyncio.sleep(0.5)

        reply_task = asyncio.create_task(replies())
        watch_task = asyncio.create_task(watch_broadcast())
        deadline = time.monotonic() + 60 + total / 15
        while delivered() < total * args.kill_at:
            if time.monotonic() > deadline:
                raise TimeoutError("soak: too slow before the kill")
            await asyncio.sleep(0.05)
        async with db.session() as s:
            holder = (
                await s.execute(select(Lease.holder).where(Lease.name == "outbox:telegram"))
            ).scalar_one_or_none()
            claimed_at_kill = (
                await s.execute(
                    select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sending")
                )
            ).scalar_one()
        pid = int(str(holder).rsplit(":", 1)[1]) if holder else workers[0].pid
        victim = next((w for w in workers if w.pid == pid), workers[0])
        await victim.stop(signal.SIGKILL)
        killed_at = time.time()
        in_flight_window = len([a for a in telegram.arrivals + wechat.arrivals if a.wall > time.time() - 1.0])
        if processes == 1:
            workers.append(Worker(env, tmp / "worker-restarted.log"))
            await workers[-1].start()
        await asyncio.wait_for(watch_task, timeout=max(60.0, deadline - time.monotonic()))
        await reply_task
        # The last replies still go out.
        async with db.session() as s:
            for _ in range(600):
                left = (
                    await s.execute(
                        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status.in_(OPEN))
                    )
                ).scalar_one()
                if left == 0:
                    break
                await asyncio.sleep(0.1)
        wall = time.monotonic() - started
        for worker in workers:
            await worker.stop(signal.SIGTERM)
        return await results(
            db,
            telegram,
            wechat,
            enqueued,
            broadcast_done[0],
            killed_at,
            claimed_at_kill,
            in_flight_window,
            wall,
            tmp,
        )
    finally:
        for worker in workers:
            await worker.stop(signal.SIGKILL)
        await tg_runner.cleanup()
        await wx_runner.cleanup()
        await db.dispose()
        await scratch.drop()


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
    resumed = min((a.wall for a in arrivals if a.wall > killed_at), default=killed_at)
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


# -- the claim alone -------------------------------------------------------------------
def old_claim(now: datetime, limit: int) -> Any:
    """The claim before issue 13: the IN-subquery PostgreSQL planned as a re-run semi-join."""
    inner = due_query("telegram", now, limit).with_for_update(of=OutboxMessage, skip_locked=True)
    return (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(inner.scalar_subquery()), OutboxMessage.status == "pending")
        .values(status="sending", locked_until=now + timedelta(seconds=15))
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )


async def time_claim(db: Database, statement: Any, repeat: int) -> tuple[float, int]:
    """Median seconds of `repeat` claims (each rolled back, so every run sees the same backlog)."""
    times, claimed = [], 0
    for _ in range(repeat):
        async with db.engine.connect() as conn:
            transaction = await conn.begin()
            await conn.execute(text("SET LOCAL statement_timeout = '60s'"))
            start = time.perf_counter()
            claimed = len((await conn.execute(statement)).all())
            times.append(time.perf_counter() - start)
            await transaction.rollback()
    return statistics.median(times), claimed


async def claim_scaling(args: argparse.Namespace, base_url: str) -> None:
    sizes = sorted(
        {int(s) for s in args.claim_sizes.split(",")} | {int(s) for s in args.old_claim_sizes.split(",")}
    )
    old_sizes = {int(s) for s in args.old_claim_sizes.split(",")}
    scratch = Scratch(base_url)
    db = await scratch.create()
    try:
        now = datetime.now(UTC)
        async with db.session() as s:
            await s.execute(
                insert(ChatUser),
                [{"channel": "telegram", "external_id": str(n), "created_at": now} for n in range(1000)],
            )
        have = 0
        print("\nclaim of 60 rows vs due backlog (PostgreSQL, analysed tables; median of 5, rolled back)")
        head = f"  {'due rows':>9} {'CTE claim (ms)':>15} {'rows':>5} {'old IN claim (ms)':>18} {'rows':>6}"
        print(head + " ratio")
        for size in sizes:
            async with db.session() as s:
                await s.execute(
                    text(
                        "INSERT INTO outbox (idempotency_key, chat_user_id, kind, lane, text, choices,"
                        " due_at, status, attempts, created_at) SELECT 'bulk:' || g,"
                        " (SELECT min(id) FROM chat_users) + g % 1000, 'broadcast', 'broadcast', 'x', '[]',"
                        " :due, 'pending', 0, :due"
                        " FROM generate_series(CAST(:start AS integer), CAST(:stop AS integer)) AS g"
                    ),
                    {"due": now - timedelta(minutes=1), "start": have + 1, "stop": size},
                )
            have = size
            async with db.engine.connect() as conn:
                await conn.execute(text("ANALYZE outbox"))
                await conn.commit()
            new = claim_statement(
                "postgresql",
                channel="telegram",
                now=now,
                limit=60,
                lease_seconds=15,
                lane="broadcast",
                token="b" * 32,
            )
            new_s, new_rows = await time_claim(db, new, 5)
            line = f"  {size:>9,} {new_s * 1000:>15.1f} {new_rows:>5}"
            if size in old_sizes:
                old_s, old_rows = await time_claim(db, old_claim(now, 60), 1)
                line += f" {old_s * 1000:>18.1f} {old_rows:>6} {old_s / new_s:>5.0f}x"
            print(line)
    finally:
        await db.dispose()
        await scratch.drop()


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
        ("wall time (s)", "wall", "{:.0f}"),
    ]
    for label, key, fmt in rows:
        print(f"{label:40}" + "".join(f"{fmt.format(reports[n][key]):>16}" for n in names))
    for n in names:
        print(f"statuses with {n}: {reports[n]['statuses']}")


async def main() -> None:
    args = parse_args()
    base_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    counts = [int(n) for n in args.processes.split(",")]
    print(
        f"soak: {args.reminders:,} reminders + {args.broadcast:,}-recipient broadcast due at once, a reply "
        f"every {args.reply_every}s, 429 announced every {args.announce_every} Telegram messages, "
        f"holder SIGKILLed at {args.kill_at:.0%}; processes {counts} (baseline: 1)"
    )
    reports: dict[int, dict[str, Any]] = {}
    for n in counts:
        reports[n] = await scenario(n, args, base_url)
        print(f"  {n} process(es): done in {reports[n]['wall']:.0f}s", flush=True)
    show(reports)
    if not args.skip_claims:
        await claim_scaling(args, base_url)


if __name__ == "__main__":
    asyncio.run(main())
