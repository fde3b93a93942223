"""A broadcast to 10,000 recipients: enqueue time, then delivery at the fake platform's limit
through two restarts of the dispatcher, with nothing doubled.

Prints
1. the audience preview and the fan-out (`INSERT … SELECT … ON CONFLICT DO NOTHING`)
   of 10,000 outbox rows, each timed, and a repeated fan-out (a restart during the
   fan-out): rows added the second time (must be 0);
2. delivery by the real dispatcher (`python -m bot outbox run`, a separate process)
   to the fake Telegram API with Telegram's limits enforced (30 messages/s overall,
   1/s per chat): stopped with SIGTERM at about a third (a deploy), killed with
   SIGKILL at about two thirds (a crash), then run until idle. Figures: messages
   delivered, doubled, lost, 429s provoked, and the rate while sending against the
   platform's limit.

SQLite (a temporary file) by default; PostgreSQL when BENCH_DATABASE_URL is set (a
private throw-away database is created next to it and dropped after).
BENCH_RECIPIENTS (10000) sets the audience size; BENCH_ENQUEUE_ONLY=1 skips delivery.

Run: .venv/bin/python bench/bench_broadcast.py  (or `make bench`)
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiohttp import web
from sqlalchemy import func, insert, select, update

from bot.auth import Principal
from bot.broadcasts import audience as aud
from bot.broadcasts import sending as svc
from bot.clock import Clock
from bot.services import Services
from bot.settings import load_settings
from bot.texts import get_texts
from models import Broadcast, ChatUser, Enrollment, Institution, OutboxMessage, Trainee, TrainingClass
from models.db import Database
from tests.fakes.fake_telegram import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
RECIPIENTS = int(os.environ.get("BENCH_RECIPIENTS", "10000"))
ENQUEUE_ONLY = os.environ.get("BENCH_ENQUEUE_ONLY") == "1"
CITY = Principal(role="city_staff", region_code="220100", staff_id=None, name="bench")


class _NoNLU:
    def parse(self, *a: Any, **k: Any) -> Any:
        raise RuntimeError("no NLU in the benchmark")

    answer_question = extract_entities = parse


async def _pg_database(base: str) -> tuple[str, str]:
    import asyncpg

    name = f"bench_broadcast_{uuid.uuid4().hex[:10]}"
    admin = base.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    head, _, _ = base.rpartition("/")
    return f"{head}/{name}", name


async def _pg_drop(base: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(base.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def populate(db: Database, n: int, now: datetime) -> int:
    """One class in 长春 with `n` enrolled trainees, each with a Telegram account; the class id."""
    async with db.session() as s:
        inst = Institution(code="BENCH-001", name="长春基准培训学校", region_code="220102")
        s.add(inst)
        await s.flush()
        klass = TrainingClass(
            code="BENCH-C1",
            name="基准电工班",
            occupation="电工",
            institution_id=inst.id,
            region_code="220102",
            start_date=date(2026, 11, 2),
            end_date=date(2026, 12, 20),
            planned_hours=Decimal(90),
            capacity=n,
            capacity_approved=True,
        )
        s.add(klass)
        await s.flush()
        class_id = klass.id
    chunk = 2000
    for start in range(0, n, chunk):
        ids = range(start, min(n, start + chunk))
        async with db.session() as s:
            await s.execute(
                insert(Trainee),
                [
                    {
                        "id": i + 1,
                        "name": f"学员{i}",
                        "id_card_hash": f"bench-{i:08d}",
                        "id_card_masked": "220102********0000",
                        "region_code": "220102",
                        "groups": ["rural_migrant"],
                        "extra": {},
                        "created_at": now,
                    }
                    for i in ids
                ],
            )
            await s.execute(
                insert(Enrollment),
                [
                    {"class_id": class_id, "trainee_id": i + 1, "status": "enrolled", "enrolled_at": now}
                    for i in ids
                ],
            )
            await s.execute(
                insert(ChatUser),
                [
                    {
                        "channel": "telegram",
                        "external_id": str(700_000_000 + i),
                        "trainee_id": i + 1,
                        "reachable": True,
                        "bind_failures": 0,
                        "reminders_enabled": True,
                        "profile": {},
                        "created_at": now,
                    }
                    for i in ids
                ],
            )
    return class_id


async def enqueue_phase(services: Services, class_id: int) -> tuple[int, dict[str, float]]:
    texts, now = services.texts, services.clock.now()
    body = {"title": "停课通知", "text": "受暴雪影响，明天停课一天。", "audience": {"class_id": class_id}}
    figures: dict[str, float] = {}
    async with services.db.session() as db:
        audience = aud.parse_audience("trainees", body["audience"], texts)
        t0 = time.perf_counter()
        result = await aud.preview(db, CITY, audience, now)
        figures["preview_s"] = time.perf_counter() - t0
        figures["preview_recipients"] = result["recipients"]
    t0 = time.perf_counter()
    async with services.db.session() as db:
        notice = svc.parse_notice(body, now, texts)
        broadcast = await svc.create_broadcast(db, CITY, notice, now, texts)
    figures["enqueue_s"] = time.perf_counter() - t0
    bid = broadcast.id
    # A restart in the middle of a fan-out: the job finds the broadcast scheduled again.
    async with services.db.session() as db:
        await db.execute(update(Broadcast).where(Broadcast.id == bid).values(status="scheduled"))
    t0 = time.perf_counter()
    async with services.db.session() as db:
        before = (
            await db.execute(select(func.count()).where(OutboxMessage.broadcast_id == bid))
        ).scalar_one()
        await svc.fan_out(db, bid, now, texts)
        after = (await db.execute(select(func.count()).where(OutboxMessage.broadcast_id == bid))).scalar_one()
    figures["refan_s"] = time.perf_counter() - t0
    figures["rows"] = after
    figures["added_by_refan"] = after - before
    return bid, figures


class Dispatcher:
    """`python -m bot outbox run` as a separate process, as the service runs it."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, *, until_idle: bool = False) -> None:
        args = [sys.executable, "-m", "bot", "outbox", "run"] + (["--until-idle"] if until_idle else [])
        with self.log.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                *args, cwd=str(ROOT), env=self.env, stdout=log, stderr=log
            )

    def check_alive(self) -> None:
        """A dispatcher that died on its own is a finding, not something to wait out."""
        if self.proc is not None and self.proc.returncode is not None:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"the dispatcher exited with {self.proc.returncode}:\n{tail}")

    async def stop(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        await self.proc.wait()

    async def wait(self, seconds: float) -> int:
        assert self.proc is not None
        return await asyncio.wait_for(self.proc.wait(), seconds)


async def wait_for(fake: FakeTelegram, count: int, seconds: float, dispatcher: Dispatcher) -> None:
    deadline = time.monotonic() + seconds
    while len(fake.sent) < count:
        dispatcher.check_alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(fake.sent)} of {count} delivered")
        await asyncio.sleep(0.2)


