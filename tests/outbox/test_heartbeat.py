"""A killed holder's rows come back within seconds; a live holder keeps its rows and its channel.

The database clock follows real time here (the leases are timestamps of the
services' clock), so the leases run out as they would in production.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.outbox import get_dispatcher
from bot.outbox.claims import claim_due, update_claimed
from bot.outbox.config import delivery_config
from bot.outbox.dispatcher import Dispatcher
from bot.outbox.heartbeat import Heartbeat
from bot.outbox.leases import acquire_lease, lease_holder
from bot.services import Services
from models import OutboxMessage
from tests.channels.conftest import tune
from tests.outbox.conftest import add, make_users, row_values
from tests.outbox.fakes import FloodTelegram


@contextlib.asynccontextmanager
async def real_time(clock: FrozenClock) -> AsyncIterator[None]:
    """Move the frozen clock on with the event loop's clock while the block runs."""
    loop = asyncio.get_running_loop()

    async def follow() -> None:
        last = loop.time()
        while True:
            await asyncio.sleep(0.02)
            now = loop.time()
            clock.advance(timedelta(seconds=now - last))
            last = now

    task = asyncio.create_task(follow())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_reply_held_by_a_killed_holder_is_sent_by_another_process_within_seconds(
    client: TestClient, services: Services, fake_telegram: FloodTelegram, clock: FrozenClock
) -> None:
    config = delivery_config(services).dispatcher
    (user,) = await make_users(services, "telegram", 1)
    await add(services, [row_values(user, "reply:1", "reply", clock.now())])
    # What a holder has done the moment it is SIGKILLed: taken the channel and claimed the reply.
    assert await acquire_lease(services.db, clock, "outbox:telegram", "killed:1", config.leader_lease_seconds)
    async with services.db.session() as db:
        (row,) = await claim_due(
            db, channel="telegram", now=clock.now(), limit=5, lease_seconds=config.claim_lease_seconds
        )
        dead_token = (await db.execute(select(OutboxMessage.lease_token))).scalar_one()
    killed_at = clock.now()
    other = Dispatcher(services, holder="standby:2")
    try:
        async with real_time(clock):
            stats = await other.run(budget=15)
    finally:
        await other.stop()
    assert stats.sent == 1 and [a.text for a in fake_telegram.arrivals] == ["reply:1"]
    async with services.db.session() as db:
        sent = (await db.execute(select(OutboxMessage))).scalar_one()
    waited = (sent.sent_at - killed_at).total_seconds()
    # Not before the killed holder's channel lease ran out (no one takes a live holder's rows) ...
    assert waited >= config.leader_lease_seconds
    # ... but then at once, not when the reply's own claim runs out (nor after the old 15 s).
    assert waited < config.claim_lease_seconds
    assert waited <= config.leader_lease_seconds + config.standby_poll_seconds + 1.0
    # The killed holder's late result (had it been only slow) lands nowhere.
    async with services.db.session() as db:
        late = await db.execute(update_claimed([row], dead_token, status="sent"))
        assert late.rowcount == 0  # type: ignore[attr-defined]


async def test_a_new_holder_sends_the_old_ones_queued_rows_but_not_one_that_is_on_the_wire(
    client: TestClient, services: Services, fake_telegram: FloodTelegram, clock: FrozenClock
) -> None:
    config = delivery_config(services).dispatcher
    users = await make_users(services, "telegram", 2)
    await add(services, [row_values(u, f"reminder:{u}", "reminder", clock.now()) for u in users])
    assert await acquire_lease(services.db, clock, "outbox:telegram", "old:1", config.leader_lease_seconds)
    async with services.db.session() as db:
        ids = await claim_due(
            db, channel="telegram", now=clock.now(), limit=5, lease_seconds=config.claim_lease_seconds
        )
        token = (await db.execute(select(OutboxMessage.lease_token).limit(1))).scalar_one()
        # The old holder's heartbeat found the first row on the wire: its request may still arrive.
        wire_until = clock.now() + timedelta(seconds=config.wire_lease_seconds)
        await db.execute(update_claimed(ids[:1], token, locked_until=wire_until))
    clock.advance(timedelta(seconds=config.leader_lease_seconds + 0.5))  # the old holder stopped
    other = Dispatcher(services, holder="new:2")
    try:
        assert (await other.run(budget=5)).sent == 1
        assert [a.text for a in fake_telegram.arrivals] == [f"reminder:{users[1]}"]
        async with services.db.session() as db:
            wire = await db.get(OutboxMessage, ids[0])
            assert wire is not None and (wire.status, wire.lease_token) == ("sending", token)
        # Once no request of the old holder can still be out, the row goes again (at least once).
        clock.advance(timedelta(seconds=config.wire_lease_seconds))
        assert (await other.run(budget=5)).sent == 1
    finally:
        await other.stop()
    assert sorted(a.text for a in fake_telegram.arrivals) == sorted(f"reminder:{u}" for u in users)


