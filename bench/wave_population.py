"""The live wave bench's province: institutions, classes, one session each on the day, trainees, chat users.

Bulk inserts through the tables (no ORM objects), in chunks, so 500,000
trainees are written in about a minute on SQLite. The shape is the old
simulation's (bench/bench_reminder_wave.py): ~50 trainees a class, class
starts 07:30 5 %, 08:00 50 %, 08:30 30 %, 09:00 10 %, 13:30 5 %; 5 % of the
trainees chose 07:00; the classes of 10 % of the institutions remind the
evening before at 20:00 (the new planning only: today's rule has no such
setting); of the WeChat users 40 % wrote within the day before (their
48-hour window is open), the others can only get a template.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any

from sqlalchemy import insert

from bot.clock import LOCAL_TZ
from models import ChatUser, ClassSession, Enrollment, Institution, Trainee, TrainingClass
from models.db import Database

STARTS = [(dtime(7, 30), 5), (dtime(8, 0), 50), (dtime(8, 30), 30), (dtime(9, 0), 10), (dtime(13, 30), 5)]
CLASSES_PER_INSTITUTION = 20
EVENING_SHARE = 0.10
EVENING_AT = dtime(20, 0)
PERSONAL_SHARE = 0.05
PERSONAL_AT = dtime(7, 0)
WROTE_SHARE = 0.40
CHUNK = 5000


@dataclass
class Province:
    """What the bench needs to judge the arrivals: each chat's class start, and WeChat's inbound times."""

    day: date
    start_of: dict[str, datetime] = field(default_factory=dict)  # external id -> class start
    channel_of: dict[str, str] = field(default_factory=dict)
    class_of: dict[str, int] = field(default_factory=dict)
    inbound: dict[str, datetime] = field(default_factory=dict)  # WeChat openid -> last message
    trainees: int = 0
    classes: int = 0
    evening_classes: int = 0


async def _bulk(db: Database, table: Any, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), CHUNK):
        async with db.session() as s:
            await s.execute(insert(table), rows[i : i + CHUNK])


def _at(day: date, at: dtime) -> datetime:
    return datetime.combine(day, at, LOCAL_TZ)


async def populate(
    db: Database, size: int, telegram_share: float, day: date, *, evening: bool, seed: int = 20
) -> Province:
    """Write `size` trainees and the rest for `day`; `evening`: 10 % of institutions remind the eve before."""
    rng = random.Random(seed)
    made = _at(day - timedelta(days=30), dtime(9, 0))
    province = Province(day)
    starts = [s for s, w in STARTS for _ in range(w)]
    institutions: list[dict[str, Any]] = []
    classes: list[dict[str, Any]] = []
    sessions: list[dict[str, Any]] = []
    trainees: list[dict[str, Any]] = []
    enrollments: list[dict[str, Any]] = []
    users: list[dict[str, Any]] = []
    class_id = 0
    while len(trainees) < size:
        class_id += 1
        institution = (class_id - 1) // CLASSES_PER_INSTITUTION + 1
        if len(institutions) < institution:
            eve = rng.random() < EVENING_SHARE
            institutions.append(
                {
                    "id": institution,
                    "code": f"W-{institution:05d}",
                    "name": f"职业培训学校{institution}",
                    "region_code": "220102",
                    "status": "active",
                    "reminder_evening_at": EVENING_AT if eve and evening else None,
                    "created_at": made,
                }
            )
        start = _at(day, rng.choice(starts))
        if institutions[-1]["reminder_evening_at"] is not None:
            province.evening_classes += 1
        classes.append(
            {
                "id": class_id,
                "code": f"WC-{class_id:06d}",
                "name": f"技能培训{class_id}班",
                "occupation": "电工",
                "institution_id": institution,
                "region_code": "220102",
                "training_type": "key_group",
                "mode": "offline",
                "status": "running",
                "start_date": day - timedelta(days=14),
                "end_date": day + timedelta(days=14),
                "planned_hours": 90,
                "capacity": 60,
                "capacity_approved": False,
                "address": f"实训楼{class_id % 50}室",
                "teacher": "王老师",
                "schedule": {},
                "reminder_minutes_before": 30,
                "created_at": made,
            }
        )
        sessions.append(
            {
                "id": class_id,
                "class_id": class_id,
                "session_date": day,
                "starts_at": start,
                "ends_at": start + timedelta(hours=3),
                "hours": 3,
            }
        )
        for _ in range(min(rng.randint(40, 60), size - len(trainees))):
            tid = len(trainees) + 1
            channel = "telegram" if rng.random() < telegram_share else "wechat"
            external = str(500_000_000 + tid) if channel == "telegram" else f"oWAVE{tid:07d}"
            inbound = None
            if channel == "wechat" and rng.random() < WROTE_SHARE:
                # Wrote on the day before, before the evening run: the window covers the whole wave.
                inbound = _at(day - timedelta(days=1), dtime(5, 0)) + timedelta(hours=rng.uniform(0, 12))
                province.inbound[external] = inbound
            trainees.append(
                {
                    "id": tid,
                    "name": f"学员{tid}",
                    "id_card_hash": hashlib.sha256(f"wave{tid}".encode()).hexdigest(),
                    "id_card_masked": "220102********0000",
                    "phone": None,
                    "region_code": "220102",
                    "groups": [],
                    "created_at": made,
                    "extra": {},
                }
            )
            enrollments.append(
                {"class_id": class_id, "trainee_id": tid, "status": "enrolled", "enrolled_at": made}
            )
            users.append(
                {
                    "id": tid,
                    "channel": channel,
                    "external_id": external,
                    "trainee_id": tid,
                    "bind_failures": 0,
                    "reminders_enabled": True,
                    "reminder_time": PERSONAL_AT if rng.random() < PERSONAL_SHARE else None,
                    "reachable": True,
                    "last_inbound_at": inbound,
                    "profile": {},
                    "created_at": made,
                }
            )
            province.start_of[external] = start
            province.channel_of[external] = channel
            province.class_of[external] = class_id
    for table, rows in (
        (Institution, institutions),
        (TrainingClass, classes),
        (ClassSession, sessions),
        (Trainee, trainees),
        (Enrollment, enrollments),
        (ChatUser, users),
    ):
        await _bulk(db, table.__table__, rows)
    province.trainees, province.classes = len(trainees), len(classes)
    return province