def sending_rate(fake: FakeTelegram) -> tuple[float, float]:
    """(messages per second over the seconds something was sent, median of full seconds)."""
    seconds = Counter(int(s.at) for s in fake.sent)
    if not seconds:
        return 0.0, 0.0
    full = sorted(seconds)[1:-1] or sorted(seconds)
    return len(fake.sent) / len(seconds), statistics.median(seconds[s] for s in full)


async def delivery_phase(db_url: str, data_dir: Path, bid: int, services: Services) -> dict[str, Any]:
    fake = FakeTelegram()
    runner = web.AppRunner(fake.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    env = dict(os.environ)
    env.update(
        DATABASE_URL=db_url,
        BOT_DATA_DIR=str(data_dir),
        SECRET_KEY="bench",
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_SECRET_TOKEN="bench-secret",
        TELEGRAM_API_BASE=base,
        WECHAT_TOKEN="",
        WECHAT_APP_ID="",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    figures: dict[str, Any] = {}
    budget = RECIPIENTS / fake.per_second * 3 + 120
    started = time.monotonic()
    try:
        dispatcher = Dispatcher(env, data_dir / "dispatcher.log")
        await dispatcher.start()
        await wait_for(fake, RECIPIENTS // 3, budget, dispatcher)
        await dispatcher.stop(signal.SIGTERM)
        figures["at_sigterm"] = len(fake.sent)
        await dispatcher.start()
        await wait_for(fake, 2 * RECIPIENTS // 3, budget, dispatcher)
        await dispatcher.stop(signal.SIGKILL)
        figures["at_sigkill"] = len(fake.sent)
        await dispatcher.start(until_idle=True)
        await dispatcher.wait(budget)
    finally:
        await runner.cleanup()
    figures["wall_s"] = time.monotonic() - started
    per_chat = Counter(s.chat_id for s in fake.sent)
    # A double is charged to the phase of its first send: a chat first reached before the
    # SIGTERM and again later was doubled by the graceful restart, and so on.
    first_phase: dict[str, int] = {}
    for index, sent in enumerate(fake.sent):
        phase = 0 if index < figures["at_sigterm"] else (1 if index < figures["at_sigkill"] else 2)
        first_phase.setdefault(sent.chat_id, phase)
    doubled_by = Counter(first_phase[chat] for chat, n in per_chat.items() if n > 1)
    figures["doubled_sigterm"], figures["doubled_sigkill"] = doubled_by[0], doubled_by[1]
    async with services.db.session() as db:
        statuses = dict(
            (
                await db.execute(
                    select(OutboxMessage.status, func.count())
                    .where(OutboxMessage.broadcast_id == bid)
                    .group_by(OutboxMessage.status)
                )
            ).all()
        )
    expected = RECIPIENTS
    figures.update(
        delivered=len(per_chat),
        doubled=sum(1 for c in per_chat.values() if c > 1),
        lost=expected - len(per_chat),
        limit_429=fake.limit_hits,
        statuses=statuses,
        limit=fake.per_second,
    )
    figures["rate"], figures["median_rate"] = sending_rate(fake)
    return figures


async def main() -> None:
    base_pg = os.environ.get("BENCH_DATABASE_URL", "")
    tmp = Path(tempfile.mkdtemp(prefix="bench-broadcast-"))
    pg_name = ""
    if base_pg:
        db_url, pg_name = await _pg_database(base_pg)
        backend = "PostgreSQL"
    else:
        db_url = f"sqlite+aiosqlite:///{tmp / 'bench.sqlite3'}"
        backend = "SQLite"
    settings = load_settings(database_url=db_url, bot_data_dir=tmp / "data", secret_key="bench")
    db = Database(settings.db_url)
    try:
        await db.migrate()
        clock = Clock(settings.tz)
        services = Services(settings, db, get_texts(), clock, _NoNLU())
        now = clock.now()
        t0 = time.perf_counter()
        class_id = await populate(db, RECIPIENTS, now - timedelta(days=1))
        setup_s = time.perf_counter() - t0
        print(f"== broadcast to {RECIPIENTS:,} recipients on {backend}")
        print(f"setup: {RECIPIENTS:,} trainees with Telegram accounts in one class ({setup_s:.1f} s)")
        bid, f = await enqueue_phase(services, class_id)
        rows = [
            ("preview (count by channel)", f["preview_s"], f"{f['preview_recipients']:,} recipients"),
            ("send now (fan-out to outbox)", f["enqueue_s"], f"{f['rows']:,} rows (limit 5,000 ms)"),
            ("fan-out again after a restart", f["refan_s"], f"{f['added_by_refan']} rows added"),
        ]
        for label, seconds, outcome in rows:
            print(f"{label + ':':32}{seconds * 1000:9.1f} ms  -> {outcome}")
        if ENQUEUE_ONLY:
            return
        d = await delivery_phase(db_url, tmp / "data", bid, services)
        print(
            f"delivery through the fake Telegram API (limit {d['limit']}/s overall, 1/s per chat), "
            f"dispatcher stopped (SIGTERM) at {d['at_sigterm']:,}, killed (SIGKILL) at {d['at_sigkill']:,}:"
        )
        print(
            f"  delivered {d['delivered']:,} of {RECIPIENTS:,}; lost {d['lost']}; doubled {d['doubled']} "
            f"({d['doubled_sigterm']} by the SIGTERM restart, {d['doubled_sigkill']} by the SIGKILL: "
            f"a send in flight when the process died); 429s provoked {d['limit_429']}"
        )
        print(
            f"  rate while sending {d['rate']:.1f}/s (median full second {d['median_rate']:.0f}/s) = "
            f"{100 * d['rate'] / d['limit']:.0f}% of the limit; wall time {d['wall_s']:.0f} s incl. restarts"
        )
        print(f"  outbox rows by status: {d['statuses']}")
    finally:
        await db.dispose()
        if pg_name:
            await _pg_drop(base_pg, pg_name)


if __name__ == "__main__":
    asyncio.run(main())
