"""The dispatcher: pacing, retries and backoff, dead letters and requeue, claims across processes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from bot.clock import FrozenClock
from bot.outbox import enqueue, get_dispatcher, requeue
from bot.outbox.claims import claim_due
from bot.outbox.config import load_config
from bot.outbox.dispatcher import Dispatcher
from bot.outbox.results import backoff_seconds
from bot.services import Services
from models import ChatUser, Message, OutboxMessage
from tests.channels.conftest import dispatch, tune
from tests.fakes.fake_telegram import FakeTelegram


async def make_user(services: Services, channel: str, external_id: str, **fields: Any) -> int:
    async with services.db.session() as db:
        user = ChatUser(
            channel=channel,
            external_id=external_id,
            created_at=services.clock.now(),
            last_inbound_at=fields.pop("last_inbound_at", services.clock.now()),
            **fields,
        )
        db.add(user)
        await db.flush()
        return user.id


async def add_rows(
    services: Services, user_id: int, count: int, *, kind: str = "broadcast", prefix: str = "m", **extra: Any
) -> None:
    due_at = extra.pop("due_at", services.clock.now())
    async with services.db.session() as db:
        for n in range(count):
            await enqueue(
                db,
                key=f"{prefix}:{user_id}:{n}",
                chat_user_id=user_id,
                kind=kind,
                text=f"{prefix}-{user_id}-{n}",
                due_at=due_at,
                **extra,
            )


async def rows(services: Services) -> list[OutboxMessage]:
    async with services.db.session() as db:
        return list((await db.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())


async def test_enqueue_is_idempotent_and_sent_rows_join_the_transcript(
    client: TestClient, services: Services, fake_telegram: FakeTelegram
) -> None:
    uid = await make_user(services, "telegram", "7001")
    async with services.db.session() as db:
        first = await enqueue(
            db,
            key="claim:1:approved",
            chat_user_id=uid,
            kind="claim_update",
            text="您的补贴申请已审核通过。",
            due_at=services.clock.now(),
        )
        again = await enqueue(
            db,
            key="claim:1:approved",
            chat_user_id=uid,
            kind="claim_update",
            text="您的补贴申请已审核通过。",
            due_at=services.clock.now(),
        )
    assert (first, again) == (True, False)
    stats = await dispatch(services)
    assert stats.sent == 1
    assert [s.text for s in fake_telegram.to("7001")] == ["您的补贴申请已审核通过。"]
    (row,) = await rows(services)
    assert (row.status, row.delivery, row.attempts) == ("sent", "message", 1)
    assert row.sent_at == services.clock.now()
    async with services.db.session() as db:
        transcript = list((await db.execute(select(Message).where(Message.chat_user_id == uid))).scalars())
    assert [(m.direction, m.text) for m in transcript] == [("out", "您的补贴申请已审核通过。")]
    await dispatch(services)
    assert len(fake_telegram.to("7001")) == 1


async def test_pacing_keeps_under_both_limits_and_keeps_each_chats_order(
    client: TestClient, services: Services, fake_telegram: FakeTelegram, clock: FrozenClock
) -> None:
    # Scaled-down limits so the test is quick; the benchmark runs Telegram's real ones. The pace
    # itself is checked exactly on a fake clock (tests/outbox/test_pacing.py); here, through a
    # real HTTP fake whose clock is the machine's, the outcome: on a loaded machine requests may
    # bunch on the way and draw a 429, which must then be honoured, never lose or double a message.
    fake_telegram.per_second, fake_telegram.per_chat_interval = 40, 0.2
    tune(services, telegram={"rate_per_second": 36, "per_chat_interval_seconds": 0.22})
    users = {str(7100 + i): await make_user(services, "telegram", str(7100 + i)) for i in range(20)}
    for uid in users.values():
        await add_rows(services, uid, 4)
    sent = rate_limited = 0
    for _ in range(10):  # a row told to retry later is due again once the (frozen) clock moves on
        stats = await dispatch(services)
        sent, rate_limited = sent + stats.sent, rate_limited + stats.rate_limited
        if sent == 80:
            break
        clock.advance(timedelta(seconds=5))
    assert sent == 80
    assert rate_limited == fake_telegram.limit_hits  # every 429 was heard (and paused the channel)
    for chat, uid in users.items():  # each chat got its four, once each, in order
        assert [s.text for s in fake_telegram.to(chat)] == [f"m-{uid}-{n}" for n in range(4)]
    times = [s.at for s in fake_telegram.sent]
    rate = (len(times) - 1) / (times[-1] - times[0])
    print(f"80 messages at {rate:.1f}/s (limit 40/s), {fake_telegram.limit_hits} 429s from bunching")


async def test_replies_jump_the_queue_of_a_broadcast(
    client: TestClient, services: Services, fake_telegram: FakeTelegram
) -> None:
    tune(
        services,
        telegram={"rate_per_second": 50, "per_chat_interval_seconds": 0.0},
        dispatcher={"claim_batch": 10},
    )
    fake_telegram.per_second, fake_telegram.per_chat_interval = 60, 0.0
    for i in range(30):
        await add_rows(services, await make_user(services, "telegram", str(7200 + i)), 1)
    waiting = await make_user(services, "telegram", "7299")
    await add_rows(services, waiting, 1, kind="reply", prefix="reply")
    await dispatch(services)
    order = [s.chat_id for s in fake_telegram.sent]
    assert order.index("7299") < 10


async def test_transient_errors_back_off_then_go_to_the_dead_letters(
    client: TestClient, services: Services, fake_telegram: FakeTelegram, clock: FrozenClock
) -> None:
    config = load_config()
    tune(services, telegram={"per_chat_interval_seconds": 0.0})
    uid = await make_user(services, "telegram", "7300")
    await add_rows(services, uid, 1)
    fake_telegram.fail_next(502, times=config.retry.max_attempts)
    previous_due = clock.now()
    for attempt in range(1, config.retry.max_attempts):
        await dispatch(services)
        (row,) = await rows(services)
        assert (row.status, row.attempts) == ("pending", attempt)
        delay = (row.due_at - previous_due).total_seconds()
        nominal = min(
            config.retry.max_seconds, config.retry.base_seconds * config.retry.factor ** (attempt - 1)
        )
        assert nominal * (1 - config.retry.jitter) <= delay <= nominal * (1 + config.retry.jitter)
        clock.set(row.due_at)
        previous_due = row.due_at
    await dispatch(services)
    (row,) = await rows(services)
    assert (row.status, row.attempts) == ("dead", config.retry.max_attempts)
    assert "502" in (row.last_error or "")
    assert fake_telegram.to("7300") == []

    # Staff requeue it: it goes out now, with a fresh count.
    async with services.db.session() as db:
        assert await requeue(db, [row.id, 999_999], now=clock.now()) == [row.id]
    await dispatch(services)
    (row,) = await rows(services)
    assert (row.status, row.attempts) == ("sent", 1)
    assert len(fake_telegram.to("7300")) == 1


def test_backoff_grows_exponentially_with_bounded_jitter() -> None:
    import random

    config = load_config()
    rng = random.Random(7)
    samples = [[backoff_seconds(n, config, rng) for _ in range(200)] for n in (1, 2, 3)]
    means = [sum(s) / len(s) for s in samples]
    assert means[0] < means[1] < means[2]
    assert len({round(x, 3) for x in samples[0]}) > 100  # spread out, not all at the same instant
    assert max(backoff_seconds(50, config, rng) for _ in range(50)) <= config.retry.max_seconds * (
        1 + config.retry.jitter
    )


async def test_a_hanging_platform_is_a_timeout_and_retried(
    client: TestClient, services: Services, fake_telegram: FakeTelegram, clock: FrozenClock
) -> None:
    tune(services, dispatcher={"request_timeout_seconds": 0.3})
    uid = await make_user(services, "telegram", "7400")
    await add_rows(services, uid, 1)
    fake_telegram.hang_next(1.0)
    await dispatch(services)
    (row,) = await rows(services)
    assert row.status == "pending" and "Timeout" in (row.last_error or "")
    clock.set(row.due_at)
    await dispatch(services)
    (row,) = await rows(services)
    assert row.status == "sent"
    # The hung request may still have reached Telegram (at-least-once); the retry did go out.
    assert len(fake_telegram.to("7400")) >= 1


async def test_bad_request_fails_without_retry(
    client: TestClient, services: Services, fake_telegram: FakeTelegram
) -> None:
    uid = await make_user(services, "telegram", "7500")
    await add_rows(services, uid, 1)
    fake_telegram.fail_next(400, description="Bad Request: can't parse entities")
    stats = await dispatch(services)
    (row,) = await rows(services)
    assert (row.status, stats.failed) == ("failed", 1)
    assert "parse entities" in (row.last_error or "")


async def test_after_a_429_the_chats_later_messages_keep_their_order(
    client: TestClient, services: Services, fake_telegram: FakeTelegram, clock: FrozenClock
) -> None:
    tune(services, telegram={"per_chat_interval_seconds": 0.05})
    fake_telegram.per_chat_interval = 0.0
    uid = await make_user(services, "telegram", "7600")
    await add_rows(services, uid, 3)
    fake_telegram.fail_next(429, retry_after=1, chat_id="7600")
    await dispatch(services)
    assert fake_telegram.to("7600") == []
    clock.advance(timedelta(seconds=1))
    await dispatch(services)
    assert [s.text for s in fake_telegram.to("7600")] == [f"m-{uid}-0", f"m-{uid}-1", f"m-{uid}-2"]


async def test_expired_and_unpushable_rows_are_skipped(
    client: TestClient, services: Services, fake_telegram: FakeTelegram, clock: FrozenClock
) -> None:
    tg = await make_user(services, "telegram", "7700")
    web = await make_user(services, "web", "web-7700")
    await add_rows(services, tg, 1, kind="reminder", expires_at=clock.now() - timedelta(minutes=1))
    await add_rows(services, web, 1, kind="reminder", prefix="w")
    await dispatch(services)
    found = {(r.chat_user_id, r.status, r.delivery) for r in await rows(services)}
    assert found == {(tg, "skipped", "expired"), (web, "skipped", "no_push")}
    assert fake_telegram.sent == []


async def test_a_crashed_dispatchers_claims_are_sent_after_their_lease(
    client: TestClient, services: Services, fake_telegram: FakeTelegram, clock: FrozenClock
) -> None:
    uid = await make_user(services, "telegram", "7800")
    await add_rows(services, uid, 2)
    async with services.db.session() as db:
        claimed = await claim_due(db, channel="telegram", now=clock.now(), limit=10, lease_seconds=30)
    assert len(claimed) == 2  # ... and that dispatcher died
    await dispatch(services)
    assert fake_telegram.sent == []  # still claimed
    clock.advance(timedelta(seconds=31))
    await dispatch(services)
    assert len(fake_telegram.to("7800")) == 2


async def test_concurrent_claims_never_share_a_row(client: TestClient, services: Services) -> None:
    for i in range(10):
        await add_rows(services, await make_user(services, "telegram", str(7900 + i)), 10)

    async def claim() -> list[int]:
        async with services.db.session() as db:
            ids = await claim_due(
                db, channel="telegram", now=services.clock.now(), limit=30, lease_seconds=30
            )
            await asyncio.sleep(0.05)  # hold the transaction open while the others claim
            return ids

    batches = await asyncio.gather(*(claim() for _ in range(4)))
    everything = [i for batch in batches for i in batch]
    assert len(everything) == len(set(everything)) == 100


async def test_two_dispatchers_send_each_row_once(
    client: TestClient, services: Services, fake_telegram: FakeTelegram
) -> None:
    """Two processes' dispatchers at once: one holds the channel, the other stands by; nothing twice."""
    tune(services, telegram={"rate_per_second": 50, "per_chat_interval_seconds": 0.0})
    fake_telegram.per_second, fake_telegram.per_chat_interval = 60, 0.0
    for i in range(40):
        await add_rows(services, await make_user(services, "telegram", str(8000 + i)), 1)
    first, second = Dispatcher(services, holder="process-a"), Dispatcher(services, holder="process-b")
    try:
        results = await asyncio.gather(first.run(budget=10), second.run(budget=10))
    finally:
        await first.close()
        await second.close()
    assert sum(r.sent for r in results) == 40
    texts = [s.text for s in fake_telegram.sent]
    assert len(texts) == len(set(texts)) == 40