async def test_a_live_holder_keeps_its_channel_and_rows_far_past_one_lease(
    client: TestClient, services: Services, fake_telegram: FloodTelegram, clock: FrozenClock
) -> None:
    """A broadcast longer than any lease, a second process standing by the whole time: nothing twice."""
    tune(services, telegram={"rate_per_second": 10, "per_chat_interval_seconds": 0.0})
    fake_telegram.per_second, fake_telegram.per_chat_interval = 30, 0.0
    config = delivery_config(services).dispatcher
    count = int(10 * (config.claim_lease_seconds + 2))  # at least ten seconds of sending
    users = await make_users(services, "telegram", count)
    await add(services, [row_values(u, f"b:{u}", "broadcast", clock.now()) for u in users])
    first = get_dispatcher(services)
    second = Dispatcher(services, holder="standby:2")
    try:
        async with real_time(clock):
            run = asyncio.create_task(first.run(budget=90))
            await asyncio.sleep(0.3)  # the first process has the channel
            other = await second.run(budget=90)
            mine = await run
    finally:
        await second.stop()
    assert other.sent == 0 and mine.sent == count and mine.dropped == 0
    assert fake_telegram.duplicates() == 0 and len(fake_telegram.arrivals) == count
    assert await lease_holder(services.db, "outbox:telegram") == first.holder


async def test_a_holder_whose_heartbeat_stops_sends_nothing_once_its_claims_may_lapse(
    client: TestClient,
    services: Services,
    fake_telegram: FloodTelegram,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Fencing on the sending side: a stalled heartbeat stops the sends before another may take the rows."""
    tune(services, telegram={"rate_per_second": 10, "per_chat_interval_seconds": 0.0})
    fake_telegram.per_second, fake_telegram.per_chat_interval = 30, 0.0
    config = delivery_config(services).dispatcher
    users = await make_users(services, "telegram", 200)
    await add(services, [row_values(u, f"b:{u}", "broadcast", clock.now()) for u in users])
    renewals = 0

    async def stalled(self: Heartbeat) -> bool:  # the database stops answering the heartbeat
        nonlocal renewals
        renewals += 1
        await asyncio.sleep(3600)
        return True

    taken: set[int] = set()
    acquire = Heartbeat._acquire

    async def acquire_once(self: Heartbeat) -> bool:  # ... nor a later attempt to take the lease back
        if id(self) in taken:
            return False
        taken.add(id(self))
        return await acquire(self)

    monkeypatch.setattr(Heartbeat, "_beat", stalled)
    monkeypatch.setattr(Heartbeat, "_renew_rows", stalled)
    monkeypatch.setattr(Heartbeat, "_acquire", acquire_once)
    async with real_time(clock):
        stats = await asyncio.wait_for(get_dispatcher(services).run(budget=10), 30)
    span = max(a.wall for a in fake_telegram.arrivals) - min(a.wall for a in fake_telegram.arrivals)
    assert renewals >= 2 and 0 < stats.sent < 200
    # The last send started while the claims and the channel lease were still surely ours.
    assert span < config.leader_lease_seconds - config.send_margin_seconds + 0.2, span
    async with services.db.session() as db:
        statuses = (await db.execute(select(OutboxMessage.status))).scalars().all()
    # What it did not send went back at once (its claims were still its own): nothing waits for a lease.
    assert statuses.count("sent") == stats.sent and statuses.count("pending") == 200 - stats.sent
