"""签到 by chat: inside the window once, 已签到 the second time, the next session outside it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from bot.clock import LOCAL_TZ, FrozenClock
from models import AttendanceRecord
from tests.attendance import factory
from tests.conftest import ChatDriver


def at(day: int, hh: int, mm: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hh, mm, tzinfo=LOCAL_TZ)


async def _setup(services: Any, chat: ChatDriver, **class_args: Any) -> tuple[int, int]:
    async with services.db.session() as db:
        inst = await factory.institution(db)
        klass, _ = await factory.training_class(
            db, inst, start=date(2026, 11, 16), end=date(2026, 12, 11), **class_args
        )
        person = await factory.trainee(db)
        await factory.enroll(db, klass, person)
        await factory.chat_user(db, person, chat.user_id)
        return klass.id, person.id


async def _records(services: Any, trainee_id: int) -> int:
    async with services.db.session() as db:
        return (
            await db.execute(
                select(func.count(AttendanceRecord.id)).where(AttendanceRecord.trainee_id == trainee_id)
            )
        ).scalar_one()


async def test_check_in_once_then_already(services: Any, chat: ChatDriver, clock: FrozenClock) -> None:
    _, trainee_id = await _setup(services, chat)
    clock.set(at(23, 8, 10))
    await chat.say("签到")
    assert "签到成功" in chat.text and "08:10" in chat.text
    clock.set(at(23, 9, 40))
    await chat.say("签到")
    assert "已经签过到" in chat.text and "08:10" in chat.text
    assert await _records(services, trainee_id) == 1


async def test_late_check_in_until_the_end(services: Any, chat: ChatDriver, clock: FrozenClock) -> None:
    _, trainee_id = await _setup(services, chat)
    clock.set(at(23, 11, 29))
    await chat.say("签到")
    assert "签到成功" in chat.text and "已开课" in chat.text
    assert await _records(services, trainee_id) == 1


async def test_outside_window_tells_next_session(services: Any, chat: ChatDriver, clock: FrozenClock) -> None:
    _, trainee_id = await _setup(services, chat)
    clock.set(at(23, 7, 59))  # window opens 08:00
    await chat.say("签到")
    assert "不在签到时间" in chat.text and "今天08:30–11:30" in chat.text
    clock.set(at(23, 11, 30))  # ended
    await chat.say("签到")
    assert "明天08:30–11:30" in chat.text
    clock.set(at(27, 12, 0))  # Friday after class: next is Monday
    await chat.say("签到")
    assert "11月30日（周一）08:30–11:30" in chat.text
    assert await _records(services, trainee_id) == 0


async def test_no_more_sessions_and_not_enrolled(services: Any, chat: ChatDriver, clock: FrozenClock) -> None:
    await _setup(services, chat)
    clock.set(at(12, 12, 0, month=12))
    await chat.say("签到")
    assert "后面没有课" in chat.text
    other = ChatDriver(chat.client, "web-unenrolled")
    async with services.db.session() as db:
        person = await factory.trainee(db, "李四")
        await factory.chat_user(db, person, other.user_id)
    await other.say("签到")
    assert "没有查到您正在参加的培训班" in other.text


async def test_unbound_user_is_asked_to_bind(chat: ChatDriver) -> None:
    await chat.say("签到")
    assert "绑定" in chat.text
    await chat.say("我的出勤率")
    assert "绑定" in chat.text


async def test_two_classes_pick_one(services: Any, chat: ChatDriver, clock: FrozenClock) -> None:
    async with services.db.session() as db:
        inst = await factory.institution(db)
        a, _ = await factory.training_class(
            db, inst, code="A", name="电工班", start=date(2026, 11, 16), end=date(2026, 12, 11)
        )
        b, _ = await factory.training_class(
            db,
            inst,
            code="B",
            name="焊工班",
            start=date(2026, 11, 16),
            end=date(2026, 12, 11),
            begin="08:45",
            finish="10:45",
        )
        person = await factory.trainee(db)
        await factory.enroll(db, a, person)
        await factory.enroll(db, b, person)
        await factory.chat_user(db, person, chat.user_id)
    clock.set(at(23, 8, 20))
    await chat.say("签到")
    assert set(chat.choices) == {"电工班", "焊工班"}
    await chat.say("随便")
    assert set(chat.choices) == {"电工班", "焊工班"}, "re-asks with the same choices"
    await chat.say(str(chat.choices.index("焊工班") + 1))
    assert "签到成功" in chat.text and "焊工班" in chat.text
    await chat.say("签到")
    await chat.say("焊工班")
    assert "已经签过到" in chat.text
    await chat.say("签到")
    await chat.say("电工班")
    assert "签到成功" in chat.text and "电工班" in chat.text
    assert await _records(services, person.id) == 2


async def test_two_simultaneous_check_ins_record_one(
    services: Any, chat: ChatDriver, clock: FrozenClock
) -> None:
    import asyncio

    _, trainee_id = await _setup(services, chat)
    clock.set(at(23, 8, 25))
    other = ChatDriver(chat.client, chat.user_id)
    await asyncio.gather(chat.say("签到"), other.say("签到"))
    assert await _records(services, trainee_id) == 1
    texts = chat.text + other.text
    assert "签到成功" in texts and "已经签过到" in texts


async def test_institution_record_counts_as_checked_in(
    services: Any, chat: ChatDriver, clock: FrozenClock
) -> None:
    _, trainee_id = await _setup(services, chat)
    async with services.db.session() as db:
        session_id = (await db.execute(select(func.min(AttendanceRecord.id)))).scalar_one()
        from models import ClassSession

        s = (
            await db.execute(select(ClassSession).where(ClassSession.session_date == date(2026, 11, 23)))
        ).scalar_one()
        db.add(
            AttendanceRecord(
                session_id=s.id,
                trainee_id=trainee_id,
                source="institution",
                status="present",
                checked_in_at=s.starts_at - timedelta(minutes=3),
                method="face",
            )
        )
    del session_id
    clock.set(at(23, 9, 0))
    await chat.say("签到")
    assert "培训机构已经记录您到课" in chat.text and "08:27" in chat.text
