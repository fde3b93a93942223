"""Chat turns per second through real `python -m bot serve` processes, beside bare aiohttp.

One run prints, for a realistic morning mix at 32 concurrent users (half of
them bound trainees saying 签到 and 补贴到哪了, half asking greetings, menu and
policy questions and stepping through the eligibility screening):
- turns/s, p50 and p99 on SQLite, and on PostgreSQL with 1, 2 and 3 processes,
  each as a ratio to a bare aiohttp JSON endpoint measured in the same run the
  same way: the same client, 32 users in a closed loop, the fastest of
  BENCH_BEST_OF (3) windows of BENCH_SECONDS (4 s) after a warm-up window. The
  client runs in this process on the same cores: its CPU share is printed, as
  the bare figure is partly the client's limit (it is what one client drives);
- CPU milliseconds per turn of the server processes (a greeting; a bound
  补贴到哪了);
- the WeChat passive reply's p50/p99 at 16 users (signed XML to /wechat);
- cold start (empty data directory) and warm start (second start), spawn to
  the first 200 from /healthz, and the YAML read time of config/ with the pure
  Python and the libyaml loader.

Recorded (2 Dec 2026, the shared 2-core machine, load 1.5-3.4): bare aiohttp
6,100-10,100 turns/s with the client at 61-78 % of a core, so the issue's 0.35
would be 2,100-3,500 turns/s, 0.3-0.5 ms per turn; SQLite measured 582 turns/s,
ratio 0.095 (0.052 before issue 17's turn work of that day, same bench, same hour).
3 Dec 2026 (same machine, load 0.6-2.0): the turn's fixed statements on the inline
driver, the answer cache and cached metric children: SQLite 451 -> 612 turns/s, ratio
0.057 -> 0.087 (bare 7,968 / 7,010), p99 85.7 -> 65.3 ms; CPU per greeting 2.05 -> 1.31 ms,
per bound 补贴到哪了 2.44 -> 1.72 ms; WeChat p99 155 -> 135 ms; warm start 1.76 / 1.85 s;
PostgreSQL 405 / 441 / 439 turns/s with 1 / 2 / 3 processes.
4 Dec 2026 (load 0.4-2.2): WAL checkpoints moved to a thread; alternating A/B, 6 rounds
each, 916 -> 940 turns/s (within the machine's noise: the same code ranged 827-1,025), p99
52.1 / 52.4 ms, the longest pause between two answers 8-13 -> 5-8 ms; a full run gave SQLite
703 turns/s, ratio 0.083, p99 71.8 ms, CPU 1.02 / 1.62 ms, WeChat p99 220 ms, warm 2.14 s.
Then cn2an imported at the first numeral and Alembic only when a migration is due:
alternating warm starts 2.31 -> 1.69 s (median of 4); a full run at 6a8218d gave SQLite 730
turns/s, ratio 0.107 (bare 6,816), p99 74.4 ms, CPU 1.08 / 1.72 ms, WeChat p99 187 ms,
warm 1.89 s, PostgreSQL 380 / 442 / 389 turns/s.
4 Dec 2026, a later session (the machine in a slow phase: pure-Python YAML 1.0-1.3 s
against 0.8 s in the run above): bytecode compiled by make install, jieba's dictionary read
by character, the vocabulary cached; instructions to the first /healthz 200 (callgrind) 9.08 -> 6.42 G,
alternating warm starts 1.57-1.96 -> 1.02-1.50 s (medians of 3, 4 rounds), RSS at ready
203 -> 159 MB; alternating SQLite throughput 786 -> 831 and 647 -> 684 turns/s (medians of
6 and 8 rounds); a full run gave SQLite 679 turns/s, ratio 0.104 (bare 6,517), p99 74.8 ms,
CPU 1.36 / 2.22 ms, WeChat p99 227 ms, warm 1.67 s, PostgreSQL 321 / 367 / 370 turns/s;
twenty minutes later, the machine in a fast phase (YAML 0.85 s), the same code gave bare
10,544, SQLite 993 turns/s, ratio 0.094, p99 44.5 ms, CPU 0.89 / 1.44 ms, WeChat p99 96 ms,
warm 1.20 s, PostgreSQL 309 / 386 / 449 turns/s.

PostgreSQL: BENCH_DATABASE_URL (a database to create a scratch one next to),
default postgresql+asyncpg://postgres@127.0.0.1:5432/postgres; skipped with a
note when it does not answer.
Run: .venv/bin/python bench/bench_chat.py  (or `make bench`)
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from aiohttp import ClientSession, TCPConnector, web
from wechatpy.utils import WeChatSigner

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.chat_harness import Server, cpu_seconds, free_port, load, pct, server_env  # noqa: E402
from bench.scratch_db import Scratch  # noqa: E402

USERS = int(os.environ.get("BENCH_USERS", "32"))
TURNS = int(os.environ.get("BENCH_TURNS", "24"))  # per user, for the CPU and WeChat parts
# Throughput: the fastest of BEST_OF windows of WINDOW_S seconds each, bare and bot alike.
WINDOW_S = float(os.environ.get("BENCH_SECONDS", "4"))
BEST_OF = int(os.environ.get("BENCH_BEST_OF", "3"))
WECHAT_USERS = 16
BOUND = USERS // 2
WECHAT_TOKEN = "bench-wechat-token"
BOUND_SCRIPT = ["你好", "签到", "补贴到哪了", "菜单", "我的出勤率", "签到", "补贴到哪了", "谢谢"]
OPEN_SCRIPT = ["你好", "菜单", "我能享受培训补贴吗", "不清楚", "不清楚", "取消", "补贴标准是多少", "谢谢"]
Body = Callable[[int, int], Any]


GOALS = (
    "SQLite ratio >= 0.35 and p99 <= 60 ms; CPU <= 1.5 ms greeting, <= 3 ms bound 补贴到哪了;"
    " WeChat p99 <= 300 ms; warm start <= 2 s; PostgreSQL turns/s growing 1 -> 2 processes"
)


def chat_body(uid: int, i: int) -> dict[str, str]:
    script = BOUND_SCRIPT if uid < BOUND else OPEN_SCRIPT
    return {"user_id": f"bench-{uid}", "text": script[i % len(script)]}


@dataclass
class Window:
    """One run of the closed loop: each user sends its next message as soon as the last is answered."""

    seconds: float
    latencies: list[float]
    client_cpu: float  # this (client) process's CPU seconds meanwhile

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds


async def _drive(
    session: ClientSession,
    ports: list[int],
    body: Body,
    *,
    users: int = USERS,
    turns: int | None = None,
    said: list[int] | None = None,
) -> Window:
    """`turns` messages per user, or (None) as many as fit in WINDOW_S, the last answers waited
    for; `said[uid]` carries each user's place in its script from one window to the next."""
    said = said if said is not None else [0] * users
    latencies: list[float] = []
    deadline = time.perf_counter() + WINDOW_S

    async def user(uid: int) -> None:
        url = f"http://127.0.0.1:{ports[uid % len(ports)]}/api/v1/chat"
        stop = said[uid] + turns if turns is not None else None
        while said[uid] < stop if stop is not None else time.perf_counter() < deadline:
            t0 = time.perf_counter()
            async with session.post(url, json=body(uid, said[uid])) as resp:
                await resp.read()
                assert resp.status == 200, resp.status
            latencies.append(time.perf_counter() - t0)
            said[uid] += 1

    cpu0, t0 = time.process_time(), time.perf_counter()
    await asyncio.gather(*(user(u) for u in range(users)))
    return Window(time.perf_counter() - t0, latencies, time.process_time() - cpu0)


