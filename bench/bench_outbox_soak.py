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
counts every call that arrives inside a window it announced (default every
5,000 messages, see `--announce-every`; `--small` every 400). Midway the
process holding the Telegram channel is SIGKILLed (with one process it is
started again at once; with more, the others take over).

Printed per scenario, with the single-process run as the baseline beside it:
duplicates (messages a chat got twice) beside the rows still claimed at the
kill (the most that may double), lost rows, max messages in any second per
channel and the shortest gap in one Telegram chat, calls inside announced
retry windows, reply latency p50/p99 while the broadcast ran, and the claim
time per tick (from the processes' own "outbox run stats" log lines).

Then the claim alone at growing backlogs (bench/bench_outbox_claim.py).

Run: .venv/bin/python bench/bench_outbox_soak.py [--small] [--processes 1,2,3]
(PostgreSQL: BENCH_DATABASE_URL, default postgresql+asyncpg://postgres@127.0.0.1:5432/postgres).
The full size (20,000 + 20,000) takes about 20 minutes per scenario at the
platforms' real pace (longer on a machine others load); `--small` (1,500 + 1,500)
about two minutes. On a server with autovacuum off the bench vacuums the churned
tables itself every `--vacuum-every` seconds (bench/scratch_db.py), as
production's autovacuum would (dead row versions in the claim's and renewals'
index ranges are a likely cause of the earlier full-size runs bogging down;
not measured apart).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import func, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_outbox_soak_report import results, show  # noqa: E402
from scratch_db import Scratch  # noqa: E402

from bot.outbox import enqueue  # noqa: E402
from models import ChatUser, Lease, OutboxMessage  # noqa: E402
from models.db import Database  # noqa: E402
from tests.outbox.fakes import ClockedWeChat, FloodTelegram  # noqa: E402

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
    # A bot that keeps under Telegram's limits (28/s, 1.05 s a chat) is rarely told to wait:
    # a 429 every 5,000 messages (one every 3 minutes at full pace, 5 or 6 in a full soak)
    # still exercises the bot-wide pause several times per run without making pauses the
    # run's main event (700 meant a 3 s pause every 25 s: 12 % of the time paused).
    p.add_argument("--announce-every", type=int, default=5_000)
    p.add_argument(
        "--min-rate", type=float, default=15.0, help="messages/s below which a run is given up as stuck"
    )
    p.add_argument("--kill-at", type=float, default=0.5, help="fraction delivered when the holder is killed")
    p.add_argument("--claim-sizes", default="1000,10000,100000")
    p.add_argument("--old-claim-sizes", default="400,1200,2400")
    p.add_argument("--skip-claims", action="store_true")
    p.add_argument(
        "--vacuum-every",
        type=float,
        default=15.0,
        help="seconds between the bench's own VACUUM of the churned tables when the server's "
        "autovacuum is off (0: never)",
    )
    args = p.parse_args()
    if args.small:
        args.reminders = args.broadcast = 1_500
        args.announce_every = 400
    return args


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
    stop_vacuum = asyncio.Event()
    vacuum_seen: dict[str, int] = {}
    vacuum_task: asyncio.Task[None] | None = None
    try:
        _, _, tg_ids, wx_ids = await seed(db, args)
        vacuum_task = asyncio.create_task(scratch.vacuum_while(args.vacuum_every, stop_vacuum, vacuum_seen))
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
                    # As a turn of a `serve` process does: the row, and a word to the holder on commit.
                    await enqueue(
                        s,
                        key=key,
                        chat_user_id=user,
                        kind="reply",
                        text=f"{key} 您好，您的问题已收到",
                        due_at=datetime.now(UTC),
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

        booted = time.monotonic() + 120
        while delivered() == 0:  # replies start once the workers are up (their start-up is not latency)
            if time.monotonic() > booted:
                raise TimeoutError("soak: the workers sent nothing")
            await asyncio.sleep(0.05)
        reply_task = asyncio.create_task(replies())
        watch_task = asyncio.create_task(watch_broadcast())
        deadline = time.monotonic() + 60 + total / args.min_rate
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
        stop_vacuum.set()
        await vacuum_task
        report = await results(
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
        report["vacuums"] = vacuum_seen.get("vacuums", 0)
        report["dead_versions_max"] = vacuum_seen.get("dead", 0)
        return report
    finally:
        stop_vacuum.set()
        if vacuum_task is not None:
            await asyncio.gather(vacuum_task, return_exceptions=True)
        for worker in workers:
            await worker.stop(signal.SIGKILL)
        await tg_runner.cleanup()
        await wx_runner.cleanup()
        await db.dispose()
        await scratch.drop()


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
        show({n: reports[n]})  # each scenario as it ends: a long soak cut short keeps what it measured
    print("\nall scenarios:")
    show(reports)
    if not args.skip_claims:
        from bench_outbox_claim import claim_scaling

        await claim_scaling(args.claim_sizes, args.old_claim_sizes, base_url)


if __name__ == "__main__":
    asyncio.run(main())
