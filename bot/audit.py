"""The audit log: who did what to which record, written in the same transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.identity import mask_personal
from models import AuditEntry, utcnow


async def audit(
    db: AsyncSession,
    actor: str,
    action: str,
    target_type: str | None = None,
    target_id: str | int | None = None,
    **detail: Any,
) -> None:
    """Record a staff or system action; ID and phone numbers in text details are masked here too."""
    db.add(
        AuditEntry(
            at=utcnow(),
            actor=actor,
            action=action,
            target_type=target_type,
            target_id=None if target_id is None else str(target_id),
            detail={k: mask_personal(v) if isinstance(v, str) else v for k, v in detail.items()},
        )
    )
