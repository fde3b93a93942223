"""A real `python -m bot serve` process for the start and stop tests (the server's own code path)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str, timeout: float = 10) -> str:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.read().decode()


def chat(port: int, user: str, text: str, timeout: float = 30) -> list[str]:
    body = json.dumps({"user_id": user, "text": text}).encode()
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/chat", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return [r["text"] for r in json.loads(resp.read())["replies"]]


def serve(data_dir: Path, port: int, *, scheduler: bool) -> subprocess.Popen[bytes]:
    """The server on embedded SQLite in `data_dir`, stderr kept for the test's messages."""
    env = {
        **os.environ,
        "BOT_DATA_DIR": str(data_dir),
        "DATABASE_URL": "",
        "SCHEDULER_ENABLED": "true" if scheduler else "false",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
