"""Replies never wait behind a broadcast; a flood limit pauses the whole channel, in every process."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.outbox import enqueue, get_dispatcher
from bot.outbox.dispatcher import Dispatcher
from bot.services import Services
from models import OutboxMessage
from tests.channels.conftest import tune
from tests.outbox.conftest import add, make_users, row_values
from tests.outbox.fakes import FloodTelegram


async def wait_for(condition: object, seconds: float = 20.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


async def test_a_reply_overtakes_a_running_broadcast(
    client: TestClient, services: Services, fake_telegram: FloodTelegram
) -> None:
    users = await make_users(services, "telegram", 121)
    now = services.clock.now()
    await add(services, [row_values(u, f"b:{u}", "broadcast", now) for u in users[:120]])
    run = asyncio.create_task(get_dispatcher(services).run(budget=30))
    await wait_for(lambda: len(fake_telegram.arrivals) >= 20)
    async with services.db.session() as db:
        # From another process's webhook: no kick reaches this dispatcher, only its reply poll.
        await enqueue(
            db, key="reply:1", chat_user_id=users[120], kind="reply", text="您好，已收到", due_at=now
        )
    before = len(fake_telegram.arrivals)
    await run
    texts = [a.text for a in fake_telegram.arrivals]
    assert len(texts) == 121 and fake_telegram.limit_hits == 0
    # Sent after at most a few broadcast messages (it used to wait behind the whole claimed batch).
    overtaken = texts.index("您好，已收到") - before
    assert overtaken <= 15, overtaken


async def test_reminders_and_broadcasts_share_the_pace_by_weight(
    client: TestClient, services: Services, fake_telegram: FloodTelegram
) -> None:
    tune(services, telegram={"rate_per_second": 100, "per_chat_interval_seconds": 0.0})
    fake_telegram.per_second, fake_telegram.per_chat_interval = 200, 0.0
    users = await make_users(services, "telegram", 80)
    now = services.clock.now()
    earlier = now - timedelta(minutes=1)  # the broadcast was due first
    await add(
        services,
        [row_values(u, f"b:{u}", "broadcast", earlier) for u in users[:40]]
        + [row_values(u, f"r:{u}", "reminder", now) for u in users[40:]],
    )
    await get_dispatcher(services).run(budget=20)
    first = [a.text.split(":")[0] for a in fake_telegram.arrivals[:40]]
    # 3 : 1 for reminders although the broadcast was due earlier; the broadcast is not stopped.
    assert 26 <= first.count("r") <= 34 and first.count("b") >= 6


async def test_a_429_pauses_the_whole_channel_and_every_other_process(
    client: TestClient, services: Services, fake_telegram: FloodTelegram, clock: FrozenClock
) -> None:
    # One request at a time: a request already on its way when the 429 came back cannot be
    # called back (Telegram would count it too), so what is asserted is that none starts after;
    # at 20/s against a fake allowing 100/s, a loaded machine's bunching draws no 429 of its own.
    tune(
        services,
        telegram={"rate_per_second": 20, "per_chat_interval_seconds": 0.0},
        dispatcher={"max_in_flight": 1},
    )
    fake_telegram.per_second, fake_telegram.per_chat_interval = 100, 0.0
    fake_telegram.announce_every, fake_telegram.announce_retry_after = 15, 2
    users = await make_users(services, "telegram", 60)
    now = services.clock.now()
    await add(services, [row_values(u, f"b:{u}", "broadcast", now) for u in users])
    stats = await get_dispatcher(services).run(budget=15)
    assert fake_telegram.announced >= 1 and stats.rate_limited >= 1
    assert fake_telegram.window_calls == 0  # nothing while an announced retry_after ran
    # The pause is shared: a dispatcher of another process, told nothing, waits it out too.
    fake_telegram.announce_every = 0
    clock.advance(timedelta(seconds=30))
    async with services.db.session() as db:
        await enqueue(
            db, key="later", chat_user_id=users[0], kind="reminder", text="later", due_at=clock.now()
        )
    await get_dispatcher(services).pauses().pause("telegram", 60, "flood")
    other = Dispatcher(services, holder="other-process:1")
    try:
        assert (await other.run(budget=2)).sent == 0
    finally:
        await other.stop()
    clock.advance(timedelta(seconds=61))
    other = Dispatcher(services, holder="other-process:2")
    try:
        clock.advance(timedelta(seconds=10))  # the first process's channel lease has run out
        await other.run(budget=20)
    finally:
        await other.stop()
    async with services.db.session() as db:
        left = (await db.execute(select(OutboxMessage).where(OutboxMessage.status != "sent"))).scalars().all()
    assert [(r.status, r.due_at, r.last_error, r.locked_until) for r in left] == [], clock.now()
    assert fake_telegram.duplicates() == 0


async def test_a_reply_enqueued_elsewhere_wakes_the_holder_at_once(
    client: TestClient, services: Services, fake_telegram: FloodTelegram
) -> None:
    """On PostgreSQL a reply is announced on commit: the holder claims it without waiting for its poll."""
    if services.db.is_sqlite:
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; on SQLite (one process) the kick wakes the dispatcher")
    # A poll far longer than the run: only the announcement can bring the reply in on time.
    tune(
        services,
        telegram={"rate_per_second": 20, "per_chat_interval_seconds": 0.0},
        lanes={"reply_poll_seconds": 120},
    )
    users = await make_users(services, "telegram", 81)
    now = services.clock.now()
    await add(services, [row_values(u, f"b:{u}", "broadcast", now) for u in users[:80]])
    run = asyncio.create_task(get_dispatcher(services).run(budget=60))
    await wait_for(lambda: len(fake_telegram.arrivals) >= 10)
    async with services.db.session() as db:  # another process's turn: no kick reaches this dispatcher
        await enqueue(
            db, key="reply:1", chat_user_id=users[80], kind="reply", text="您好，已收到", due_at=now
        )
    await run
    texts = [a.text for a in fake_telegram.arrivals]
    assert len(texts) == 81
    # Among the broadcast, not after it: the announcement woke the holder's reply claim.
    assert texts.index("您好，已收到") < 70, texts.index("您好，已收到")
