"""Builders of real rows for the attendance tests (no mocks: these go to the database)."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.attendance.schedule import ExplicitSession, WeeklyPattern, explicit_sessions, sessions_from_pattern
from bot.clock import LOCAL_TZ
from bot.identity import check_digit, hash_id_card, mask_id_card
from models import ChatUser, ClassSession, Enrollment, Institution, Trainee, TrainingClass

_seq = itertools.count(1)


def id_card(region: str = "220102", birth: str = "19900101", seq: int | None = None) -> str:
    first17 = f"{region}{birth}{(seq if seq is not None else next(_seq)) % 1000:03d}"
    return first17 + check_digit(first17)


async def institution(db: AsyncSession, code: str = "JL-T-001", region_code: str = "220102") -> Institution:
    inst = Institution(code=code, name=f"测试培训学校{code}", region_code=region_code, status="active")
    db.add(inst)
    await db.flush()
    return inst


async def training_class(
    db: AsyncSession,
    inst: Institution,
    *,
    code: str = "T-2026-01",
    name: str = "电工(五级)培训班",
    start: date,
    end: date,
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4),
    begin: str = "08:30",
    finish: str = "11:30",
    include_non_working_days: bool = False,
    planned_hours: Decimal | None = None,
    sessions: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> tuple[TrainingClass, list[ClassSession]]:
    """A class with its sessions: from the weekly pattern, or `sessions` given explicitly."""
    pattern = WeeklyPattern(
        weekdays=weekdays,
        start=time.fromisoformat(begin),
        end=time.fromisoformat(finish),
        include_non_working_days=include_non_working_days,
    )
    if sessions is None:
        planned = sessions_from_pattern(pattern, start, end).sessions
    else:
        planned = explicit_sessions(ExplicitSession(**s) for s in sessions).sessions
    total = sum((p.hours for p in planned), Decimal(0))
    klass = TrainingClass(
        code=code,
        name=name,
        occupation="电工",
        institution_id=inst.id,
        region_code=inst.region_code,
        status="running",
        start_date=start,
        end_date=end,
        planned_hours=planned_hours or total,
        address="长春市南关区人民大街1000号 实训楼302",
        teacher="王建国",
        schedule=pattern.to_json() if sessions is None else {},
        **extra,
    )
    db.add(klass)
    await db.flush()
    rows = [
        ClassSession(
            class_id=klass.id,
            session_date=p.session_date,
            starts_at=p.starts_at,
            ends_at=p.ends_at,
            hours=p.hours,
        )
        for p in planned
    ]
    db.add_all(rows)
    await db.flush()
    return klass, rows


async def trainee(db: AsyncSession, name: str = "张伟", *, region_code: str = "220102") -> Trainee:
    number = id_card(region_code)
    t = Trainee(
        name=name,
        id_card_hash=hash_id_card(number, b"test-secret-key"),
        id_card_masked=mask_id_card(number),
        phone="13904310001",
        region_code=region_code,
        groups=["rural_migrant"],
    )
    db.add(t)
    await db.flush()
    return t


async def enroll(db: AsyncSession, klass: TrainingClass, person: Trainee, status: str = "enrolled") -> None:
    db.add(Enrollment(class_id=klass.id, trainee_id=person.id, status=status))
    await db.flush()


async def chat_user(
    db: AsyncSession, person: Trainee | None, external_id: str, channel: str = "web", **values: Any
) -> ChatUser:
    user = ChatUser(
        channel=channel,
        external_id=external_id,
        trainee_id=person.id if person else None,
        bound_at=datetime(2026, 11, 1, tzinfo=LOCAL_TZ) if person else None,
        **values,
    )
    db.add(user)
    await db.flush()
    return user
