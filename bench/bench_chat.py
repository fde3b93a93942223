"""Chat turns per second through real `python -m bot serve` processes, beside bare aiohttp.

One run prints, for a realistic morning mix at 32 concurrent users (half of
them bound trainees saying 签到 and 补贴到哪了, half asking greetings, menu and
policy questions and stepping through the eligibility screening):
- turns/s, p50 and p99 on SQLite, and on PostgreSQL with 1, 2 and 3 processes,
  each as a ratio to a bare aiohttp JSON endpoint measured in the same run by
  the same client;
- CPU milliseconds per turn of the server processes (a greeting; a bound
  补贴到哪了);
- the WeChat passive reply's p50/p99 at 16 users (signed XML to /wechat);
- cold start (empty data directory) and warm start (second start), spawn to
  the first 200 from /healthz, and the YAML read time of config/ with the pure
  Python and the libyaml loader.

PostgreSQL: BENCH_DATABASE_URL (a database to create a scratch one next to),
default postgresql+asyncpg://postgres@127.0.0.1:5432/postgres; skipped with a
note when it does not answer.
Run: .venv/bin/python bench/bench_chat.py  (or `make bench`)
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import yaml
from aiohttp import ClientSession, TCPConnector, web
from wechatpy.utils import WeChatSigner

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.scratch_db import Scratch  # noqa: E402

USERS = int(os.environ.get("BENCH_USERS", "32"))
TURNS = int(os.environ.get("BENCH_TURNS", "24"))
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


def _load() -> str:
    """The machine's load beside the figures (`uptime`'s averages), as they depend on it."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of the processes, from /proc (Linux)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


class Server:
    """`python -m bot serve` (or the bare endpoint) as a child process."""

    def __init__(self, env: dict[str, str], *, bare: bool = False) -> None:
        self.port = _free_port()
        cmd = (
            [sys.executable, "-c", BARE_SERVER, str(self.port)]
            if bare
            else [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        )
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )

    async def ready(self, session: ClientSession, limit: float = 300.0) -> float:
        deadline = time.perf_counter() + limit
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(f"server exited during start:\n{err[-2000:]}")
            with suppress(OSError):
                async with session.get(f"http://127.0.0.1:{self.port}/healthz") as resp:
                    if resp.status == 200:
                        return time.perf_counter() - self.started
            await asyncio.sleep(0.02)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()


BARE_SERVER = """
import sys
from aiohttp import web
async def echo(request):
    body = await request.json()
    return web.json_response({"replies": [{"text": body.get("text", ""), "choices": []}]})
async def health(request):
    return web.json_response({"status": "ok"})
app = web.Application()
app.router.add_post("/api/v1/chat", echo)
app.router.add_get("/healthz", health)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def chat_body(uid: int, i: int) -> dict[str, str]:
    script = BOUND_SCRIPT if uid < BOUND else OPEN_SCRIPT
    return {"user_id": f"bench-{uid}", "text": script[i % len(script)]}


async def _drive(
    session: ClientSession, ports: list[int], body: Body, *, users: int = USERS, turns: int = TURNS
) -> tuple[float, list[float]]:
    latencies: list[float] = []

    async def user(uid: int) -> None:
        url = f"http://127.0.0.1:{ports[uid % len(ports)]}/api/v1/chat"
        for i in range(turns):
            t0 = time.perf_counter()
            async with session.post(url, json=body(uid, i)) as resp:
                await resp.read()
                assert resp.status == 200, resp.status
            latencies.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(user(u) for u in range(users)))
    return time.perf_counter() - t0, latencies


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


def _line(label: str, seconds: float, lat: list[float], base_rate: float | None = None) -> str:
    rate = len(lat) / seconds
    ratio = f"   ratio {rate / base_rate:.3f}" if base_rate else ""
    return (
        f"  {label:<26} {rate:8.1f} turns/s   p50 {statistics.median(lat) * 1000:6.1f} ms"
        f"   p99 {_pct(lat, 0.99):6.1f} ms{ratio}"
    )


def _env(data_dir: Path, database_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "BOT_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "SCHEDULER_ENABLED": "false",
        "SEED_DEMO": "false",
        "LOG_LEVEL": "WARNING",
        "SLOW_TURN_MS": "100000",
        **extra,
    }


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
    servers = [Server(_env(data_dir, url)) for _ in range(procs)]
    try:
        for server in servers:
            await server.ready(session)
        ports = [s.port for s in servers]
        await _drive(session, ports, chat_body, turns=len(BOUND_SCRIPT))  # warm-up
        seconds, lat = await _drive(session, ports, chat_body)
        return [_line(f"{label}, {procs} process{'es' if procs > 1 else ''}", seconds, lat, bare_rate)]
    finally:
        for server in servers:
            server.stop()


async def _cpu_per_turn(session: ClientSession, data_dir: Path, url: str) -> list[str]:
    server = Server(_env(data_dir, url))
    lines = []
    try:
        await server.ready(session)
        cases: list[tuple[str, Body, int]] = [
            ("greeting 你好", lambda u, i: {"user_id": f"bench-cpu-{u}", "text": "你好"}, USERS),
            ("bound 补贴到哪了", lambda u, i: {"user_id": f"bench-{u}", "text": "补贴到哪了"}, BOUND),
        ]
        for label, body, users in cases:
            await _drive(session, [server.port], body, users=users, turns=3)
            before = _cpu_seconds([server.proc.pid])
            _, lat = await _drive(session, [server.port], body, users=users, turns=20)
            cpu_ms = (_cpu_seconds([server.proc.pid]) - before) * 1000 / len(lat)
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
    fake_port = _free_port()
    await web.TCPSite(fake_runner, "127.0.0.1", fake_port).start()
    env = _env(
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
        f"   p99 {_pct(latencies, 0.99):6.1f} ms   ({len(latencies)} messages)"
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
    print(f"chat benchmark: {USERS} users x {TURNS} turns ({BOUND} of them bound trainees)")
    print(f"  {_load()}   (other work on the machine inflates the absolute figures; ratios less so)")
    print(f"  goals (issue 17): {GOALS}")
    async with ClientSession(connector=TCPConnector(limit=0)) as session:
        # Starts: cold on an empty data directory, then warm.
        cold = Server(_env(sqlite_dir, ""))
        cold_s = await cold.ready(session)
        cold.stop()
        warm_runs = []
        for _ in range(2):
            warm = Server(_env(sqlite_dir, ""))
            warm_runs.append(await warm.ready(session))
            warm.stop()
        await _prepare(sqlite_dir, "")

        bare = Server(_env(sqlite_dir, ""), bare=True)
        await bare.ready(session)
        await _drive(session, [bare.port], chat_body, turns=8)
        bare_s, bare_lat = await _drive(session, [bare.port], chat_body)
        bare.stop()
        bare_rate = len(bare_lat) / bare_s
        print(_line("bare aiohttp", bare_s, bare_lat))
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
    print(f"  {_load()}")


if __name__ == "__main__":
    asyncio.run(main())
