"""A backlog longer than one dispatcher run is sent by one scheduled dispatch, without a tick's gap.

A run ends after `run_budget_seconds`. The scheduled job used to leave the
rest to its next tick, so a channel with a steady backlog idled up to
`interval_seconds` after every run (the reminder wave's WeChat lane ran 4-5 %
below its rate with no refusal at all). Counted here, not timed: one call of
the job sends a backlog of several runs' worth, once each, and returns when
nothing is left.
"""

from __future__ import annotations

import asyncio

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.outbox.job import dispatch_due
from bot.services import Services
from models import OutboxMessage
from tests.channels.conftest import tune
from tests.outbox.conftest import add, make_users, row_values
from tests.outbox.fakes import ClockedWeChat, FloodTelegram

RATE = 20.0  # per second, both channels
BUDGET = 1.0  # seconds a run may last
BACKLOG = 70  # more than three runs' worth at RATE


async def statuses(services: Services) -> dict[str, int]:
    async with services.db.session() as db:
        rows = await db.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
        return {status: int(n) for status, n in rows.all()}


@pytest.mark.parametrize("channel", ["telegram", "wechat"])
async def test_one_scheduled_dispatch_sends_a_backlog_of_several_runs(
    client: TestClient,
    services: Services,
    fake_telegram: FloodTelegram,
    fake_wechat: ClockedWeChat,
    channel: str,
) -> None:
    tune(
        services,
        **{channel: {"rate_per_second": RATE, "per_chat_interval_seconds": 0.0}},
        dispatcher={"run_budget_seconds": BUDGET},
    )
    fake_telegram.per_second, fake_telegram.per_chat_interval = 200, 0.0
    users = await make_users(services, channel, BACKLOG)
    now = services.clock.now()
    await add(services, [row_values(u, f"r:{u}", "reminder", now) for u in users])

    # A guard against a dispatch that never returns, not a speed limit (it takes about 4 s).
    await asyncio.wait_for(dispatch_due(services), 120)

    assert await statuses(services) == {"sent": BACKLOG}
    if channel == "telegram":
        texts = [a.text for a in fake_telegram.arrivals]
        assert fake_telegram.limit_hits == 0
    else:
        texts = [content for _, content in fake_wechat.texts]
    assert sorted(texts) == sorted(f"r:{u}" for u in users)  # each once
