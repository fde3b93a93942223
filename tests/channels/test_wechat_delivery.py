"""Sending to WeChat: the 48-hour window, template fallback, the shared access_token, error codes."""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.outbox.config import TemplatesConfig, load_templates
from bot.outbox.errors import Transient
from bot.outbox.tokens import DbTokenStore, RedisTokenStore, TokenStore
from bot.outbox.wechat_api import WeChatApi
from bot.services import Services
from models import ChatUser, Lease, OutboxMessage
from tests.channels.conftest import dispatch, tune
from tests.channels.test_outbox import add_rows, make_user, rows
from tests.fakes.fake_wechat import FakeWeChat

NOTICE = {"template": "notice", "fields": {"title": "2027年春季补贴培训报名开始", "date": "2027-02-20"}}


def with_template_id(services: Services, key: str, template_id: str) -> None:
    data = load_templates().model_dump()
    data["templates"][key]["template_id"] = template_id
    services.extra["wechat_templates"] = TemplatesConfig.model_validate(data)


async def test_inside_the_window_a_customer_service_message_with_numbered_choices(
    client: TestClient, services: Services, fake_wechat: FakeWeChat
) -> None:
    uid = await make_user(services, "wechat", "o-in")
    async with services.db.session() as db:
        from bot.outbox import enqueue

        await enqueue(
            db,
            key="nudge:1",
            chat_user_id=uid,
            kind="nudge",
            text="今天的课您还没签到。",
            choices=["签到", "转人工"],
            due_at=services.clock.now(),
        )
    await dispatch(services)
    (text,) = fake_wechat.to("o-in")
    assert text.startswith("今天的课您还没签到。") and "1. 签到" in text and "2. 转人工" in text
    (row,) = await rows(services)
    assert (row.status, row.delivery) == ("sent", "message")


async def test_outside_the_window_a_template_or_nothing(
    client: TestClient, services: Services, fake_wechat: FakeWeChat, clock: FrozenClock
) -> None:
    with_template_id(services, "notice", "TPL-NOTICE-001")
    three_days_ago = clock.now() - timedelta(days=3)
    with_tpl = await make_user(services, "wechat", "o-old-1", last_inbound_at=three_days_ago)
    without = await make_user(services, "wechat", "o-old-2", last_inbound_at=three_days_ago)
    unconfigured = await make_user(services, "wechat", "o-old-3", last_inbound_at=three_days_ago)
    await add_rows(services, with_tpl, 1, template=NOTICE)
    await add_rows(services, without, 1)
    await add_rows(services, unconfigured, 1, template={"template": "claim_update", "fields": {}})
    await dispatch(services)
    assert fake_wechat.texts == []
    (sent,) = fake_wechat.templates
    assert sent["touser"] == "o-old-1" and sent["template_id"] == "TPL-NOTICE-001"
    assert sent["data"]["thing1"]["value"] == "2027年春季补贴培训报名开始"[:20]
    outcome = {r.chat_user_id: (r.status, r.delivery) for r in await rows(services)}
    assert outcome == {
        with_tpl: ("sent", "template"),
        without: ("skipped", "outside_window"),
        unconfigured: ("skipped", "outside_window"),
    }
    assert "claim_update" in next(
        r.last_error for r in await rows(services) if r.chat_user_id == unconfigured
    )


async def test_45015_from_wechat_falls_back_to_the_template(
    client: TestClient, services: Services, fake_wechat: FakeWeChat
) -> None:
    with_template_id(services, "notice", "TPL-NOTICE-001")
    uid = await make_user(services, "wechat", "o-edge")
    fake_wechat.close_window("o-edge")  # WeChat's clock says the window closed a moment ago
    await add_rows(services, uid, 1, template=NOTICE)
    await dispatch(services)
    assert 45015 in fake_wechat.errors
    (row,) = await rows(services)
    assert (row.status, row.delivery) == ("sent", "template")
    assert "45015" in (row.last_error or "")


async def test_unsubscribed_user_is_unreachable(
    client: TestClient, services: Services, fake_wechat: FakeWeChat
) -> None:
    uid = await make_user(services, "wechat", "o-gone")
    fake_wechat.unsubscribed.add("o-gone")
    await add_rows(services, uid, 2)
    await dispatch(services)
    assert {(r.status, r.delivery) for r in await rows(services)} == {("skipped", "unreachable")}
    async with services.db.session() as db:
        assert (await db.get(ChatUser, uid)).reachable is False  # type: ignore[union-attr]


async def test_invalid_or_expired_token_is_refreshed_once(
    client: TestClient, services: Services, fake_wechat: FakeWeChat
) -> None:
    uid = await make_user(services, "wechat", "o-tok")
    await add_rows(services, uid, 1, prefix="a")
    await dispatch(services)
    assert fake_wechat.token_requests == [False]
    fake_wechat.invalidate_tokens()  # 40001 on the stored token
    await add_rows(services, uid, 1, prefix="b")
    await dispatch(services)
    fake_wechat.expire_tokens()  # 42001
    await add_rows(services, uid, 1, prefix="c")
    await dispatch(services)
    assert fake_wechat.errors.count(40001) == 1 and fake_wechat.errors.count(42001) == 1
    assert len(fake_wechat.to("o-tok")) == 3
    assert {r.status for r in await rows(services)} == {"sent"}
    assert len(fake_wechat.token_requests) == 3


async def test_a_token_wechat_keeps_refusing_is_a_transient_error(
    client: TestClient, services: Services, fake_wechat: FakeWeChat
) -> None:
    uid = await make_user(services, "wechat", "o-tok2")
    await add_rows(services, uid, 1)
    fake_wechat.invalidate_tokens()
    fake_wechat.app_secret = "rotated-in-the-console"  # our secret is stale: no new token either
    await dispatch(services)
    (row,) = await rows(services)
    assert row.status == "pending" and "40125" in (row.last_error or "")


