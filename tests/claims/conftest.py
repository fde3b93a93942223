"""A small province for the claims tests: two institutions, a class each, trainees, staff.

Dates are set by each test (`world.add_class(...)`); the clock fixture is
moved with `clock.set(...)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.auth import hash_token
from bot.clock import LOCAL_TZ, FrozenClock
from bot.identity import check_digit, hash_id_card, mask_id_card
from bot.services import Services
from models import (
    ChatUser,
    Enrollment,
    Institution,
    OutboxMessage,
    StaffAccount,
    Trainee,
    TrainingClass,
)
from tests.conftest import ChatDriver


def id_number(region: str, birth: str, seq: int) -> str:
    first17 = f"{region}{birth}{seq:03d}"
    return first17 + check_digit(first17)


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), LOCAL_TZ)


@dataclass
class Person:
    id: int
    name: str
    id_card: str
    phone: str


@dataclass
class World:
    client: TestClient
    services: Services
    institutions: dict[str, int] = field(default_factory=dict)
    trainees: dict[str, Person] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    staff_ids: dict[str, int] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    async def add_class(
        self,
        code: str,
        start: date,
        end: date,
        *,
        institution: str = "cc",
        trainees: tuple[str, ...] = (),
        status: str = "finished",
        applied_on: date | None = None,
        name: str | None = None,
    ) -> int:
        async with self.services.db.session() as db:
            inst = await db.get(Institution, self.institutions[institution])
            assert inst is not None
            klass = TrainingClass(
                code=code,
                name=name or f"电工（五级）培训班{code}",
                occupation="电工",
                level="五级",
                institution_id=inst.id,
                region_code=inst.region_code,
                status=status,
                start_date=start,
                end_date=end,
                planned_hours=Decimal("90"),
                applied_on=applied_on,
            )
            db.add(klass)
            await db.flush()
            for key in trainees:
                db.add(Enrollment(class_id=klass.id, trainee_id=self.trainees[key].id, status="completed"))
            return klass.id

    async def chat_user(self, external_id: str, channel: str = "web") -> ChatUser:
        async with self.services.db.session() as db:
            user = (
                await db.execute(
                    select(ChatUser).where(ChatUser.channel == channel, ChatUser.external_id == external_id)
                )
            ).scalar_one()
            return user

    async def outbox(self, kind: str | None = None) -> list[OutboxMessage]:
        async with self.services.db.session() as db:
            query = select(OutboxMessage).order_by(OutboxMessage.id)
            if kind is not None:
                query = query.where(OutboxMessage.kind == kind)
            return list((await db.execute(query)).scalars())

    async def bind_directly(self, external_id: str, trainee: str | None = None, **values: Any) -> int:
        """A chat user created as if it had already talked to the bot and bound."""
        async with self.services.db.session() as db:
            user = ChatUser(channel="web", external_id=external_id, **values)
            if trainee is not None:
                user.trainee_id = self.trainees[trainee].id
            db.add(user)
            await db.flush()
            return user.id

    async def post(self, who: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        resp = await self.client.post(path, json=body, headers=self.headers(who))
        return resp.status, await resp.json()

    async def get(self, who: str, path: str) -> tuple[int, Any]:
        resp = await self.client.get(path, headers=self.headers(who))
        return resp.status, await resp.json()


TRAINEES = {
    "zhang": ("张伟", "220102", "19880312", "13904310001"),
    "liu": ("刘洋", "220104", "19950721", "13904310002"),
    "chen": ("陈静", "220102", "20060105", "13904310003"),
    "jin": ("金成浩", "222401", "19930414", "13904330019"),
}


@pytest.fixture
async def world(client: TestClient, services: Services, clock: FrozenClock) -> World:
    w = World(client, services)
    key = services.settings.hash_key()
    async with services.db.session() as db:
        for code, name, region in (
            ("cc", "长春市职业技能公共实训中心", "220102"),
            ("yb", "延边职业技能培训学校", "222401"),
        ):
            inst = Institution(code=code.upper(), name=name, region_code=region, status="active")
            db.add(inst)
            await db.flush()
            w.institutions[code] = inst.id
        for seq, (k, (name, region, birth, phone)) in enumerate(TRAINEES.items(), 1):
            number = id_number(region, birth, seq)
            trainee = Trainee(
                name=name,
                id_card_hash=hash_id_card(number, key),
                id_card_masked=mask_id_card(number),
                phone=phone,
                region_code=region,
            )
            db.add(trainee)
            await db.flush()
            w.trainees[k] = Person(trainee.id, name, number, phone)
        for who, role, region, inst in (
            ("cc_operator", "institution_operator", "220102", "cc"),
            ("yb_operator", "institution_operator", "222401", "yb"),
            ("changchun", "city_staff", "220100", None),
            ("nanguan", "county_staff", "220102", None),
            ("yanbian", "city_staff", "222400", None),
        ):
            token = f"token-{who}"
            account = StaffAccount(
                name=who,
                role=role,
                region_code=region,
                institution_id=w.institutions[inst] if inst else None,
                token_hash=hash_token(token),
            )
            db.add(account)
            await db.flush()
            w.tokens[who] = token
            w.staff_ids[who] = account.id
    w.tokens["admin"] = "test-admin-token"
    return w


@pytest.fixture
def trainee_chat(client: TestClient) -> ChatDriver:
    return ChatDriver(client, "trainee-zhang")
