"""SIGTERM ends `python -m bot serve` promptly, whatever the scheduler is doing.

Once in nine starts the server ignored SIGTERM for minutes, stuck cancelling a
scheduler job. Each loop here starts the real server, waits until the
scheduler has run its jobs (the outbox dispatch among them), sends chat turns
and signals at a different moment of the dispatch interval, and requires a
clean exit (code 0, not the watchdog's) within a bound. The bound detects a
hang; it is not a speed target.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.scheduler import Scheduler
from bot.services import Services
from tests.perf.serving import chat, free_port, get, serve

LOOPS = 8
START_LIMIT_S = 60.0
EXIT_LIMIT_S = 12.0  # above the 5 s request grace, below the 15 s watchdog


def _job_runs(port: int) -> dict[str, float]:
    text = get(f"http://127.0.0.1:{port}/metrics", timeout=5)
    runs = re.findall(r'^bot_scheduler_job_runs_total\{job="([^"]+)"\} (\S+)$', text, re.M)
    return {job: float(value) for job, value in runs}


def _chat(port: int, user: str) -> None:
    with contextlib.suppress(OSError):  # a turn cut by the stop is fine; only the exit is under test
        chat(port, user, "你好", timeout=10)


def _wait_ready(proc: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + START_LIMIT_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, "serve exited during start"
        try:
            runs = _job_runs(port)
        except OSError:
            time.sleep(0.2)
            continue
        if runs.get("outbox-dispatch", 0) >= 1 and runs.get("attendance-tick", 0) >= 1:
            return
        time.sleep(0.1)
    raise AssertionError("the scheduler did not run the dispatch and the tick in time")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serve-stop")


@pytest.mark.parametrize("loop", range(LOOPS))
def test_sigterm_ends_serve(data_dir: Path, loop: int) -> None:
    port = free_port()
    proc = serve(data_dir, port, scheduler=True)
    try:
        _wait_ready(proc, port)
        # Land the signal at a different point of the 2 s dispatch interval each
        # loop, with chat turns in flight.
        time.sleep((loop * 0.27) % 2.0)
        turns = [threading.Thread(target=_chat, args=(port, f"stop-{loop}-{n}")) for n in range(4)]
        for turn in turns:
            turn.start()
        time.sleep(0.05)
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=EXIT_LIMIT_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"serve still running {EXIT_LIMIT_S:.0f} s after SIGTERM (loop {loop})")
        took = time.monotonic() - signalled
        stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        assert code == 0, f"exit code {code} after {took:.1f} s:\n{stderr[-3000:]}"
        assert "exiting now" not in stderr
        for turn in turns:
            turn.join(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()


async def test_stopping_the_scheduler_cancels_a_running_job_before_the_pool_closes(
    services: Services,
) -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def long_job(svc: Services) -> None:
        async with svc.db.session() as session:
            await session.execute(text("SELECT 1"))
            started.set()
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancelled.set()
                raise

    sched = Scheduler(services, ())
    sched.add("long", long_job, "interval", hours=1, next_run_time=datetime.now(services.settings.tz))
    sched.start()
    await asyncio.wait_for(started.wait(), 10)
    assert sched.in_progress == 1
    await asyncio.wait_for(sched.aclose(grace_seconds=5), 10)
    assert cancelled.is_set()
    assert sched.in_progress == 0
    assert not sched.running
    # Its connection is back in the pool, so disposing cannot wait on it.
    assert services.db.engine.pool.checkedout() == 0
