"""Channel pauses are shared and never shortened: in the database, and in Redis when it is used."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from bot.clock import FrozenClock
from bot.outbox.pauses import DbPauses, RedisPauses
from bot.services import Services


async def test_a_pause_in_the_database_is_seen_by_all_and_only_lengthened(
    services: Services, clock: FrozenClock
) -> None:
    pauses, other = DbPauses(services.db, clock), DbPauses(services.db, clock)
    assert await other.paused_until("telegram") is None
    await pauses.pause("telegram", 30, "flood")
    await pauses.pause("telegram", 3, "flood")  # a shorter one does not cut the first short
    assert await other.paused_until("telegram") == clock.now() + timedelta(seconds=30)
    assert await other.paused_until("wechat") is None
    clock.advance(timedelta(seconds=31))
    assert await other.paused_until("telegram") is None


async def test_a_pause_in_redis_is_seen_by_all_and_only_lengthened(clock: FrozenClock) -> None:
    redis_asyncio = pytest.importorskip("redis.asyncio")
    client = redis_asyncio.from_url("redis://127.0.0.1:6379/0")
    try:
        await client.ping()
    except Exception:
        await client.aclose()
        pytest.skip("no Redis on 127.0.0.1:6379")
    channel = f"test-{uuid.uuid4().hex[:8]}"
    try:
        pauses = RedisPauses(client, clock)
        assert await pauses.paused_until(channel) is None
        await pauses.pause(channel, 30, "flood")
        await pauses.pause(channel, 2, "flood")
        until = await RedisPauses(client, clock).paused_until(channel)
        assert until is not None and until > clock.now() + timedelta(seconds=25)
    finally:
        await client.delete(RedisPauses.key(channel))
        await client.aclose()
