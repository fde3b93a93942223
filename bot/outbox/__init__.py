"""The outbox: every message that must reach a person later is a row first.

Producers (reminders, claim updates, broadcasts, slow replies) call
`enqueue`; the idempotency key makes running a producer twice harmless.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import OutboxMessage


async def enqueue(
    db: AsyncSession,
    *,
    key: str,
    chat_user_id: int,
    kind: str,
    text: str,
    due_at: datetime,
    choices: list[str] | None = None,
    template: dict[str, Any] | None = None,
    broadcast_id: int | None = None,
) -> bool:
    """Add a delivery unless one with this key exists; True when a row was added."""
    insert = pg_insert if db.bind.dialect.name == "postgresql" else sqlite_insert
    result = await db.execute(
        insert(OutboxMessage)
        .values(
            idempotency_key=key,
            chat_user_id=chat_user_id,
            kind=kind,
            text=text,
            choices=list(choices or []),
            template=template,
            due_at=due_at,
            status="pending",
            attempts=0,
            broadcast_id=broadcast_id,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    return bool(result.rowcount)


async def exists(db: AsyncSession, key: str) -> bool:
    return (
        await db.execute(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key))
    ).first() is not None
