"""Demo data from `config/demo/demo.yaml`, loaded once into an empty database.

Dates in the file are offsets from the day of loading, so `make run` always
shows classes running around today, finished classes with claims in several
stages and an upcoming class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import yaml_io
from bot.attendance.config import get_attendance_config
from bot.attendance.schedule import WeeklyPattern, sessions_from_pattern
from bot.binding.service import issue_code
from bot.claims.states import replay
from bot.clock import make_clock
from bot.identity import check_digit, hash_id_card, mask_id_card
from bot.services import Services
from bot.settings import CONFIG_DIR, Settings
from models import (
    AttendanceRecord,
    BindCode,
    Claim,
    ClaimEvent,
    ClassSession,
    Enrollment,
    Institution,
    StaffAccount,
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
        await _load(db, services, yaml_io.safe_load(path.read_text(encoding="utf-8")))
    return True


@dataclass
class DemoTrainee:
    name: str
    class_name: str
    bind_code: str
    suggestion: str


@dataclass
class DemoStart:
    """What a newcomer needs to try the demo: shown once, at start (codes and token are not kept)."""

    loaded: bool
    staff_name: str = ""
    staff_token: str = ""
    drop_in: tuple[datetime, datetime] | None = None
    trainees: list[DemoTrainee] = field(default_factory=list)


async def prepare_demo(services: Services, *, path: Path = DEMO_FILE) -> DemoStart:
    """Seed an empty database, open a lesson around now, and issue fresh codes to try the demo with."""
    loaded = await seed_demo(services, path=path)
    data = yaml_io.safe_load(path.read_text(encoding="utf-8"))
    start = DemoStart(loaded=loaded)
    async with services.db.session() as db:
        if (await db.execute(select(func.count(Trainee.id)))).scalar_one() == 0:
            return start
        if "drop_in" in data:
            start.drop_in = await ensure_drop_in(db, services, data["drop_in"])
        show = data.get("showcase", {})
        if "staff" in show:
            start.staff_name, start.staff_token = await _demo_staff_token(db, show["staff"])
        for item in show.get("trainees", []):
            trainee = await _demo_trainee(db, item["name"])
            if trainee is None:
                continue
            trainee_row, class_name = trainee
            code, _ = await issue_code(
                db,
                kind="trainee",
                actor="demo",
                now=services.clock.now(),
                key=services.settings.hash_key(),
                trainee_id=trainee_row.id,
            )
            start.trainees.append(DemoTrainee(trainee_row.name, class_name, code, item.get("try", "")))
    return start


async def ensure_drop_in(
    db: AsyncSession, services: Services, spec: dict[str, Any]
) -> tuple[datetime, datetime] | None:
    """A lesson of the drop-in class whose check-in window holds now: the open one, or a new one."""
    klass = (
        await db.execute(select(TrainingClass).where(TrainingClass.code == spec["class"]))
    ).scalar_one_or_none()
    if klass is None:
        return None
    clock = services.clock
    now = clock.now()
    opens = timedelta(minutes=get_attendance_config().check_in.opens_minutes_before)
    later = list(
        (
            await db.execute(
                select(ClassSession)
                .where(ClassSession.class_id == klass.id, ClassSession.ends_at > now)
                .order_by(ClassSession.starts_at)
            )
        ).scalars()
    )
    for session in later:
        if session.starts_at - opens <= now:
            return session.starts_at.astimezone(clock.tz), session.ends_at.astimezone(clock.tz)
    begin = now - timedelta(minutes=int(spec.get("minutes_before", 20)))
    begin = begin.replace(minute=begin.minute - begin.minute % 10, second=0, microsecond=0)
    end = now + timedelta(minutes=int(spec.get("minutes_after", 100)))
    if later:  # stop before the next regular lesson's window opens
        end = min(end, later[0].starts_at - opens)
    end = end.replace(second=0, microsecond=0)
    hours = (Decimal((end - begin).total_seconds()) / 3600).quantize(Decimal("0.01"), ROUND_HALF_UP)
    db.add(
        ClassSession(
            class_id=klass.id,
            session_date=begin.astimezone(clock.tz).date(),
            starts_at=begin,
            ends_at=end,
            hours=hours,
            topic=spec.get("topic"),
        )
    )
    klass.planned_hours = Decimal(str(klass.planned_hours)) + hours
    today = clock.today()
    if klass.end_date < today:
        klass.end_date = today
    if klass.start_date > today:
        klass.start_date = today
    klass.status = "running"
    await db.flush()
    return begin.astimezone(clock.tz), end.astimezone(clock.tz)


async def _demo_staff_token(db: AsyncSession, spec: dict[str, Any]) -> tuple[str, str]:
    """The demo staff account, with a new token (only hashes are stored, so one is made each start)."""
    from bot.staff.accounts import create_account, rotate_token

    account = (
        await db.execute(select(StaffAccount).where(StaffAccount.name == spec["name"]))
    ).scalar_one_or_none()
    if account is None:
        issued = await create_account(
            db,
            name=spec["name"],
            role=spec["role"],
            region_code=spec.get("region"),
            institution_ref=spec.get("institution"),
            actor="demo",
        )
    else:
        issued = await rotate_token(db, account.id, actor="demo")
    return issued.account.name, issued.token


async def _demo_trainee(db: AsyncSession, name: str) -> tuple[Trainee, str] | None:
    row = (
        await db.execute(
            select(Trainee, TrainingClass.name)
            .join(Enrollment, Enrollment.trainee_id == Trainee.id)
            .join(TrainingClass, TrainingClass.id == Enrollment.class_id)
            .where(Trainee.name == name, Trainee.extra["demo"].as_boolean().is_(True))
            .order_by(Trainee.id)
            .limit(1)
        )
    ).first()
    if row is None:
        return None
    # Codes from earlier starts were printed once and are gone with that terminal: retire them.
    await db.execute(
        BindCode.__table__.delete().where(BindCode.trainee_id == row[0].id, BindCode.used_at.is_(None))
    )
    return row[0], row[1]


async def seed_demo_standalone(settings: Settings, *, force: bool = False) -> bool:
    db = Database(settings.db_url)
    try:
        await db.migrate()
        from bot.texts import get_texts

        services = Services(settings, db, get_texts(), make_clock(settings), nlu=_NoNLU())
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
