"""The chat bench's processes and measures: the bot (or the bare endpoint) as a child process,
its CPU from /proc, free ports, percentiles, the machine's load."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

from aiohttp import ClientSession

ROOT = Path(__file__).resolve().parents[1]


def load() -> str:
    """The machine's load beside the figures (`uptime`'s averages), as they depend on it."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of the processes, from /proc (Linux)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


class Server:
    """`python -m bot serve` (or the bare endpoint) as a child process."""

    def __init__(self, env: dict[str, str], *, bare: bool = False) -> None:
        self.port = free_port()
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


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000


def server_env(data_dir: Path, database_url: str, **extra: str) -> dict[str, str]:
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
