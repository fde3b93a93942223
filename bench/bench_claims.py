"""Subsidy claims at city scale: 1,000 finished classes of 30 trainees (30,000 claims).

Prints
1. class-wide submission (30 claims + their trainee notifications, one
   transaction) and class-wide transitions, p50/p99 per class;
2. `outlook` (stage, statutory due date, latest payment date) per claim;
3. the daily deadline job over the whole data set: first run of a day and
   the idempotent second run;
4. a bound trainee's 补贴到哪了 turn through the conversation engine
   (NLU included), p50/p99.

SQLite (a temporary file) by default; PostgreSQL when BENCH_DATABASE_URL is
set (a private throw-away database is created next to it and dropped after).
Size: BENCH_CLAIM_CLASSES (1000).

Run: .venv/bin/python bench/bench_claims.py  (or `make bench`)
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select

from bot.claims.deadlines import deadline_reminders
from bot.claims.due_dates import outlook
from bot.claims.lifecycle import NewClaim, submit_claims, transition_claims
from bot.clock import LOCAL_TZ, FrozenClock
from bot.engine import Engine
from bot.identity import check_digit, hash_id_card, mask_id_card
from bot.services import Services
from bot.settings import load_settings
from bot.texts import get_texts
from models import ChatUser, Claim, Enrollment, Institution, StaffAccount, Trainee, TrainingClass
from models.db import Database

CLASSES = int(os.environ.get("BENCH_CLAIM_CLASSES", "1000"))
PER_CLASS = 30
INSTITUTIONS = 40
SUBMIT_DAY = date(2026, 9, 28)
ACT_DAY = date(2026, 9, 30)
JOB_DAY = date(2026, 10, 19)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def show(label: str, values: list[float], unit: str = "ms") -> None:
    print(
        f"  {label:<44} p50 {pct(values, 0.5):8.2f} {unit}   p99 {pct(values, 0.99):8.2f} {unit}"
        f"   mean {statistics.fmean(values):8.2f} {unit}   n={len(values)}"
    )


async def timed(fn: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = await fn()
    return (time.perf_counter() - start) * 1000, result


async def seed(db: Database, key: bytes) -> list[int]:
    """Institutions with a contact each, finished classes, trainees (every other one bound)."""
    async with db.session() as s:
        await s.execute(
            insert(Institution),
            [
                {
                    "code": f"I{i:03d}",
                    "name": f"培训机构{i}",
                    "region_code": f"2201{i % 9 + 1:02d}",
                    "status": "active",
                }
                for i in range(INSTITUTIONS)
            ],
        )
        inst_ids = list((await s.execute(select(Institution.id).order_by(Institution.id))).scalars())
        regions = {i: r for i, r in (await s.execute(select(Institution.id, Institution.region_code))).all()}
        await s.execute(
            insert(ChatUser),
            [{"channel": "web", "external_id": f"inst-{i}", "institution_id": i} for i in inst_ids],
        )
        await s.execute(
            insert(TrainingClass),
            [
                {
                    "code": f"K{c:05d}",
                    "name": f"电工培训班{c}",
                    "occupation": "电工",
                    "institution_id": inst_ids[c % INSTITUTIONS],
                    "region_code": regions[inst_ids[c % INSTITUTIONS]],
                    "status": "finished",
                    "start_date": date(2026, 9, 1),
                    "end_date": date(2026, 9, 14) + timedelta(days=c % 10),
                    "planned_hours": Decimal("90"),
                }
                for c in range(CLASSES)
            ],
        )
        class_ids = list((await s.execute(select(TrainingClass.id).order_by(TrainingClass.id))).scalars())
        trainees = []
        for n in range(CLASSES * PER_CLASS):
            first17 = f"220102{19700101 + n % 9000:08d}{n % 1000:03d}"
            number = first17 + check_digit(first17)
            trainees.append(
                {
                    "name": f"学员{n}",
                    "id_card_hash": hash_id_card(f"{number}-{n}", key),
                    "id_card_masked": mask_id_card(number),
                    "phone": f"139{n:08d}",
                    "region_code": "220102",
                }
            )
        await s.execute(insert(Trainee), trainees)
        trainee_ids = list((await s.execute(select(Trainee.id).order_by(Trainee.id))).scalars())
        await s.execute(
            insert(Enrollment),
            [
                {"class_id": class_ids[n // PER_CLASS], "trainee_id": tid, "status": "completed"}
                for n, tid in enumerate(trainee_ids)
            ],
        )
        await s.execute(
            insert(ChatUser),
            [
                {"channel": "web", "external_id": f"t-{tid}", "trainee_id": tid}
                for n, tid in enumerate(trainee_ids)
                if n % 2 == 0
            ],
        )
        s.add(StaffAccount(name="南关区", role="county_staff", region_code="220102", token_hash="x" * 64))
        await s.flush()
        staff_user = ChatUser(channel="web", external_id="staff-1")
        s.add(staff_user)
        await s.flush()
        account = (await s.execute(select(StaffAccount))).scalar_one()
        account.chat_user_id = staff_user.id
    return class_ids


async def run(url: str, data_dir: Path) -> None:
    settings = load_settings(database_url=url, bot_data_dir=data_dir, secret_key="bench", seed_demo=False)
    db = Database(url)
    await db.migrate()
    clock = FrozenClock(datetime.combine(SUBMIT_DAY, dtime(9), LOCAL_TZ))
    from nlu import NLU

    nlu = NLU.load(data_dir / "nlu-cache")
    services = Services(settings, db, get_texts(), clock, nlu)
    t0 = time.perf_counter()
    class_ids = await seed(db, settings.hash_key())
    print(f"seeded {CLASSES} classes, {CLASSES * PER_CLASS} trainees in {time.perf_counter() - t0:.1f} s")

    print("1. class-wide operations (one transaction each, trainee notifications included)")
    submit_ms = []
    for class_id in class_ids:
        async with db.session() as s:
            trainee_ids = list(
                (
                    await s.execute(select(Enrollment.trainee_id).where(Enrollment.class_id == class_id))
                ).scalars()
            )
            items = [NewClaim(t, class_id, "training") for t in trainee_ids]
            ms, _ = await timed(
                lambda s=s, items=items: submit_claims(
                    s, services, items, actor="bench", may_submit=lambda k: True
                )
            )
        submit_ms.append(ms)
    show(f"submit a class ({PER_CLASS} claims)", submit_ms)
    clock.set(datetime.combine(ACT_DAY, dtime(9), LOCAL_TZ))
    move_ms = []
    for class_id in class_ids[: CLASSES // 2]:
        async with db.session() as s:
            claims = list((await s.execute(select(Claim).where(Claim.class_id == class_id))).scalars())
            ms, _ = await timed(
                lambda s=s, claims=claims: transition_claims(
                    s, services, claims, "under_review", actor="bench"
                )
            )
        move_ms.append(ms)
    show(f"move a class to under_review ({PER_CLASS} claims)", move_ms)

    print("2. outlook per claim (pure: deadlines chained to the latest payment date)")
    async with db.session() as s:
        sample = list((await s.execute(select(Claim).limit(5000))).scalars())
    per_claim = []
    for claim in sample:
        start = time.perf_counter()
        outlook(claim, JOB_DAY)
        per_claim.append((time.perf_counter() - start) * 1e6)
    show("outlook(claim, today)", per_claim, "µs")

    print(f"3. daily deadline job over {CLASSES} classes / {CLASSES * PER_CLASS} claims ({JOB_DAY})")
    clock.set(datetime.combine(JOB_DAY, dtime(8, 30), LOCAL_TZ))
    ms, counts = await timed(lambda: deadline_reminders(services))
    print(f"  first run   {ms:8.1f} ms   enqueued {counts}")
    ms, counts = await timed(lambda: deadline_reminders(services))
    print(f"  second run  {ms:8.1f} ms   enqueued {counts or 'nothing'}")

    print("4. 补贴到哪了 through the engine (bound trainee, NLU included)")
    engine = Engine(services)
    async with db.session() as s:
        users = list(
            (
                await s.execute(
                    select(ChatUser.external_id)
                    .where(ChatUser.trainee_id.is_not(None))
                    .order_by(ChatUser.id)
                    .limit(300)
                )
            ).scalars()
        )
    turn_ms = []
    for external_id in users:
        ms, result = await timed(lambda e=external_id: engine.handle("web", e, "我的补贴到哪了"))
        assert "培训补贴" in result.replies[0].text, result.replies[0].text
        turn_ms.append(ms)
    show("claim_status turn", turn_ms)
    await db.dispose()


async def main() -> None:
    base = os.environ.get("BENCH_DATABASE_URL", "")
    with tempfile.TemporaryDirectory() as tmp:
        if not base:
            print(f"database: SQLite (temporary file); {CLASSES} classes")
            await run(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.sqlite3'}", Path(tmp))
            return
        import asyncpg

        admin = base.replace("postgresql+asyncpg://", "postgresql://")
        name = f"bench_claims_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(admin)
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        head, _, _ = base.rpartition("/")
        print(f"database: PostgreSQL ({name}); {CLASSES} classes")
        try:
            await run(f"{head}/{name}", Path(tmp))
        finally:
            conn = await asyncpg.connect(admin)
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
