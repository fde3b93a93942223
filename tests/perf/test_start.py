"""`python -m bot serve` starts with the garbage collector off and turns it on when ready.

The collector's passes over the growing start-up heap were about a fifth of a
warm start, so `serve` starts without it and freezes the start-up heap once the
app is built. Left off, every reference cycle made while serving (tracebacks,
closures, ORM state) would be kept until the process ends: here the server must
be collecting again once it answers, and answer as before.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

from tests.perf.serving import chat, free_port, get, serve

START_LIMIT_S = 120.0  # a hang detector for a cold start on a loaded machine, not a speed target


def _young_collections(port: int) -> float:
    text = get(f"http://127.0.0.1:{port}/metrics")
    found = re.search(r'^python_gc_collections_total\{generation="0"\} (\S+)$', text, re.M)
    assert found, "no garbage collector counters in /metrics"
    return float(found.group(1))


def test_serve_collects_garbage_once_it_answers(tmp_path: Path) -> None:
    port = free_port()
    proc = serve(tmp_path, port, scheduler=False)
    try:
        deadline = time.monotonic() + START_LIMIT_S
        while True:
            assert proc.poll() is None, "serve exited during start"
            assert time.monotonic() < deadline, "serve did not answer /healthz"
            try:
                get(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                time.sleep(0.1)
        before = _young_collections(port)
        for n in range(20):
            assert chat(port, f"gc-{n % 4}", ["你好", "补贴怎么领", "我要签到", "qiandao"][n % 4])
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
