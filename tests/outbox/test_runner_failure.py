"""One channel's failure does not stop the other channel's sending.

Found by the live reminder-wave bench: a locked SQLite database while the
Telegram runner wound down raised out of the whole dispatch, leaving the
WeChat runner orphaned and the run ended as failed.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from bot.outbox import get_dispatcher
from bot.outbox.runner import ChannelRunner
from bot.services import Services
from models import OutboxMessage
from tests.outbox.conftest import add, make_users, row_values
from tests.outbox.fakes import ClockedWeChat, FloodTelegram


async def test_a_failing_channel_leaves_the_other_to_finish(
    client: TestClient,
    services: Services,
    fake_telegram: FloodTelegram,
    fake_wechat: ClockedWeChat,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    telegram = await make_users(services, "telegram", 3)
    wechat = await make_users(services, "wechat", 3, start=5000)
    now = services.clock.now()
    await add(services, [row_values(u, f"b:{u}", "broadcast", now) for u in telegram + wechat])

    wind_down = ChannelRunner._wind_down

    async def locked_for_telegram(self: ChannelRunner) -> None:
        await wind_down(self)
        if self.channel == "telegram":
            raise OperationalError("COMMIT", {}, Exception("database is locked"))

    monkeypatch.setattr(ChannelRunner, "_wind_down", locked_for_telegram)
    with caplog.at_level(logging.ERROR, logger="bot.outbox.dispatcher"):
        await get_dispatcher(services).run(budget=20)

    assert len(fake_wechat.arrivals) == 3  # WeChat's trainees all got the notice
    assert "the telegram runner failed" in caplog.text
    async with services.db.session() as db:
        sent: Any = await db.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent")
        )
    assert sent == 6  # Telegram's sends were recorded before its wind-down failed