async def _best_window(session: ClientSession, ports: list[int]) -> Window:
    """The fastest of BEST_OF windows after one warm-up window: the same for the bare
    endpoint and for the bot, so neither is measured on a shorter or luckier run."""
    said = [0] * USERS
    await _drive(session, ports, chat_body, said=said)  # warm-up: connections, caches, users
    windows = [await _drive(session, ports, chat_body, said=said) for _ in range(BEST_OF)]
    return max(windows, key=lambda w: w.rate)


def _line(label: str, w: Window, base_rate: float | None = None) -> str:
    ratio = f"   ratio {w.rate / base_rate:.3f}" if base_rate else ""
    return (
        f"  {label:<26} {w.rate:8.1f} turns/s   p50 {statistics.median(w.latencies) * 1000:6.1f} ms"
        f"   p99 {pct(w.latencies, 0.99):6.1f} ms   ({len(w.latencies)} turns in {w.seconds:4.1f} s,"
        f" client CPU {w.client_cpu / w.seconds:4.0%}){ratio}"
    )


async def bind_demo_trainees(services: Any, count: int) -> None:
    """Bind web users bench-0 … bench-(count-1) to demo trainees, the drop-in class's first
    (its lesson is open now, so their 签到 is recorded, not refused)."""
    from sqlalchemy import select

    from models import ChatUser, Enrollment, Trainee, TrainingClass

    drop_in = yaml.safe_load((ROOT / "config/demo/demo.yaml").read_text(encoding="utf-8"))["drop_in"]
    async with services.db.session() as db:
        ids = (
            await db.execute(
                select(Trainee.id)
                .join(Enrollment, Enrollment.trainee_id == Trainee.id)
                .join(TrainingClass, TrainingClass.id == Enrollment.class_id)
                .order_by(TrainingClass.code != drop_in["class"], Trainee.id)
            )
        ).scalars()
        now = services.clock.now()
        for uid, trainee_id in enumerate(list(dict.fromkeys(ids))[:count]):
            db.add(ChatUser(channel="web", external_id=f"bench-{uid}", trainee_id=trainee_id, bound_at=now))


