"""The attendance jobs' outbox rows: their idempotency keys and the bulk writes that keep them unique.

Every message has a deterministic idempotency key, so any step may run
twice, on two processes, or again after a crash, and nobody gets anything
twice:

    reminder:{session_id}:{chat_user_id}
    nudge:{session_id}:{chat_user_id}
    attendance_warning:{class_id}:{trainee_id}:{full|exam}:{chat_user_id}

Reminders, nudges, warnings and the preference changes all write through
these helpers, so the keys and conflict rules exist once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models import ClassSession, OutboxMessage

# Bulk inserts go through the table, not the ORM entity: no per-row ORM bookkeeping.
OUTBOX = OutboxMessage.__table__


def reminder_key(session_id: int, chat_user_id: int) -> str:
    return f"reminder:{session_id}:{chat_user_id}"


def nudge_key(session_id: int, chat_user_id: int) -> str:
    return f"nudge:{session_id}:{chat_user_id}"


def warning_key(class_id: int, trainee_id: int, level: str, chat_user_id: int) -> str:
    return f"attendance_warning:{class_id}:{trainee_id}:{level}:{chat_user_id}"


@dataclass
class RunStats:
    sessions: int = 0
    rows: int = 0


def _insert(db: AsyncSession) -> Any:
    return pg_insert if db.bind.dialect.name == "postgresql" else sqlite_insert


def claim_sessions(query: Any, db: AsyncSession) -> Any:
    """Claim rows: other processes skip them on PostgreSQL; SQLite has one writer anyway."""
    if db.bind.dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True, of=ClassSession)
    return query


async def upsert_reminders(db: AsyncSession, rows: list[dict[str, Any]]) -> int:
    """Insert reminders; an existing *pending* one takes the new time and text, anything else stays.

    Updating pending rows is what lets a later run follow a changed session
    time or reminder preference without ever producing a second row.
    """
    if not rows:
        return 0
    ins = _insert(db)(OUTBOX)
    stmt = ins.on_conflict_do_update(
        index_elements=["idempotency_key"],
        set_={
            "due_at": ins.excluded.due_at,
            "text": ins.excluded.text,
            "template": ins.excluded.template,
            "expires_at": ins.excluded.expires_at,
            "deadline_at": ins.excluded.deadline_at,
        },
        where=OUTBOX.c.status == "pending",
    )
    await db.execute(stmt, rows)
    return len(rows)


async def insert_new(db: AsyncSession, rows: list[dict[str, Any]]) -> int:
    if not rows:
        return 0
    stmt = _insert(db)(OUTBOX).on_conflict_do_nothing(index_elements=["idempotency_key"])
    await db.execute(stmt, rows)
    return len(rows)


def outbox_row(
    key: str,
    chat_user_id: int,
    kind: str,
    text: str,
    due: datetime,
    now: datetime,
    choices: list[str],
    template: dict[str, Any] | None,
    expires_at: datetime | None = None,
    deadline_at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "expires_at": expires_at,
        "deadline_at": deadline_at,
        "idempotency_key": key,
        "chat_user_id": chat_user_id,
        "kind": kind,
        "text": text,
        "choices": choices,
        "template": template,
        "due_at": due,
        "status": "pending",
        "attempts": 0,
        "created_at": now,
    }
