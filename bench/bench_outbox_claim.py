"""The claim alone at growing backlogs: time per claim of 60 rows, 1,000 … 100,000 due.

The materialised-CTE claim of `bot.outbox.claims` beside the statement it
replaced, `UPDATE … WHERE id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)`,
measured in the same run on the same analysed tables (the old one only up to a
few thousand rows: PostgreSQL plans it as a semi-join that re-runs the
subquery, so it claims every due row and grows with the square of the backlog).
Each claim runs in a transaction that is rolled back, so every run sees the
same backlog; the rows claimed are printed beside the time.

Run: .venv/bin/python bench/bench_outbox_claim.py [--sizes 1000,10000,100000] [--old-sizes 400,1200,2400]
(PostgreSQL: BENCH_DATABASE_URL, default postgresql+asyncpg://postgres@127.0.0.1:5432/postgres);
bench/bench_outbox_soak.py runs it after the soak.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_outbox_soak import DEFAULT_URL, Scratch  # noqa: E402

from bot.outbox.claims import claim_statement, due_query  # noqa: E402
from models import ChatUser, OutboxMessage  # noqa: E402
from models.db import Database  # noqa: E402


def old_claim(now: datetime, limit: int) -> Any:
    """The claim before issue 13: the IN-subquery PostgreSQL planned as a re-run semi-join."""
    inner = due_query("telegram", now, limit).with_for_update(of=OutboxMessage, skip_locked=True)
    return (
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(inner.scalar_subquery()), OutboxMessage.status == "pending")
        .values(status="sending", locked_until=now + timedelta(seconds=15))
        .returning(OutboxMessage.id)
        .execution_options(synchronize_session=False)
    )


async def time_claim(db: Database, statement: Any, repeat: int) -> tuple[float, int]:
    """Median seconds of `repeat` claims (each rolled back, so every run sees the same backlog)."""
    times, claimed = [], 0
    for _ in range(repeat):
        async with db.engine.connect() as conn:
            transaction = await conn.begin()
            await conn.execute(text("SET LOCAL statement_timeout = '60s'"))
            start = time.perf_counter()
            claimed = len((await conn.execute(statement)).all())
            times.append(time.perf_counter() - start)
            await transaction.rollback()
    return statistics.median(times), claimed


async def claim_scaling(new_sizes: str, old_sizes_text: str, base_url: str) -> None:
    old_sizes = {int(s) for s in old_sizes_text.split(",") if s}
    sizes = sorted({int(s) for s in new_sizes.split(",") if s} | old_sizes)
    scratch = Scratch(base_url)
    db = await scratch.create()
    try:
        now = datetime.now(UTC)
        async with db.session() as s:
            await s.execute(
                insert(ChatUser),
                [{"channel": "telegram", "external_id": str(n), "created_at": now} for n in range(1000)],
            )
        have = 0
        print("\nclaim of 60 rows vs due backlog (PostgreSQL, analysed tables; median of 5, rolled back)")
        head = f"  {'due rows':>9} {'CTE claim (ms)':>15} {'rows':>5} {'old IN claim (ms)':>18} {'rows':>6}"
        print(head + " ratio")
        for size in sizes:
            async with db.session() as s:
                await s.execute(
                    text(
                        "INSERT INTO outbox (idempotency_key, chat_user_id, kind, lane, text, choices,"
                        " due_at, status, attempts, created_at) SELECT 'bulk:' || g,"
                        " (SELECT min(id) FROM chat_users) + g % 1000, 'broadcast', 'broadcast', 'x', '[]',"
                        " :due, 'pending', 0, :due"
                        " FROM generate_series(CAST(:start AS integer), CAST(:stop AS integer)) AS g"
                    ),
                    {"due": now - timedelta(minutes=1), "start": have + 1, "stop": size},
                )
            have = size
            async with db.engine.connect() as conn:
                await conn.execute(text("ANALYZE outbox, chat_users"))
                await conn.commit()
            new = claim_statement(
                "postgresql",
                channel="telegram",
                now=now,
                limit=60,
                lease_seconds=15,
                lane="broadcast",
                token="b" * 32,
            )
            new_s, new_rows = await time_claim(db, new, 5)
            line = f"  {size:>9,} {new_s * 1000:>15.1f} {new_rows:>5}"
            if size in old_sizes:
                old_s, old_rows = await time_claim(db, old_claim(now, 60), 1)
                line += f" {old_s * 1000:>18.1f} {old_rows:>6} {old_s / new_s:>5.0f}x"
            print(line)
    finally:
        await db.dispose()
        await scratch.drop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--sizes", default="1000,10000,100000")
    p.add_argument("--old-sizes", default="400,1200,2400")
    args = p.parse_args()
    asyncio.run(claim_scaling(args.sizes, args.old_sizes, os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)))


if __name__ == "__main__":
    main()
