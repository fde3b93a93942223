"""Results written in groups keep the fence: a stale holder's result lands nowhere, nor its side effects."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, insert, select

from bot.outbox.claims import claim_due, free_expired_claims, load_jobs
from bot.outbox.quotas import used
from bot.outbox.writes import Final, ResultWriter
from bot.services import Services
from models import Message, OutboxMessage
from tests.outbox.conftest import make_users, row_values


async def test_one_group_lands_the_current_claims_and_discards_a_lapsed_one(services: Services) -> None:
    users = await make_users(services, "wechat", 3)
    now = services.clock.now()
    async with services.db.session() as db:
        await db.execute(insert(OutboxMessage), [row_values(u, f"r:{u}", "reminder", now) for u in users])
        ids = await claim_due(db, channel="wechat", now=now, limit=3, lease_seconds=15)
        jobs = await load_jobs(db, ids, iter(range(1, 99)).__next__)
    stale = jobs[0]
    # The first row's claim lapses and another holder takes it under a new token.
    later = now + timedelta(seconds=16)
    async with services.db.session() as db:
        await db.execute(
            OutboxMessage.__table__.update()
            .where(OutboxMessage.id != stale.id)
            .values(locked_until=later + timedelta(seconds=15))
        )
        assert await free_expired_claims(db, later) == 1
        (retaken,) = await claim_due(db, channel="wechat", now=later, limit=5, lease_seconds=15)
    assert retaken == stale.id

    tz = services.clock.tz
    writer = ResultWriter(services.db, "wechat", services.clock.now, lambda at: at.astimezone(tz).date())
    finals = [
        Final(
            job=job,
            status="sent",
            values={"delivery": "template"},
            attempt=True,
            transcript=True,
            counter="template",
        )
        for job in jobs
    ]
    landed = await asyncio.gather(*(writer.write(final) for final in finals))

    assert landed == [False, True, True]
    async with services.db.session() as db:
        rows = {
            r.id: r
            for r in await db.scalars(select(OutboxMessage).where(OutboxMessage.id.in_([j.id for j in jobs])))
        }
        lines = await db.scalar(select(func.count()).select_from(Message))
        counted = await used(db, "wechat", now.astimezone(tz).date())
    assert rows[stale.id].status == "sending" and rows[stale.id].attempts == 0  # the new holder's, untouched
    for job in jobs[1:]:
        assert rows[job.id].status == "sent" and rows[job.id].attempts == 1
        assert rows[job.id].delivery == "template" and rows[job.id].lease_token is None
    assert lines == 2 and counted == {"template": 2}  # transcript and quota: the landed rows only
