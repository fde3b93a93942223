"""`python -m bot serve` starts with the garbage collector off and turns it on when ready.

The collector's passes over the growing start-up heap were about a fifth of a
warm start, so `serve` starts without it and freezes the start-up heap once the
app is built. Left off, every reference cycle made while serving (tracebacks,
closures, ORM state) would be kept until the process ends: here the server must
be collecting again once it answers, and answer as before.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
START_LIMIT_S = 120.0  # a hang detector for a cold start on a loaded machine, not a speed target


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.read().decode()


def _young_collections(port: int) -> float:
    text = _get(f"http://127.0.0.1:{port}/metrics")
    found = re.search(r'^python_gc_collections_total\{generation="0"\} (\S+)$', text, re.M)
    assert found, "no garbage collector counters in /metrics"
    return float(found.group(1))


def _chat(port: int, user: str, text: str) -> list[str]:
    body = json.dumps({"user_id": user, "text": text}).encode()
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/chat", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return [r["text"] for r in json.loads(resp.read())["replies"]]


def test_serve_collects_garbage_once_it_answers(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "BOT_DATA_DIR": str(tmp_path),
        "DATABASE_URL": "",
        "SCHEDULER_ENABLED": "false",
        "LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + START_LIMIT_S
        while True:
            assert proc.poll() is None, "serve exited during start"
            assert time.monotonic() < deadline, "serve did not answer /healthz"
            try:
                _get(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                time.sleep(0.1)
        before = _young_collections(port)
        for n in range(20):
            assert _chat(port, f"gc-{n % 4}", ["你好", "补贴怎么领", "我要签到", "qiandao"][n % 4])
        assert _young_collections(port) > before
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()
