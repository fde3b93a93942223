"""Deadlines: a lane is claimed earliest deadline first, and a row too late for its deadline is never sent."""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from bot.clock import FrozenClock
from bot.outbox import get_dispatcher
from bot.outbox.claims import claim_due, load_jobs
from bot.outbox.quotas import used
from bot.services import Services
from models import ChatUser, OutboxMessage
from tests.channels.conftest import tune
from tests.channels.test_wechat_delivery import with_template_id
from tests.outbox.conftest import add, make_users, row_values
from tests.outbox.fakes import ClockedWeChat, FloodTelegram


async def test_a_lane_is_claimed_earliest_deadline_first_then_rows_without_one_by_due_time(
    services: Services,
) -> None:
    users = await make_users(services, "telegram", 6)
    now = services.clock.now()
    minutes = timedelta(minutes=1)
    await add(
        services,
        [
            # Due first, but its class starts last.
            row_values(
                users[0], "late-class", "reminder", now - 30 * minutes, deadline_at=now + 90 * minutes
            ),
            row_values(users[1], "early-class", "reminder", now - minutes, deadline_at=now + 20 * minutes),
            row_values(users[2], "mid-class", "reminder", now - 5 * minutes, deadline_at=now + 45 * minutes),
            row_values(users[3], "claim-update-old", "claim_update", now - 60 * minutes),
            row_values(users[4], "claim-update-new", "claim_update", now - 2 * minutes),
            row_values(users[5], "not-due-yet", "reminder", now + minutes, deadline_at=now + 10 * minutes),
        ],
    )
    async with services.db.session() as db:
        ids = await claim_due(db, channel="telegram", now=now, limit=3, lease_seconds=15, lane="reminder")
        first = [job.key for job in await load_jobs(db, ids, iter(range(1, 99)).__next__)]
        ids = await claim_due(db, channel="telegram", now=now, limit=5, lease_seconds=15, lane="reminder")
        rest = [job.key for job in await load_jobs(db, ids, iter(range(1, 99)).__next__)]
    assert first == ["early-class", "mid-class", "late-class"]
    assert rest == ["claim-update-old", "claim-update-new"]  # a row not yet due is not claimed


async def test_a_reminder_whose_class_began_is_dropped_counted_and_never_sent(
    client: TestClient, services: Services, fake_telegram: FloodTelegram, clock: FrozenClock
) -> None:
    users = await make_users(services, "telegram", 3)
    now = clock.now()
    await add(
        services,
        [
            row_values(users[0], "reminder:1:1", "reminder", now - timedelta(minutes=40), deadline_at=now),
            # Two seconds left is less than a send takes (channels.telegram.send_seconds): dropped too.
            row_values(users[1], "reminder:2:2", "reminder", now, deadline_at=now + timedelta(seconds=1)),
            row_values(users[2], "reminder:3:3", "reminder", now, deadline_at=now + timedelta(minutes=10)),
        ],
    )
    stats = await get_dispatcher(services).run(budget=10)
    assert [a.text for a in fake_telegram.arrivals] == ["reminder:3:3"]
    async with services.db.session() as db:
        rows = {r.idempotency_key: r for r in (await db.execute(select(OutboxMessage))).scalars()}
    for key in ("reminder:1:1", "reminder:2:2"):
        assert rows[key].status == "skipped" and rows[key].delivery == "too_late"
        assert rows[key].sent_at is None and "deadline" in (rows[key].last_error or "")
    assert rows["reminder:3:3"].status == "sent"
    assert stats.skipped >= 2


async def test_wechat_template_sends_are_counted_per_day_in_the_database(
    client: TestClient, services: Services, fake_wechat: ClockedWeChat, clock: FrozenClock
) -> None:
    tune(services)
    with_template_id(services, "checkin_reminder", "TPL-CHECKIN")
    users = await make_users(services, "wechat", 2)
    now = clock.now()
    template = {
        "template": "checkin_reminder",
        "fields": {"class_name": "电工", "starts_at": "x", "address": "y"},
    }
    async with services.db.session() as db:
        # The first is outside the 48-hour window: only a template reaches them.
        await db.execute(update(ChatUser).where(ChatUser.id == users[0]).values(last_inbound_at=None))
    await add(
        services,
        [
            row_values(
                u, f"reminder:9:{u}", "reminder", now, deadline_at=now + timedelta(hours=1), template=template
            )
            for u in users
        ],
    )
    await get_dispatcher(services).run(budget=10)
    async with services.db.session() as db:
        counts = await used(db, "wechat", now.date())
    assert counts == {"template": 1, "message": 1}