async def test_kick_sends_a_new_reply_without_waiting_for_the_tick(
    client: TestClient, services: Services, fake_telegram: FakeTelegram
) -> None:
    uid = await make_user(services, "telegram", "8100")
    await add_rows(services, uid, 1, kind="reply", prefix="r")
    dispatcher = get_dispatcher(services)
    dispatcher.kick()
    for _ in range(100):
        if fake_telegram.to("8100"):
            break
        await asyncio.sleep(0.02)
    assert [s.text for s in fake_telegram.to("8100")] == [f"r-{uid}-0"]


@pytest.mark.parametrize("status", ["sent", "pending", "cancelled"])
async def test_requeue_leaves_other_states_alone(client: TestClient, services: Services, status: str) -> None:
    uid = await make_user(services, "telegram", "8300")
    await add_rows(services, uid, 1)
    async with services.db.session() as db:
        await db.execute(update(OutboxMessage).values(status=status))
        (row_id,) = (await db.execute(select(OutboxMessage.id))).scalars()
        assert await requeue(db, [row_id], now=services.clock.now()) == []


async def test_dispatch_job_registers_on_the_scheduler(services: Services) -> None:
    from bot.scheduler import Scheduler

    scheduler = Scheduler(services, ("bot.outbox.job", "bot.channels.inbox"))
    assert set(scheduler.job_ids()) == {"outbox-dispatch", "channel-inbox-recovery"}


async def test_the_standalone_dispatcher_sends_and_exits_when_idle(
    client: TestClient, services: Services, fake_telegram: FakeTelegram
) -> None:
    """`python -m bot outbox run --until-idle`, the worker the benchmark runs, in this process."""
    from bot.outbox.cli import run_dispatcher

    long_ago = datetime(2020, 1, 1, tzinfo=UTC)  # the worker runs on the real clock
    for i in range(3):
        await add_rows(services, await make_user(services, "telegram", str(8400 + i)), 2, due_at=long_ago)
    assert await run_dispatcher(services.settings, until_idle=True) == 0
    assert len(fake_telegram.sent) == 6
    assert {r.status for r in await rows(services)} == {"sent"}
