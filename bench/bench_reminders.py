"""Attendance at province scale: 100,000 enrolled trainees in 2,000 classes.

Prints
1. the time to create the day's check-in reminders (the morning run), a
   second run (nothing to do), the catch-up tick and the mid-session nudges;
2. the database cost of one outbox dispatcher tick as the outbox grows
   (10k / 100k / 300k rows, the same 200 due rows each time): the claim
   query's plan (it must walk the (status, due_at) index, never scan the
   table) and its timings, plus the attendance tick's own cost. Flat numbers
   across the sizes are the point.

SQLite (a temporary file) by default; PostgreSQL when BENCH_DATABASE_URL is
set (a private throw-away database is created next to it and dropped after).
Sizes: BENCH_TRAINEES (100000), BENCH_CLASSES (2000).

Run: .venv/bin/python bench/bench_reminders.py  (or `make bench`)
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import delete, func, insert, select, text, update

from bot.attendance.rate_warnings import settle_ended_sessions
from bot.attendance.reminders import create_nudges, create_reminders, tick
from bot.attendance.schedule import WeeklyPattern, sessions_from_pattern
from bot.clock import LOCAL_TZ, FrozenClock
from bot.services import Services
from bot.settings import load_settings
from bot.texts import get_texts
from models import (
    ChatUser,
    ClassSession,
    Enrollment,
    Institution,
    OutboxMessage,
    Trainee,
    TrainingClass,
)
from models.db import Database

TRAINEES = int(os.environ.get("BENCH_TRAINEES", "100000"))
CLASSES = int(os.environ.get("BENCH_CLASSES", "2000"))
INSTITUTIONS = 40
TODAY = date(2026, 11, 23)  # a Monday
MORNING = datetime.combine(TODAY, dtime(5, 0), LOCAL_TZ)
SIZES = (10_000, 100_000, 300_000)
CLAIM_LIMIT = 100
RUNS = 30
DUE_ROWS = CLAIM_LIMIT * (RUNS + 2)  # a backlog the timed claims drain, 100 rows at a time
CHUNK = 5000


class _NoNLU:
    """Jobs need no language understanding; this only satisfies the Services type."""

    def parse(self, text: str, today: date | None = None) -> Any:
        raise RuntimeError("no NLU in the benchmark")

    def answer_question(self, text: str) -> Any:
        raise RuntimeError("no NLU in the benchmark")

    def extract_entities(self, text: str, today: date | None = None) -> Any:
        raise RuntimeError("no NLU in the benchmark")


async def _bulk(db: Database, table: Any, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), CHUNK):
        async with db.session() as s:
            await s.execute(insert(table), rows[i : i + CHUNK])


async def populate(db: Database) -> int:
    """Institutions, classes with four weeks of sessions, trainees, enrollments and bound chat users."""
    now = MORNING
    await _bulk(
        db,
        Institution,
        [
            {
                "id": i + 1,
                "code": f"B-{i:03d}",
                "name": f"培训学校{i}",
                "region_code": "220102",
                "status": "active",
                "created_at": now,
            }
            for i in range(INSTITUTIONS)
        ],
    )
    classes, sessions = [], []
    sid = 0
    for c in range(CLASSES):
        start = dtime(8 + c % 11, 30 if c % 2 else 0)
        end = dtime(start.hour + 3, start.minute)
        pattern = WeeklyPattern(weekdays=(0, 1, 2, 3, 4), start=start, end=end)
        plan = sessions_from_pattern(pattern, date(2026, 11, 9), date(2026, 12, 4))
        classes.append(
            {
                "id": c + 1,
                "code": f"BC-{c:05d}",
                "name": f"技能培训班{c}",
                "occupation": "电工",
                "institution_id": c % INSTITUTIONS + 1,
                "region_code": "220102",
                "training_type": "key_group",
                "mode": "offline",
                "status": "running",
                "start_date": date(2026, 11, 9),
                "end_date": date(2026, 12, 4),
                "planned_hours": plan.total_hours,
                "capacity": 60,
                "capacity_approved": False,
                "address": f"实训楼{c % 50}室",
                "teacher": "王老师",
                "schedule": pattern.to_json(),
                "reminder_minutes_before": 30,
                "created_at": now,
            }
        )
        for p in plan.sessions:
            sid += 1
            sessions.append(
                {
                    "id": sid,
                    "class_id": c + 1,
                    "session_date": p.session_date,
                    "starts_at": p.starts_at,
                    "ends_at": p.ends_at,
                    "hours": p.hours,
                }
            )
    await _bulk(db, TrainingClass, classes)
    await _bulk(db, ClassSession, sessions)
    trainees, enrollments, users = [], [], []
    for t in range(TRAINEES):
        trainees.append(
            {
                "id": t + 1,
                "name": f"学员{t}",
                "id_card_hash": hashlib.sha256(f"t{t}".encode()).hexdigest(),
                "id_card_masked": "220102********0000",
                "phone": None,
                "region_code": "220102",
                "groups": [],
                "created_at": now,
                "extra": {},
            }
        )
        enrollments.append(
            {"class_id": t % CLASSES + 1, "trainee_id": t + 1, "status": "enrolled", "enrolled_at": now}
        )
        users.append(
            {
                "id": t + 1,
                "channel": "telegram" if t % 2 else "wechat",
                "external_id": f"bench-{t}",
                "trainee_id": t + 1,
                "bind_failures": 0,
                "reminders_enabled": t % 20 != 0,
                "reminder_time": dtime(7, 0) if t % 10 == 3 else None,
                "reachable": t % 50 != 0,
                "profile": {},
                "created_at": now,
            }
        )
    await _bulk(db, Trainee, trainees)
    await _bulk(db, Enrollment, enrollments)
    await _bulk(db, ChatUser, users)
    return sum(1 for u in users if u["reminders_enabled"] and u["reachable"])


def _ms(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[min(len(samples) - 1, int(len(samples) * 0.95))]
    return f"p50 {statistics.median(samples) * 1000:7.2f} ms   p95 {p95 * 1000:7.2f} ms"


async def timed(label: str, fn: Callable[[], Awaitable[Any]]) -> Any:
    started = time.perf_counter()
    result = await fn()
    print(f"  {label:<52} {time.perf_counter() - started:8.2f} s   {result}")
    return result


async def grow_outbox(db: Database, target: int, now: datetime) -> None:
    """History rows (sent long ago) up to `target`, plus exactly DUE_ROWS due telegram rows.

    Afterwards the table's statistics are refreshed, as autovacuum/ANALYZE
    would have done in a running service.
    """
    async with db.session() as s:
        await s.execute(delete(OutboxMessage).where(OutboxMessage.status != "sent"))
        have = (await s.execute(select(func.count(OutboxMessage.id)))).scalar_one()
    rows = []
    for i in range(have, target - DUE_ROWS):
        sent = now - timedelta(days=1 + i % 60, minutes=i % 1440)
        rows.append(
            {
                "idempotency_key": f"history:{i}",
                "chat_user_id": i % TRAINEES + 1,
                "kind": "reminder",
                "text": "历史提醒",
                "choices": [],
                "due_at": sent,
                "status": "sent",
                "attempts": 1,
                "delivery": "message",
                "sent_at": sent,
                "created_at": sent,
            }
        )
    await _bulk(db, OutboxMessage, rows)
    due = [
        {
            "idempotency_key": f"due:{target}:{i}",
            "chat_user_id": (2 * i) % TRAINEES + 2,
            "kind": "broadcast",
            "text": "通知",
            "choices": [],
            "due_at": now - timedelta(seconds=i),
            "status": "pending",
            "attempts": 0,
            "created_at": now,
        }
        for i in range(DUE_ROWS)
    ]
    await _bulk(db, OutboxMessage, due)
    async with db.engine.connect() as conn:
        if db.is_sqlite:
            await conn.execute(text("ANALYZE"))
        else:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await auto.execute(text("VACUUM ANALYZE outbox"))


def index_query(now: datetime) -> Any:
    """Claim by due time on the (status, due_at) index alone: the shape that stays flat."""
    return (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == "pending", OutboxMessage.due_at <= now)
        .order_by(OutboxMessage.due_at)
        .limit(CLAIM_LIMIT)
    )


async def explain(db: Database, query: Any) -> list[str]:
    """The plan, with actual times on PostgreSQL (buffer lines left out)."""
    async with db.engine.connect() as conn:
        compiled = query.compile(dialect=conn.dialect)
        names = compiled.positiontup or []
        if db.is_sqlite:
            params = [
                v.astimezone(UTC).replace(tzinfo=None) if isinstance(v, datetime) else v
                for v in (compiled.params[k] for k in names)
            ]
            rows = (await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), tuple(params))).all()
            return [str(r[-1]) for r in rows]
        sql = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + str(compiled)
        rows = (await conn.exec_driver_sql(sql, tuple(compiled.params[k] for k in names))).all()
        return [str(r[0]) for r in rows if "Buffers:" not in str(r[0])]


async def index_claim(db: Database, now: datetime) -> float:
    """The read half of a claim on the index (FOR UPDATE SKIP LOCKED on PostgreSQL), rolled back."""
    query = index_query(now)
    if not db.is_sqlite:
        query = query.with_for_update(skip_locked=True)
    async with db.sessionmaker() as s:
        started = time.perf_counter()
        ids = list((await s.execute(query)).scalars())
        elapsed = time.perf_counter() - started
        await s.rollback()
    assert len(ids) == CLAIM_LIMIT, len(ids)
    return elapsed


async def claim_tick(db: Database, now: datetime) -> float:
    """One real dispatcher claim (UPDATE … WHERE id IN (due rows via the index) RETURNING), timed."""
    from bot.outbox.claims import claim_due

    started = time.perf_counter()
    async with db.session() as s:
        ids = await claim_due(s, channel="telegram", now=now, limit=CLAIM_LIMIT, lease_seconds=60)
    elapsed = time.perf_counter() - started
    assert len(ids) == CLAIM_LIMIT, len(ids)
    return elapsed


async def run(url: str, tmp: Path) -> None:
    settings = load_settings(
        database_url=url, bot_data_dir=tmp / "data", secret_key="bench", scheduler_enabled=False
    )
    db = Database(url)
    try:
        await db.migrate()
        clock = FrozenClock(MORNING)
        services = Services(settings, db, get_texts(), clock, _NoNLU())
        print(
            f"database: {'SQLite' if db.is_sqlite else 'PostgreSQL'}; "
            f"{TRAINEES:,} trainees, {CLASSES:,} classes"
        )
        started = time.perf_counter()
        wanted = await populate(db)
        print(
            f"  populated in {time.perf_counter() - started:.1f} s "
            f"({wanted:,} trainees want reminders: 5 % off, 2 % unreachable)"
        )

        print("the day's reminders (Monday 05:00, every class has one lesson today):")
        first = await timed("morning run: create the day's reminders", lambda: create_reminders(services))
        async with db.session() as s:
            made = (await s.execute(select(func.count(OutboxMessage.id)))).scalar_one()
        assert made == wanted, (made, wanted)
        print(
            f"  -> {made:,} reminder rows for {first.sessions:,} sessions "
            f"({made / max(first.rows, 1):.0%} of candidates)"
        )
        await timed("second run (restart: nothing to do)", lambda: create_reminders(services))
        await timed("attendance tick at 05:00 (catch-up, no work)", lambda: tick(services))
        async with db.session() as s:
            await s.execute(update(ClassSession).values(reminders_created_at=None))
        await timed("run after a crash lost every mark (all rows exist)", lambda: create_reminders(services))
        clock.set(datetime.combine(TODAY, dtime(10, 0), LOCAL_TZ))
        await timed("mid-session nudges at 10:00", lambda: create_nudges(services))
        now = datetime.combine(TODAY, dtime(12, 0), LOCAL_TZ)
        clock.set(now)
        # Nobody has a record for the first two weeks, so every trainee is warned: the worst case.
        await timed(
            "warnings after the morning lessons (worst case)", lambda: settle_ended_sessions(services)
        )

        print(f"dispatcher cost per tick as the outbox grows ({DUE_ROWS:,} rows due, claimed 100 at a time):")
        async with db.session() as s:
            await s.execute(delete(OutboxMessage))
            # The day's attendance work is done: what remains is the steady per-tick cost.
            await s.execute(update(ClassSession).values(settled_at=now, nudges_created_at=now))
        from bot.outbox.claims import due_query

        for size in SIZES:
            await grow_outbox(db, size, now)
            plans = {
                "dispatcher claim_due": await explain(db, due_query("telegram", now, CLAIM_LIMIT)),
                "claim on the index": await explain(db, index_query(now)),
            }
            await index_claim(db, now)  # warm the cache once
            by_index = [await index_claim(db, now) for _ in range(RUNS)]
            claims = [await claim_tick(db, now) for _ in range(RUNS)]
            ticks = []
            for _ in range(5):
                t0 = time.perf_counter()
                await tick(services)
                ticks.append(time.perf_counter() - t0)
            print(f"  outbox {size:>7,} rows:")
            print(f"    claim 100 due rows on the (status, due_at) index  {_ms(by_index)}")
            print(f"    dispatcher's claim_due (bot.outbox.claims)         {_ms(claims)}")
            print(f"    attendance tick                                    {_ms(ticks)}")
            if size in (SIZES[0], SIZES[-1]):
                for name, plan in plans.items():
                    print(f"    plan of {name}:")
                    for line in plan:
                        print(f"      {line}")
    finally:
        await db.dispose()


async def main() -> None:
    base = os.environ.get("BENCH_DATABASE_URL", "")
    with tempfile.TemporaryDirectory() as tmp:
        if not base:
            await run(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}", Path(tmp))
            return
        import asyncpg

        admin = base.replace("postgresql+asyncpg://", "postgresql://")
        name = f"bench_reminders_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(admin)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        try:
            head = base.rpartition("/")[0]
            await run(f"{head}/{name}", Path(tmp))
        finally:
            conn = await asyncpg.connect(admin)
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
