"""The reminder plan: earlier when a channel is short, never later than chosen, alerts that name classes."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.attendance.job import evening_run, morning_run
from bot.clock import LOCAL_TZ, FrozenClock
from bot.outbox.config import load_config
from bot.outbox.quotas import bump
from bot.services import Services
from models import Institution, OutboxMessage, ReminderPlan
from tests.attendance import factory

DAY = date(2026, 11, 24)  # a Tuesday


def at(hh: int, mm: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hh, mm), LOCAL_TZ)


def tune(services: Services, channel: str, **values: Any) -> None:
    data = load_config().model_dump()
    data["channels"][channel].update(values)
    services.extra["delivery_config"] = type(load_config()).model_validate(data)


async def a_class(
    services: Services,
    people: int,
    *,
    channel: str = "telegram",
    begin: str = "08:30",
    name: str = "电工(五级)培训班",
    code: str = "T-1",
    inst_code: str = "JL-T-001",
    **user_values: Any,
) -> Institution:
    async with services.db.session() as db:
        inst = (
            await db.execute(select(Institution).where(Institution.code == inst_code))
        ).scalar_one_or_none() or await factory.institution(db, inst_code)
        klass, _ = await factory.training_class(
            db, inst, code=code, name=name, start=DAY, end=DAY, begin=begin, finish="11:30"
        )
        for n in range(people):
            person = await factory.trainee(db, f"学员{code}{n}")
            await factory.enroll(db, klass, person)
            await factory.chat_user(db, person, f"{code}-{n}", channel, **user_values)
        return inst


async def reminders(services: Services) -> list[OutboxMessage]:
    async with services.db.session() as db:
        query = select(OutboxMessage).where(OutboxMessage.kind == "reminder").order_by(OutboxMessage.id)
        return list((await db.execute(query)).scalars())


async def plans(services: Services) -> dict[str, ReminderPlan]:
    async with services.db.session() as db:
        return {p.channel: p for p in (await db.execute(select(ReminderPlan))).scalars()}


async def test_with_room_nothing_moves_and_each_reminder_carries_its_class_start(
    services: Services, clock: FrozenClock
) -> None:
    await a_class(services, 5)
    clock.set(at(5, 0))
    await morning_run(services)
    got = await reminders(services)
    assert len(got) == 5
    assert {r.due_at for r in got} == {at(8, 0)} and {r.deadline_at for r in got} == {at(8, 30)}
    plan = (await plans(services))["telegram"]
    assert plan.reminders == 5 and plan.moved == 0 and plan.alerts == []


async def test_a_short_channel_moves_the_wave_earlier_within_capacity_and_never_later(
    services: Services, clock: FrozenClock
) -> None:
    # 3 reminders a minute: 40 people cannot all be reminded in the minute before 08:00.
    tune(services, "telegram", plan_capacity_per_second=0.05)
    await a_class(services, 40)
    clock.set(at(5, 0))
    await morning_run(services)
    got = await reminders(services)
    dues = sorted(r.due_at for r in got)
    assert max(dues) == at(8, 0)  # the latest keeps the time chosen
    assert all(at(6, 0) <= d <= at(8, 0) for d in dues)
    per_minute = Counter(d.replace(second=0) for d in dues)
    assert max(per_minute.values()) <= 3
    assert min(dues) == at(8, 0) - timedelta(minutes=13)  # 40 / 3 a minute: 14 minutes
    plan = (await plans(services))["telegram"]
    assert plan.moved == 37 and plan.alerts == []


async def test_a_wave_that_cannot_fit_is_an_alert_naming_the_class_before_sending(
    services: Services, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    # 1 a minute, and the run starts late (07:50): 11 minutes to 08:00 for 60 people; the
    # others go from 07:50 on, earliest deadline first, and 39 minutes reach 08:29 at most.
    tune(services, "telegram", plan_capacity_per_second=1 / 60)
    await a_class(services, 60, name="焊工(四级)培训班", code="W-1")
    clock.set(at(7, 50))
    with caplog.at_level(logging.WARNING, logger="bot.attendance.planning"):
        await morning_run(services)
    plan = (await plans(services))["telegram"]
    (alert,) = plan.alerts
    assert alert["kind"] == "capacity" and alert["needed"] == 60 and alert["available"] == 39
    assert alert["classes"] == [
        {"id": alert["classes"][0]["id"], "name": "焊工(四级)培训班", "reminders": 21}
    ]
    dues = [r.due_at for r in await reminders(services)]
    assert min(dues) == at(7, 50) and max(dues) == at(8, 0)  # none earlier than now, none later than chosen
    assert any("ALERT" in r.message and "焊工(四级)培训班" in r.message for r in caplog.records)


async def test_the_template_quota_is_checked_before_the_wave_and_names_the_classes(
    services: Services, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    tune(services, "wechat", template_daily_quota=10)
    # Nobody wrote to the account in the last 48 hours: every reminder needs a template.
    await a_class(services, 6, channel="wechat", name="育婴员培训班", code="Y-1")
    await a_class(services, 4, channel="wechat", name="养老护理员培训班", code="Y-2", begin="09:00")
    # One who wrote an hour ago gets a customer-service message instead.
    await a_class(services, 1, channel="wechat", name="育婴员培训班", code="Y-3", last_inbound_at=at(4, 0))
    async with services.db.session() as db:
        await bump(db, "wechat", DAY, "template", 7)  # already used today by other messages
    clock.set(at(5, 0))
    with caplog.at_level(logging.WARNING, logger="bot.attendance.planning"):
        await morning_run(services)
    plan = (await plans(services))["wechat"]
    assert plan.templates_needed == 10 and plan.templates_left == 3
    (alert,) = plan.alerts
    assert alert["kind"] == "template_quota" and alert["needed"] == 10 and alert["available"] == 3
    # The 08:30 class goes first (earliest deadline): its last 3 and the 09:00 class miss out.
    names = {c["name"]: c["reminders"] for c in alert["classes"]}
    assert names == {"养老护理员培训班": 4, "育婴员培训班": 3}
    assert any("template_quota" in r.message and "养老护理员培训班" in r.message for r in caplog.records)


async def test_a_trainees_own_time_is_kept_even_when_the_plan_moves_others(
    services: Services, clock: FrozenClock
) -> None:
    tune(services, "telegram", plan_capacity_per_second=0.05)
    await a_class(services, 12)
    await a_class(services, 1, code="T-7", reminder_time=time(7, 0))
    clock.set(at(5, 0))
    await morning_run(services)
    got = {r.idempotency_key: r for r in await reminders(services)}
    seven = [r for r in got.values() if r.deadline_at == at(8, 30) and r.due_at == at(7, 0)]
    assert len(seven) == 1  # 提醒改到七点: at seven, not moved (the minute has room)
    assert all(r.due_at <= at(8, 0) for r in got.values())


async def test_an_institution_default_the_evening_before_or_minutes_before(
    services: Services, clock: FrozenClock
) -> None:
    evening = await a_class(services, 2, code="E-1", inst_code="JL-E")
    minutes = await a_class(services, 2, code="M-1", inst_code="JL-M")
    async with services.db.session() as db:
        await db.execute(
            update(Institution).where(Institution.id == evening.id).values(reminder_evening_at=time(20, 0))
        )
        await db.execute(
            update(Institution).where(Institution.id == minutes.id).values(reminder_minutes_before=90)
        )
    clock.set(at(18, 0, DAY - timedelta(days=1)))
    await evening_run(services)  # tomorrow's reminders are written (and planned) tonight
    got = await reminders(services)
    dues = Counter(r.due_at for r in got)
    assert dues == {at(20, 0, DAY - timedelta(days=1)): 2, at(7, 0): 2}
    assert all("明天" in r.text for r in got)
