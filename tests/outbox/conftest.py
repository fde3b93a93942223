"""The outbox tests run against the same local fakes of both platforms as the channel tests."""

from __future__ import annotations

from typing import Any

import pytest

from bot.clock import FrozenClock
from bot.services import Services
from models import ChatUser
from tests.channels.conftest import settings_overrides  # noqa: F401
from tests.outbox.fakes import ClockedWeChat, FloodTelegram


@pytest.fixture
async def fake_telegram(aiohttp_server: Any) -> FloodTelegram:
    fake = FloodTelegram()
    server = await aiohttp_server(fake.app())
    fake.base = str(server.make_url("")).rstrip("/")  # type: ignore[attr-defined]
    return fake


@pytest.fixture
async def fake_wechat(aiohttp_server: Any, clock: FrozenClock) -> ClockedWeChat:
    fake = ClockedWeChat(now=clock.now)
    server = await aiohttp_server(fake.app())
    fake.base = str(server.make_url("")).rstrip("/")  # type: ignore[attr-defined]
    return fake


async def make_users(services: Services, channel: str, count: int, *, start: int = 1000) -> list[int]:
    """`count` chat users of one channel (external ids start, start+1, …); their ids."""
    now = services.clock.now()
    async with services.db.session() as db:
        users = [
            ChatUser(channel=channel, external_id=str(start + n), created_at=now, last_inbound_at=now)
            for n in range(count)
        ]
        db.add_all(users)
        await db.flush()
        return [u.id for u in users]


async def add(services: Services, rows: list[dict[str, Any]]) -> None:
    from sqlalchemy import insert

    from models import OutboxMessage

    async with services.db.session() as db:
        await db.execute(insert(OutboxMessage), rows)


def row_values(user_id: int, key: str, kind: str, due_at: Any, **extra: Any) -> dict[str, Any]:
    lane = "reply" if kind == "reply" else "broadcast" if kind == "broadcast" else "reminder"
    return {
        "idempotency_key": key,
        "chat_user_id": user_id,
        "kind": kind,
        "lane": lane,
        "text": key,
        "choices": [],
        "due_at": due_at,
        "status": "pending",
        "attempts": 0,
        "created_at": due_at,
        **extra,
    }
