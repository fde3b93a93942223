"""A small province for staff tests: three institutions in two cities, their classes,
trainees on several channels, institution contacts, and one staff account per role.

Staff accounts are made by the same code as `python -m bot staff create`, so the
tokens are real ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.identity import check_digit, hash_id_card, mask_id_card
from bot.services import Services
from bot.staff.accounts import create_account
from models import ChatUser, Claim, ClassSession, Enrollment, Institution, Trainee, TrainingClass


@dataclass
class World:
    institutions: dict[str, int] = field(default_factory=dict)
    classes: dict[str, int] = field(default_factory=dict)
    trainees: dict[str, int] = field(default_factory=dict)
    chat_users: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    staff_ids: dict[str, int] = field(default_factory=dict)

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}


# name, region, groups, class, [(channel, reachable, hours since last message)]
TRAINEES: list[tuple[str, str, list[str], str, list[tuple[str, bool, int | None]]]] = [
    ("张伟", "220102", ["rural_migrant"], "nanguan", [("wechat", True, 2), ("telegram", True, None)]),
    ("刘洋", "220104", ["registered_unemployed"], "nanguan", [("wechat", True, 100)]),
    ("陈静", "220102", ["two_after"], "nanguan", [("telegram", False, None)]),
    ("杨帆", "220106", ["veteran"], "nanguan", [("web", True, 1), ("telegram", True, None)]),
    ("黄丽", "220104", ["poverty_alleviated"], "chaoyang", [("telegram", True, None)]),
    ("周敏", "220104", ["rural_migrant"], "chaoyang", [("wechat", True, 5)]),
    ("吴刚", "220204", ["rural_migrant"], "chuanying", [("telegram", True, None)]),
    ("徐芳", "220203", ["zero_employment_family"], "chuanying", [("wechat", True, 3)]),
]


async def build_world(services: Services, now: datetime) -> World:
    world = World()
    key = services.settings.hash_key()
    today = now.date()
    async with services.db.session() as db:
        for code, name, region, class_name in [
            ("nanguan", "长春市南关职业培训学校", "220102", "南关电工培训班"),
            ("chaoyang", "长春市朝阳技工学校", "220104", "朝阳育婴员培训班"),
            ("chuanying", "吉林市船营职业培训中心", "220204", "船营养老护理员培训班"),
        ]:
            inst = Institution(code=f"T-{code}", name=name, region_code=region, status="active")
            db.add(inst)
            await db.flush()
            world.institutions[code] = inst.id
            klass = TrainingClass(
                code=f"C-{code}",
                name=class_name,
                occupation="电工",
                institution_id=inst.id,
                region_code=region,
                status="running",
                start_date=today - timedelta(days=7),
                end_date=today + timedelta(days=14),
                planned_hours=Decimal("30"),
                capacity=40,
            )
            db.add(klass)
            await db.flush()
            world.classes[code] = klass.id
            day = today - timedelta(days=1)
            db.add(
                ClassSession(
                    class_id=klass.id,
                    session_date=day,
                    starts_at=datetime.combine(day, datetime.min.time(), now.tzinfo) + timedelta(hours=9),
                    ends_at=datetime.combine(day, datetime.min.time(), now.tzinfo) + timedelta(hours=12),
                    hours=Decimal("3"),
                )
            )
            contact = ChatUser(
                channel="wechat", external_id=f"inst-{code}", display_name=f"{name}联络员",
                institution_id=inst.id, last_inbound_at=now - timedelta(hours=1),
            )  # fmt: skip
            db.add(contact)
            await db.flush()
            world.chat_users[f"inst-{code}"] = contact.id

        for seq, (name, region, groups, klass, accounts) in enumerate(TRAINEES, 1):
            first17 = f"{region}1990010{seq:01d}{seq:03d}"
            number = first17 + check_digit(first17)
            trainee = Trainee(
                name=name,
                id_card_hash=hash_id_card(number, key),
                id_card_masked=mask_id_card(number),
                phone=f"1390431{seq:04d}",
                region_code=region,
                groups=groups,
            )
            db.add(trainee)
            await db.flush()
            world.trainees[name] = trainee.id
            db.add(Enrollment(class_id=world.classes[klass], trainee_id=trainee.id, status="enrolled"))
            for channel, reachable, hours in accounts:
                user = ChatUser(
                    channel=channel,
                    external_id=f"{channel}-{seq}",
                    display_name=name,
                    trainee_id=trainee.id,
                    bound_at=now - timedelta(days=3),
                    reachable=reachable,
                    last_inbound_at=None if hours is None else now - timedelta(hours=hours),
                )
                db.add(user)
                await db.flush()
                world.chat_users[f"{name}-{channel}"] = user.id
        db.add(
            Claim(
                trainee_id=world.trainees["刘洋"],
                class_id=world.classes["nanguan"],
                subsidy_type="training",
                state="returned",
                submitted_on=today - timedelta(days=5),
                state_since=today - timedelta(days=2),
                due_on=today - timedelta(days=1),
            )
        )

        roles: list[tuple[str, dict[str, Any]]] = [
            ("province", {"role": "province_admin", "region_code": "220000"}),
            ("changchun", {"role": "city_staff", "region_code": "220100"}),
            ("jilin_city", {"role": "city_staff", "region_code": "220200"}),
            ("nanguan_county", {"role": "county_staff", "region_code": "220102"}),
            ("op_nanguan", {"role": "institution_operator", "institution_ref": "T-nanguan"}),
            ("op_chaoyang", {"role": "institution_operator", "institution_ref": "T-chaoyang"}),
        ]
        for label, kw in roles:
            issued = await create_account(
                db,
                name=label,
                role=kw["role"],
                region_code=kw.get("region_code"),
                institution_ref=kw.get("institution_ref"),
                actor="test",
            )
            world.tokens[label] = issued.token
            world.staff_ids[label] = issued.account.id
    return world