async def test_quota_exhausted_pauses_the_channel_and_alerts(
    client: TestClient, services: Services, fake_wechat: FakeWeChat, caplog: Any, clock: FrozenClock
) -> None:
    tune(services, wechat={"per_chat_interval_seconds": 0.0})
    fake_wechat.daily_quota = 1
    for n in range(3):
        await add_rows(services, await make_user(services, "wechat", f"o-q{n}"), 1)
    with caplog.at_level(logging.ERROR):
        await dispatch(services)
    assert any("ALERT" in r.getMessage() and "quota" in r.getMessage() for r in caplog.records)
    statuses = sorted(r.status for r in await rows(services))
    assert statuses == ["pending", "pending", "sent"]
    refused = fake_wechat.errors.count(45009)
    assert 1 <= refused <= 2  # it stopped at the first refusal (another send may have been on the wire)
    async with services.db.session() as db:
        pause = await db.get(Lease, "pause:wechat")
    assert pause is not None and pause.expires_at is not None and pause.expires_at > clock.now()

    clock.advance(timedelta(minutes=5))
    await dispatch(services)  # still paused (shared through the database)
    assert fake_wechat.errors.count(45009) == refused
    fake_wechat.daily_quota = None
    clock.advance(timedelta(hours=1))
    await dispatch(services)
    assert {r.status for r in await rows(services)} == {"sent"}


async def test_rate_limit_45011_is_waited_out(
    client: TestClient, services: Services, fake_wechat: FakeWeChat, clock: FrozenClock
) -> None:
    uid = await make_user(services, "wechat", "o-fast")
    await add_rows(services, uid, 1)
    fake_wechat.fail_next(45011)
    await dispatch(services)
    (row,) = await rows(services)
    assert row.status == "pending" and row.due_at > clock.now()


# -- the shared token -----------------------------------------------------------------
def api(session: aiohttp.ClientSession, services: Services, fake: FakeWeChat, store: TokenStore) -> WeChatApi:
    return WeChatApi(
        session,
        base=fake.base,  # type: ignore[attr-defined]
        app_id=fake.app_id,
        app_secret=fake.app_secret,
        store=store,
        clock=services.clock,
    )


async def test_processes_share_one_token_and_one_refresh(
    client: TestClient, services: Services, fake_wechat: FakeWeChat, clock: FrozenClock
) -> None:
    """Four "processes" (clients with their own memory) ask at once: WeChat is asked once."""
    async with aiohttp.ClientSession() as session:
        clients = [
            api(session, services, fake_wechat, DbTokenStore(services.db, services.clock, "wechat:shared"))
            for _ in range(4)
        ]
        tokens = await asyncio.gather(*(c.token() for c in clients for _ in range(5)))
        assert set(tokens) == {"TOKEN-1"} and fake_wechat.token_requests == [False]
        # Close to expiry, the next caller refreshes - once, for everybody.
        clock.advance(timedelta(seconds=fake_wechat.expires_in - 60))
        fake_wechat.expire_tokens()
        tokens = await asyncio.gather(*(c.token() for c in clients))
        assert len(set(tokens)) == 1 and tokens[0] != "TOKEN-1"
        assert len(fake_wechat.token_requests) == 2


async def test_refresh_gives_up_while_another_holder_never_finishes(
    client: TestClient, services: Services, fake_wechat: FakeWeChat
) -> None:
    store = DbTokenStore(services.db, services.clock, "wechat:stuck")
    assert await store.lock("another-process", 60)
    async with aiohttp.ClientSession() as session:
        wechat = api(session, services, fake_wechat, store)
        wechat.lock_wait = 0.5
        with pytest.raises(Transient):
            await wechat.token()
    assert fake_wechat.token_requests == []


@pytest.fixture(scope="module")
def redis_server() -> Iterator[str]:
    """A private, throw-away redis-server (skipped where Redis is not installed)."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=5)


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The module's Redis, emptied for each test."""
    import redis

    client = redis.Redis.from_url(redis_server)
    try:
        client.flushdb()
    finally:
        client.close()
    return redis_server


async def test_token_in_redis_is_shared_too(
    client: TestClient, services: Services, fake_wechat: FakeWeChat, redis_url: str
) -> None:
    import redis.asyncio as aioredis

    connections = [aioredis.from_url(redis_url) for _ in range(3)]
    try:
        async with aiohttp.ClientSession() as session:
            clients = [
                api(session, services, fake_wechat, RedisTokenStore(r, "wechat:redis")) for r in connections
            ]
            tokens = await asyncio.gather(*(c.token() for c in clients for _ in range(3)))
        assert set(tokens) == {"TOKEN-1"} and fake_wechat.token_requests == [False]
    finally:
        for r in connections:
            await r.aclose()


async def test_dispatcher_uses_redis_when_configured(
    client: TestClient, services: Services, fake_wechat: FakeWeChat, redis_url: str
) -> None:
    services.settings = services.settings.model_copy(update={"redis_url": redis_url})
    uid = await make_user(services, "wechat", "o-redis")
    await add_rows(services, uid, 1)
    await dispatch(services)
    assert len(fake_wechat.to("o-redis")) == 1
    import redis.asyncio as aioredis

    r = aioredis.from_url(redis_url)
    try:
        assert await r.hget(f"trainee-bot:token:wechat:{fake_wechat.app_id}", "token") == b"TOKEN-1"
    finally:
        await r.aclose()
    async with services.db.session() as db:
        assert (await db.execute(select(OutboxMessage.status))).scalar_one() == "sent"
