"""Demo data from `config/demo/demo.yaml`, loaded once into an empty database.

Dates in the file are offsets from the day of loading, so `make run` always
shows classes running around today, finished classes with claims in several
stages and an upcoming class.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.attendance.schedule import WeeklyPattern, sessions_from_pattern
from bot.claims.states import replay
from bot.clock import Clock
from bot.identity import check_digit, hash_id_card, mask_id_card
from bot.services import Services
from bot.settings import CONFIG_DIR, Settings
from models import (
    AttendanceRecord,
    Claim,
    ClaimEvent,
    ClassSession,
    Enrollment,
    Institution,
    Trainee,
    TrainingClass,
)
from models.db import Database

DEMO_FILE = CONFIG_DIR / "demo" / "demo.yaml"

# The path a claim walks to reach each demo state (see bot.claims.states for the rules).
CLAIM_PATHS: dict[str, list[str]] = {
    "submitted": ["submitted"],
    "under_review": ["submitted", "under_review"],
    "returned": ["submitted", "under_review", "returned"],
    "rejected": ["submitted", "under_review", "rejected"],
    "approved": ["submitted", "under_review", "approved"],
    "in_publicity": ["submitted", "under_review", "approved", "in_publicity"],
    "objection": ["submitted", "under_review", "approved", "in_publicity", "objection"],
    "payment_pending": ["submitted", "under_review", "approved", "in_publicity", "payment_pending"],
    "paid": ["submitted", "under_review", "approved", "in_publicity", "payment_pending", "paid"],
}


def demo_id_card(region_code: str, birth: str, seq: int) -> str:
    first17 = f"{region_code}{birth}{seq:03d}"
    return first17 + check_digit(first17)


async def seed_demo(services: Services, *, force: bool = False, path: Path = DEMO_FILE) -> bool:
    """Load the demo unless the database already has institutions; True when loaded."""
    async with services.db.session() as db:
        if not force and (await db.execute(select(func.count(Institution.id)))).scalar_one():
            return False
        await _load(db, services, yaml.safe_load(path.read_text(encoding="utf-8")))
    return True


async def seed_demo_standalone(settings: Settings, *, force: bool = False) -> bool:
    db = Database(settings.db_url)
    try:
        await db.migrate()
        from bot.texts import get_texts

        services = Services(settings, db, get_texts(), Clock(settings.tz), nlu=_NoNLU())
        return await seed_demo(services, force=force)
    finally:
        await db.dispose()


class _NoNLU:
    """Seeding needs no language understanding; this satisfies the Services type only."""

    def parse(self, text: str, today: date | None = None) -> Any:  # pragma: no cover
        raise RuntimeError("no NLU while seeding")

    def answer_question(self, text: str) -> Any:  # pragma: no cover
        raise RuntimeError("no NLU while seeding")

    def extract_entities(self, text: str, today: date | None = None) -> Any:  # pragma: no cover
        raise RuntimeError("no NLU while seeding")


async def _load(db: AsyncSession, services: Services, data: dict[str, Any]) -> None:
    clock = services.clock
    today, tz = clock.today(), clock.tz
    now = clock.now()
    key = services.settings.hash_key()

    institutions: dict[str, Institution] = {}
    for item in data["institutions"]:
        inst = Institution(**item, status="active")
        db.add(inst)
        institutions[item["code"]] = inst
    await db.flush()

    classes: dict[str, TrainingClass] = {}
    sessions: dict[str, list[ClassSession]] = {}
    for item in data["classes"]:
        # Sessions follow the official calendar (holidays skipped, 调休 days worked): bot.attendance.schedule.
        pattern = WeeklyPattern.model_validate(item["schedule"])
        start, end = today + timedelta(days=item["start"]), today + timedelta(days=item["end"])
        plan = sessions_from_pattern(pattern, start, end, tz=tz)
        inst = institutions[item["institution"]]
        klass = TrainingClass(
            code=item["code"],
            name=item["name"],
            occupation=item["occupation"],
            level=item.get("level"),
            institution_id=inst.id,
            region_code=inst.region_code,
            training_type=item.get("training_type", "key_group"),
            mode="offline",
            status="finished" if end < today else ("running" if start <= today else "approved"),
            start_date=start,
            end_date=end,
            planned_hours=plan.total_hours,
            capacity=40,
            address=item.get("address"),
            teacher=item.get("teacher"),
            schedule=pattern.to_json(),
            applied_on=start - timedelta(days=12),
            approved_on=start - timedelta(days=8),
        )
        db.add(klass)
        await db.flush()
        classes[item["code"]] = klass
        rows = [p.row(klass.id) for p in plan.sessions]
        db.add_all(rows)
        sessions[item["code"]] = rows
    await db.flush()

    for seq, item in enumerate(data["trainees"], 1):
        number = demo_id_card(item["region_code"], item["birth"], seq)
        trainee = Trainee(
            name=item["name"],
            id_card_hash=hash_id_card(number, key),
            id_card_masked=mask_id_card(number),
            phone=item["phone"],
            region_code=item["region_code"],
            groups=list(item.get("groups", [])),
            household=item.get("household"),
            extra={"demo": True},
        )
        db.add(trainee)
        await db.flush()
        klass = classes[item["class"]]
        finished = klass.end_date < today
        db.add(
            Enrollment(
                class_id=klass.id,
                trainee_id=trainee.id,
                status="completed" if finished else "enrolled",
                certificate=(item.get("attendance", 0) >= 0.7) if finished else None,
            )
        )
        past = [s for s in sessions[item["class"]] if s.ends_at <= now]
        attended = round(len(past) * float(item.get("attendance", 0)))
        # Spread the absences over the class rather than bunching them at the end.
        absent = {int(i * len(past) / max(1, len(past) - attended)) for i in range(len(past) - attended)}
        for i, session in enumerate(past):
            if i in absent:
                continue
            db.add(
                AttendanceRecord(
                    session_id=session.id,
                    trainee_id=trainee.id,
                    source="institution",
                    status="present",
                    checked_in_at=session.starts_at - timedelta(minutes=5),
                    recorded_by="demo",
                )
            )
        for claim in item.get("claims", []):
            path = CLAIM_PATHS[claim["state"]]
            since = today - timedelta(days=claim["days_ago"])
            submitted = min(since, klass.end_date + timedelta(days=1))
            row = Claim(
                trainee_id=trainee.id,
                class_id=klass.id,
                subsidy_type=claim["type"],
                state=claim["state"],
                amount=Decimal(str(claim["amount"])) if "amount" in claim else None,
                submitted_on=submitted,
                state_since=since,
                reason=claim.get("reason"),
            )
            db.add(row)
            await db.flush()
            previous = None
            events = []
            for step, state in enumerate(path):
                on = submitted + (since - submitted) * step // max(1, len(path) - 1)
                events.append(
                    ClaimEvent(
                        claim_id=row.id,
                        from_state=previous,
                        to_state=state,
                        on_date=on,
                        actor=klass.code if state == "submitted" else "demo-staff",
                        note=claim.get("reason") if state == claim["state"] else None,
                    )
                )
                previous = state
            # The dates each statutory period runs from, and every due date, as the state machine sets them.
            replay(row, events)
            db.add_all(events)
