"""Request ids, the access log, one line per turn without the message text, JSON lines, no scheduler noise."""

from __future__ import annotations

import io
import json
import logging

import pytest
from aiohttp.test_utils import TestClient

from bot.ops import logging as ops_logging
from bot.ops import metrics
from bot.ops.http import VALID_ID as VALID
from tests.conftest import ChatDriver
from tests.ops.helpers import scrape, value

SECRET_TEXT = "我叫王小明身份证220102198803120010"


async def test_request_id_is_taken_or_made_and_echoed(client: TestClient) -> None:
    resp = await client.get("/healthz", headers={"X-Request-Id": "nginx-7f3a.01"})
    assert resp.headers["X-Request-Id"] == "nginx-7f3a.01"
    made = (await client.get("/healthz")).headers["X-Request-Id"]
    assert len(made) == 32 and made != (await client.get("/healthz")).headers["X-Request-Id"]
    hostile = await client.get("/healthz", headers={"X-Request-Id": "<script>" + "x" * 300})
    assert VALID.match(hostile.headers["X-Request-Id"]) and "<" not in hostile.headers["X-Request-Id"]
    # Errors carry it too (the 404 JSON of the error middleware).
    missing = await client.get("/no-such-page", headers={"X-Request-Id": "req-404"})
    assert missing.status == 404 and missing.headers["X-Request-Id"] == "req-404"


async def test_turn_line_and_access_line_never_carry_the_text(
    client: TestClient, chat: ChatDriver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    resp = await client.post(
        "/api/v1/chat",
        json={"user_id": chat.user_id, "text": SECRET_TEXT},
        headers={"X-Request-Id": "turn-1"},
    )
    assert resp.status == 200
    turns = [r for r in caplog.records if r.name == "bot.turn"]
    access = [
        r for r in caplog.records if r.name == "bot.access" and r.__dict__.get("path") == "/api/v1/chat"
    ]
    assert len(turns) == 1 and len(access) == 1
    turn = turns[0]
    assert turn.levelno == logging.INFO
    assert turn.__dict__["channel"] == "web" and turn.__dict__["intent"]
    assert isinstance(turn.__dict__["latency_ms"], float) and "flow" in turn.__dict__
    assert access[0].__dict__["status"] == 200
    formatter = ops_logging.JsonFormatter()
    for record in caplog.records:
        ops_logging.RequestIdFilter().filter(record)
        line = formatter.format(record)
        assert SECRET_TEXT not in line and "220102198803120010" not in line
    assert json.loads(formatter.format(turn))["request_id"] == "turn-1"


def test_json_lines_when_asked() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        ops_logging.configure("INFO", "json", stream)
        token = ops_logging.REQUEST_ID.set("abc")
        logging.getLogger("bot.example").info("hello %s", "there", extra={"channel": "web"})
        ops_logging.REQUEST_ID.reset(token)
        ops_logging.configure("INFO", "text", stream)
        logging.getLogger("bot.example").warning("plain")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    first, second = stream.getvalue().splitlines()
    line = json.loads(first)
    assert line["msg"] == "hello there" and line["request_id"] == "abc" and line["channel"] == "web"
    assert line["level"] == "INFO" and line["logger"] == "bot.example"
    assert "WARNING bot.example [-] plain" in second


async def test_scheduler_skip_noise_is_counted_not_logged(client: TestClient) -> None:
    ops_logging.install_scheduler_filter()
    logger = logging.getLogger("apscheduler.scheduler")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    before = value(await scrape(client), "bot_scheduler_job_skips_total", job="outbox-dispatch")
    try:
        logger.warning(
            'Execution of job "%s" skipped: maximum number of running instances reached (%d)',
            "outbox-dispatch (trigger: interval[0:00:02], next run at: 2026-11-23 09:00:02 CST)",
            1,
        )
        logger.warning("a real warning")
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue() == "a real warning\n"
    after = value(await scrape(client), "bot_scheduler_job_skips_total", job="outbox-dispatch")
    assert after - before == 1


async def test_scheduled_job_runs_and_failures_are_counted(client: TestClient) -> None:
    from bot.scheduler import Scheduler

    services = client.app["services"]
    sched = Scheduler(services, ())
    calls: list[int] = []

    async def good(_: object) -> None:
        calls.append(1)

    async def bad(_: object) -> None:
        raise RuntimeError("boom")

    sched.add("job-good", good, "interval", seconds=3600)
    sched.add("job-bad", bad, "interval", seconds=3600)
    before = await scrape(client)
    for job in sched._aps.get_jobs():
        await job.func()
    after = await scrape(client)
    assert calls == [1]
    for name, failures in (("job-good", 0), ("job-bad", 1)):
        assert (
            value(after, "bot_scheduler_job_runs_total", job=name)
            - value(before, "bot_scheduler_job_runs_total", job=name)
            == 1
        )
        assert (
            value(after, "bot_scheduler_job_failures_total", job=name)
            - value(before, "bot_scheduler_job_failures_total", job=name)
            == failures
        )
    assert metrics.JOB_SECONDS.labels("job-good")._sum.get() >= 0