async def _prepare(data_dir: Path, database_url: str) -> None:
    """Migrate, seed the demo (a drop-in lesson open now) and bind the first BOUND users."""
    from bot.app import create_app
    from bot.settings import load_settings

    settings = load_settings(bot_data_dir=data_dir, database_url=database_url, scheduler_enabled=False)
    settings = settings.model_copy(update={"seed_demo": True})
    app = create_app(settings, scheduler=False)
    runner = web.AppRunner(app)
    await runner.setup()  # on_startup: migrate + prepare_demo
    try:
        services = app["services"]
        await bind_demo_trainees(services, BOUND)
    finally:
        await runner.cleanup()


async def _measure_backend(
    session: ClientSession, label: str, data_dir: Path, url: str, procs: int, bare_rate: float
) -> list[str]:
    servers = [Server(server_env(data_dir, url)) for _ in range(procs)]
    try:
        for server in servers:
            await server.ready(session)
        best = await _best_window(session, [s.port for s in servers])
        return [_line(f"{label}, {procs} process{'es' if procs > 1 else ''}", best, bare_rate)]
    finally:
        for server in servers:
            server.stop()


async def _cpu_per_turn(session: ClientSession, data_dir: Path, url: str) -> list[str]:
    server = Server(server_env(data_dir, url))
    lines = []
    try:
        await server.ready(session)
        cases: list[tuple[str, Body, int]] = [
            ("greeting 你好", lambda u, i: {"user_id": f"bench-cpu-{u}", "text": "你好"}, USERS),
            ("bound 补贴到哪了", lambda u, i: {"user_id": f"bench-{u}", "text": "补贴到哪了"}, BOUND),
        ]
        for label, body, users in cases:
            await _drive(session, [server.port], body, users=users, turns=3)
            before = cpu_seconds([server.proc.pid])
            run = await _drive(session, [server.port], body, users=users, turns=20)
            cpu_ms = (cpu_seconds([server.proc.pid]) - before) * 1000 / len(run.latencies)
            lines.append(f"  CPU per turn, {label:<18} {cpu_ms:6.2f} ms")
    finally:
        server.stop()
    return lines


def _wechat_xml(openid: str, content: str, msg_id: int) -> bytes:
    return (
        "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{int(time.time())}</CreateTime>"
        f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
        f"<MsgId>{msg_id}</MsgId></xml>"
    ).encode()


