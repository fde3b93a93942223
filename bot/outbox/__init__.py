"""The outbox: every message that must reach a person later is a row first.

Producers (reminders, claim updates, broadcasts, slow replies) call
`enqueue`; the idempotency key makes running a producer twice harmless.
The dispatcher (`bot.outbox.dispatcher`) sends due rows at each platform's
pace; `kick` asks it to look now rather than at its next tick. Staff see
rows in `dead` / `failed` and give them another chance with `requeue`.
What each `status` and `delivery` means is documented on `OutboxMessage`.

Lanes (`bot.outbox.lanes`): `enqueue(..., lane="reply"|"reminder"|"broadcast")`
decides who goes first when a channel is busy. By default the lane follows the
kind: "reply" for replies, "broadcast" for broadcasts, "reminder" for the rest.
Pass `lane="reply"` for anything a person is waiting for right now (a staff
member's answer to a trainee, an interactive prompt), whatever its kind.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox.lanes import check_lane, lane_for
from bot.outbox.wakeups import notify_reply
from models import OutboxMessage

if TYPE_CHECKING:
    from bot.outbox.dispatcher import Dispatcher
    from bot.services import Services

# Rows staff may send again: given up after retries, refused, or skipped because
# the user was unreachable (they may have followed the account again since).
REQUEUEABLE = ("dead", "failed", "skipped")


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
    expires_at: datetime | None = None,
    lane: str | None = None,
) -> bool:
    """Add a delivery unless one with this key exists; True when a row was added.

    `template` ({"template": "<key in config/wechat_templates.yaml>", "fields": {...}})
    lets WeChat users outside the 48-hour window still be told; `expires_at`
    drops a message that would be useless late (a reminder after the lesson);
    `lane` ("reply", "reminder", "broadcast") overrides the kind's default lane.
    """
    insert = pg_insert if db.bind.dialect.name == "postgresql" else sqlite_insert
    result = await db.execute(
        insert(OutboxMessage)
        .values(
            idempotency_key=key,
            chat_user_id=chat_user_id,
            kind=kind,
            lane=check_lane(lane) if lane is not None else lane_for(kind),
            text=text,
            choices=list(choices or []),
            template=template,
            due_at=due_at,
            expires_at=expires_at,
            status="pending",
            attempts=0,
            broadcast_id=broadcast_id,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    added = bool(result.rowcount)  # type: ignore[attr-defined]
    if added and (lane or lane_for(kind)) == "reply":
        await notify_reply(db)  # the channel's holder, in any process, claims it on commit
    return added


async def exists(db: AsyncSession, key: str) -> bool:
    return (
        await db.execute(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key))
    ).first() is not None


async def requeue(db: AsyncSession, ids: Iterable[int], *, now: datetime) -> list[int]:
    """Send dead, failed or skipped rows again from now, with a fresh attempt count; the ids requeued.

    Rows in any other state are left alone (a pending row is already queued,
    a sent one must not go twice). The caller audits who asked.
    """
    wanted = sorted({int(i) for i in ids})
    if not wanted:
        return []
    result = await db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(wanted), OutboxMessage.status.in_(REQUEUEABLE))
        .values(
            status="pending",
            attempts=0,
            due_at=now,
            locked_until=None,
            lease_token=None,
            delivery=None,
            unknown_outcomes=0,
        )
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(result.scalars())


def get_dispatcher(services: Services) -> Dispatcher:
    """This process's dispatcher (one per services, created on first use)."""
    from bot.outbox.dispatcher import Dispatcher

    dispatcher = services.extra.get("outbox.dispatcher")
    if dispatcher is None:
        dispatcher = services.extra["outbox.dispatcher"] = Dispatcher(services)
    return dispatcher  # type: ignore[no-any-return]


def kick(services: Services) -> None:
    """Rows were just added that are due now (a reply): dispatch without waiting for the next tick."""
    get_dispatcher(services).kick()
