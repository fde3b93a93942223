"""`python -m bot serve` in a child process, for faults that must be met by a real server.

A file made read-only only refuses writes to a process without CAP_DAC_OVERRIDE,
and CI runs as root. The child therefore runs without the capabilities that let
root ignore file modes (setpriv drops them from its bounding set): it is still
uid 0, so it can read the interpreter under /root, but a 0444 file is read-only
to it as to any user. A crash (SIGBUS) shows as the child's exit status, which
an in-process test could never observe.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from bot.settings import ROOT
from tests.conftest import ADMIN_TOKEN

FILE_MODE_CAPS = "-dac_override,-dac_read_search,-fowner"


class ServedProcess:
    def __init__(self, proc: subprocess.Popen[bytes], url: str, log_path: Path, db_path: Path) -> None:
        self.proc = proc
        self.url = url
        self.log_path = log_path
        self.db_path = db_path

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", f"Bearer {ADMIN_TOKEN}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def chat(self, user_id: str, text: str) -> tuple[int, Any]:
        return self.request("POST", "/api/v1/chat", {"user_id": user_id, "text": text})

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _without_file_mode_override() -> list[str]:
    """The command prefix that makes file modes bind this process's child too."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root needs setpriv (util-linux) to drop CAP_DAC_OVERRIDE")
    return [setpriv, "--bounding-set", FILE_MODE_CAPS]


@contextmanager
def served_sqlite(template: Path, workdir: Path, nlu_cache: Path | None) -> Iterator[ServedProcess]:
    """Serve a copy of the migrated SQLite template; stopped (and reaped) on exit."""
    data = workdir / "data"
    data.mkdir(parents=True)
    db_path = data / "bot.sqlite3"
    shutil.copy(template, db_path)
    if nlu_cache is not None and nlu_cache.is_dir():
        shutil.copytree(nlu_cache, data / "nlu-cache")  # no retraining in the child
    port = _free_port()
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "DATABASE_URL": f"sqlite+aiosqlite:///{db_path}",
        "BOT_DATA_DIR": str(data),
        "ADMIN_TOKEN": ADMIN_TOKEN,
        "SECRET_KEY": "served-process-secret",
        "PYTHONUNBUFFERED": "1",
    }
    log_path = workdir / "serve.log"
    command = [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)]
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            _without_file_mode_override() + command,
            cwd=ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    served = ServedProcess(proc, f"http://127.0.0.1:{port}", log_path, db_path)
    try:
        deadline = time.monotonic() + 120
        while True:
            if not served.alive():
                raise AssertionError(f"serve exited with {proc.returncode}:\n{served.log()[-3000:]}")
            try:
                if served.request("GET", "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"serve did not become ready:\n{served.log()[-3000:]}")
            time.sleep(0.3)
        yield served
    finally:
        if served.alive():
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