async def _wechat(session: ClientSession, data_dir: Path, url: str) -> list[str]:
    from tests.fakes.fake_wechat import FakeWeChat

    fake = FakeWeChat()
    fake_runner = web.AppRunner(fake.app(), access_log=None)
    await fake_runner.setup()
    fake_port = free_port()
    await web.TCPSite(fake_runner, "127.0.0.1", fake_port).start()
    env = server_env(
        data_dir,
        url,
        WECHAT_TOKEN=WECHAT_TOKEN,
        WECHAT_APP_ID=fake.app_id,
        WECHAT_APP_SECRET=fake.app_secret,
        WECHAT_API_BASE=f"http://127.0.0.1:{fake_port}",
    )
    server = Server(env)
    latencies: list[float] = []
    counter = iter(range(10**9))
    try:
        await server.ready(session)

        async def user(uid: int) -> None:
            for i in range(TURNS):
                ts, nonce = str(int(time.time())), str(uid * 1000 + i)
                signer = WeChatSigner()
                signer.add_data(WECHAT_TOKEN, ts, nonce)
                query = {"signature": signer.signature, "timestamp": ts, "nonce": nonce}
                body = _wechat_xml(f"o-bench-{uid}", OPEN_SCRIPT[i % len(OPEN_SCRIPT)], next(counter) + 1)
                t0 = time.perf_counter()
                async with session.post(
                    f"http://127.0.0.1:{server.port}/wechat", params=query, data=body
                ) as r:
                    await r.read()
                    assert r.status == 200, r.status
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(user(u) for u in range(WECHAT_USERS)))
        latencies.clear()
        await asyncio.gather(*(user(u) for u in range(WECHAT_USERS)))
    finally:
        server.stop()
        await fake_runner.cleanup()
    return [
        f"  WeChat passive reply, {WECHAT_USERS} users: p50 {statistics.median(latencies) * 1000:6.1f} ms"
        f"   p99 {pct(latencies, 0.99):6.1f} ms   ({len(latencies)} messages)"
    ]


def _yaml_read() -> str:
    files = sorted((ROOT / "config").rglob("*.yaml"))
    texts = [p.read_text(encoding="utf-8") for p in files]
    timings = {}
    for name, loader in (("pure Python", yaml.SafeLoader), ("libyaml", getattr(yaml, "CSafeLoader", None))):
        if loader is None:
            continue
        t0 = time.perf_counter()
        for text in texts:
            yaml.load(text, Loader=loader)
        timings[name] = (time.perf_counter() - t0) * 1000
    parts = "   ".join(f"{k} {v:6.1f} ms" for k, v in timings.items())
    return f"  YAML read of config/ ({len(files)} files): {parts}"


async def _pg_scratch() -> Scratch | None:
    import asyncpg

    base = os.environ.get("BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")
    scratch = Scratch(base, prefix="bench_chat")
    try:
        await scratch.make(connect_timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        print(f"  PostgreSQL skipped ({exc.__class__.__name__}: {exc})")
        return None
    return scratch


async def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-chat-"))
    sqlite_dir = root / "sqlite"
    print(
        f"chat benchmark: {USERS} users ({BOUND} of them bound trainees) in a closed loop, the mix;"
        f" turns/s = the best of {BEST_OF} windows of {WINDOW_S:g} s after a warm-up window, the same"
        " client, concurrency and windows for the bare aiohttp endpoint and the bot; ratio = bot / bare"
    )
    print(f"  {load()}   (other work on the machine inflates the absolute figures; ratios less so)")
    print(f"  goals (issue 17): {GOALS}")
    async with ClientSession(connector=TCPConnector(limit=0)) as session:
        # Starts: cold on an empty data directory, then warm.
        cold = Server(server_env(sqlite_dir, ""))
        cold_s = await cold.ready(session)
        cold.stop()
        warm_runs = []
        for _ in range(2):
            warm = Server(server_env(sqlite_dir, ""))
            warm_runs.append(await warm.ready(session))
            warm.stop()
        await _prepare(sqlite_dir, "")

        bare = Server(server_env(sqlite_dir, ""), bare=True)
        await bare.ready(session)
        try:
            bare_best = await _best_window(session, [bare.port])
        finally:
            bare.stop()
        print(_line("bare aiohttp (baseline)", bare_best))
        bare_rate = bare_best.rate
        for line in await _measure_backend(session, "SQLite", sqlite_dir, "", 1, bare_rate):
            print(line, flush=True)
        scratch = await _pg_scratch()
        if scratch is not None:
            pg_url = scratch.url
            pg_dir = root / "pg"
            try:
                await _prepare(pg_dir, pg_url)
                for procs in (1, 2, 3):
                    for line in await _measure_backend(
                        session, "PostgreSQL", pg_dir, pg_url, procs, bare_rate
                    ):
                        print(line, flush=True)
            finally:
                await scratch.drop()
        for line in await _cpu_per_turn(session, sqlite_dir, ""):
            print(line, flush=True)
        for line in await _wechat(session, sqlite_dir, ""):
            print(line, flush=True)
    print(f"  start, cold (empty data dir): {cold_s:5.2f} s   warm: {min(warm_runs):5.2f} s (best of 2)")
    print(_yaml_read())
    print(f"  {load()}")


if __name__ == "__main__":
    asyncio.run(main())
