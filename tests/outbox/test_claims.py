"""The claim: exactly n rows per lane, in time that follows n (not the backlog), fenced by a token."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select, text

from bot.outbox.claims import (
    claim_due,
    claim_lanes,
    claim_statement,
    free_expired_claims,
    load_jobs,
    renew_claims,
    update_claimed,
)
from bot.services import Services
from models import OutboxMessage
from tests.outbox.conftest import make_users, row_values


async def statuses(services: Services) -> dict[str, int]:
    async with services.db.session() as db:
        rows = await db.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))
        return {status: count for status, count in rows.all()}


def plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes += plan_nodes(child)
    return nodes


async def test_a_claim_takes_exactly_n_rows_of_100000_due_and_runs_its_query_once(services: Services) -> None:
    if services.db.is_sqlite:
        pytest.skip("the semi-join re-planning is PostgreSQL's; SQLite claims under its single writer")
    (user,) = await make_users(services, "telegram", 1)
    now = services.clock.now()
    async with services.db.session() as db:
        await db.execute(
            text(
                "INSERT INTO outbox (idempotency_key, chat_user_id, kind, lane, text, choices, due_at,"
                " status, attempts, created_at)"
                " SELECT 'bulk:' || g, :user, 'broadcast', 'broadcast', 'x', '[]', :due, 'pending', 0, :due"
                " FROM generate_series(1, 100000) AS g"
            ),
            {"user": user, "due": now - timedelta(minutes=5)},
        )
        await db.execute(text("ANALYZE outbox"))
        await db.execute(text("ANALYZE chat_users"))
    statement = claim_statement(
        "postgresql",
        channel="telegram",
        now=now,
        limit=60,
        lease_seconds=15,
        lane="broadcast",
        token="t" * 32,
    )
    async with services.db.engine.connect() as conn:
        compiled = statement.compile(conn.engine, compile_kwargs={"literal_binds": True})
        sql = str(compiled)
        assert "MATERIALIZED" in sql
        transaction = await conn.begin()
        try:
            result = await conn.execute(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}"))
            raw = result.scalar_one()
            plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
        finally:
            await transaction.rollback()
    nodes = plan_nodes(plan)
    kinds = [node["Node Type"] for node in nodes]
    # The LIMIT runs once (not once per outer row, as the semi-join did), and takes 60 rows.
    limits = [node for node in nodes if node["Node Type"] == "Limit"]
    assert limits and all(node["Actual Loops"] == 1 for node in limits), kinds
    assert limits[0]["Actual Rows"] == 60
    assert not any("Semi" in str(node.get("Join Type", "")) for node in nodes), kinds
    async with services.db.session() as db:
        claimed = await claim_due(
            db, channel="telegram", now=now, limit=60, lease_seconds=15, lane="broadcast"
        )
    assert len(claimed) == 60
    assert await statuses(services) == {"sending": 60, "pending": 99_940}


async def test_lanes_are_claimed_most_urgent_first_each_within_its_own_budget(services: Services) -> None:
    users = await make_users(services, "telegram", 3)
    now = services.clock.now()
    early = now - timedelta(hours=1)
    async with services.db.session() as db:
        await db.execute(
            insert(OutboxMessage),
            [row_values(users[0], f"b:{n}", "broadcast", early) for n in range(50)]
            + [row_values(users[1], f"r:{n}", "reminder", early) for n in range(50)]
            + [row_values(users[2], f"q:{n}", "reply", now) for n in range(5)],
        )
    async with services.db.session() as db:
        ids = await claim_lanes(
            db,
            channel="telegram",
            now=now,
            wants={"reply": 20, "reminder": 10, "broadcast": 7},
            lease_seconds=15,
        )
        jobs = await load_jobs(db, ids, iter(range(1, 1000)).__next__)
    lanes = [job.lane for job in jobs]
    assert lanes.count("reply") == 5 and lanes.count("reminder") == 10 and lanes.count("broadcast") == 7
    assert len({job.token for job in jobs}) == 1 and all(job.epoch == 1 for job in jobs)


async def test_a_lapsed_claim_is_reclaimed_under_a_new_token_and_the_old_result_is_discarded(
    services: Services,
) -> None:
    (user,) = await make_users(services, "telegram", 1)
    now = services.clock.now()
    async with services.db.session() as db:
        await db.execute(insert(OutboxMessage), [row_values(user, "only", "reminder", now)])
    async with services.db.session() as db:
        ids = await claim_due(db, channel="telegram", now=now, limit=5, lease_seconds=15)
        (first,) = await load_jobs(db, ids, iter(range(1, 9)).__next__)
    # A live holder's rows are not freed ...
    async with services.db.session() as db:
        assert await free_expired_claims(db, now + timedelta(seconds=10)) == 0
    # ... a lapsed claim is, and is taken again under a new token and epoch.
    later = now + timedelta(seconds=16)
    async with services.db.session() as db:
        assert await free_expired_claims(db, later) == 1
        ids = await claim_due(db, channel="telegram", now=later, limit=5, lease_seconds=15)
        (second,) = await load_jobs(db, ids, iter(range(1, 9)).__next__)
    assert second.token != first.token and second.epoch == first.epoch + 1
    async with services.db.session() as db:
        late = await db.execute(update_claimed([first.id], first.token, status="sent"))
        assert late.rowcount == 0  # the old holder's result lands nowhere
        assert await renew_claims(db, [first], later + timedelta(seconds=15)) == set()
        assert await renew_claims(db, [second], later + timedelta(seconds=15)) == {second.id}
        done = await db.execute(update_claimed([second.id], second.token, status="sent"))
        assert done.rowcount == 1
    assert await statuses(services) == {"sent": 1}
