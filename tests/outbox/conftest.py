"""The outbox tests run against the same local fakes of both platforms as the channel tests."""

from __future__ import annotations

from typing import Any

from bot.services import Services
from models import ChatUser
from tests.channels.conftest import fake_telegram, fake_wechat, settings_overrides  # noqa: F401


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
