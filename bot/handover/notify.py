"""A note to the bound chat of the staff who answer a new request (optional, `notify_staff`).

The console's header count is always there; this reaches staff who are not
looking at it. Only the office the request is routed to is told (the county's
staff; the city's when the county has nobody with a bound chat; city staff for
the province queue), so a province admin's phone does not ring for every
request. The note names no trainee: staff chats are not where personal data goes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.auth import Principal
from bot.handover.config import handover_config
from bot.outbox import enqueue
from bot.services import Services
from models import Handover, StaffAccount

ROLES = ("county_staff", "city_staff")
# A note about a request that has waited a day is no longer news.
EXPIRES_AFTER = timedelta(hours=24)


def _covers(account: StaffAccount, region_code: str | None) -> bool:
    if region_code is None:
        return account.role == "city_staff"
    return Principal(role=account.role, region_code=account.region_code).covers_region(region_code)


async def notify_staff(services: Services, db: AsyncSession, handover: Handover, now: datetime) -> int:
    """Queue the note for the staff of the request's office; how many were queued."""
    config = handover_config(services)
    if not config.notify_staff:
        return 0
    accounts = list(
        (
            await db.execute(
                select(StaffAccount).where(
                    StaffAccount.revoked_at.is_(None),
                    StaffAccount.chat_user_id.is_not(None),
                    StaffAccount.role.in_(ROLES),
                )
            )
        ).scalars()
    )
    covering = [a for a in accounts if _covers(a, handover.region_code)]
    counties = [a for a in covering if a.role == "county_staff"]
    targets = counties or covering
    region = config.region_name(handover.region_code)
    key = "handover.staff_alert" if region else "handover.staff_alert_unrouted"
    text = services.texts.get(key, region=region or "")
    queued = 0
    for account in targets:
        assert account.chat_user_id is not None
        queued += await enqueue(
            db,
            key=f"handover-alert:{handover.id}:{account.id}",
            chat_user_id=account.chat_user_id,
            kind="staff_alert",
            text=text,
            due_at=now,
            expires_at=now + EXPIRES_AFTER,
        )
    return queued
