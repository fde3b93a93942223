"""Chat turns per second through POST /api/v1/chat, beside a bare aiohttp JSON endpoint.

32 concurrent users, each sending a fixed script of messages, against a real
server on 127.0.0.1 (SQLite by default; BENCH_DATABASE_URL for PostgreSQL).
The bare endpoint in the same run shows what the framework alone costs, so
the ratio is the price of the engine, the NLU and the database.

Run: .venv/bin/python bench/bench_chat.py  (or `make bench`)
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from aiohttp import ClientSession, TCPConnector, web

from bot.app import create_app
from bot.settings import load_settings

USERS = int(os.environ.get("BENCH_USERS", "32"))
TURNS = int(os.environ.get("BENCH_TURNS", "25"))
SCRIPT = ["你好", "菜单", "我的出勤率", "签到", "补贴到哪了", "谢谢", "转人工", "今天天气怎么样"]


async def _user(session: ClientSession, url: str, uid: int, latencies: list[float], body_for) -> None:
    for i in range(TURNS):
        payload = body_for(uid, i)
        t0 = time.perf_counter()
        async with session.post(url, json=payload) as resp:
            await resp.read()
            assert resp.status == 200, resp.status
        latencies.append(time.perf_counter() - t0)


async def _run(url: str, body_for) -> tuple[float, list[float]]:
    latencies: list[float] = []
    async with ClientSession(connector=TCPConnector(limit=USERS)) as session:
        t0 = time.perf_counter()
        await asyncio.gather(*(_user(session, url, u, latencies, body_for) for u in range(USERS)))
        elapsed = time.perf_counter() - t0
    return elapsed, latencies


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


async def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-chat-"))
    settings = load_settings(
        bot_data_dir=tmp,
        database_url=os.environ.get("BENCH_DATABASE_URL", ""),
        scheduler_enabled=False,
        seed_demo=False,
    )
    app = create_app(settings, scheduler=False)

    bare = web.Application()

    async def echo(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response({"replies": [{"text": body.get("text", ""), "choices": []}]})

    bare.router.add_post("/echo", echo)

    runners = []
    for application, port in ((app, 18931), (bare, 18932)):
        runner = web.AppRunner(application, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runners.append(runner)

    def chat_body(uid: int, i: int) -> dict[str, str]:
        return {"user_id": f"bench-{uid}", "text": SCRIPT[i % len(SCRIPT)]}

    # Warm-up: users exist, caches are hot.
    await _run("http://127.0.0.1:18931/api/v1/chat", chat_body)
    bot_s, bot_lat = await _run("http://127.0.0.1:18931/api/v1/chat", chat_body)
    bare_s, bare_lat = await _run("http://127.0.0.1:18932/echo", chat_body)
    for runner in runners:
        await runner.cleanup()

    n = USERS * TURNS
    db_kind = "PostgreSQL" if settings.database_url.startswith("postgresql") else "SQLite"
    print(f"chat benchmark: {USERS} concurrent users x {TURNS} turns = {n} requests, database {db_kind}")
    print(
        f"  /api/v1/chat : {n / bot_s:8.1f} turns/s   p50 {statistics.median(bot_lat) * 1000:6.1f} ms"
        f"   p99 {_pct(bot_lat, 0.99):6.1f} ms"
    )
    print(
        f"  bare aiohttp : {n / bare_s:8.1f} req/s     p50 {statistics.median(bare_lat) * 1000:6.1f} ms"
        f"   p99 {_pct(bare_lat, 0.99):6.1f} ms"
    )
    print(f"  ratio chat/bare throughput: {(n / bot_s) / (n / bare_s):.3f}")


if __name__ == "__main__":
    asyncio.run(main())
