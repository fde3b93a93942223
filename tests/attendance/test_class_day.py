"""我的班级 for one day ("明天有课吗") and for a class that ended a few days ago."""

from __future__ import annotations

from datetime import date, datetime

from bot.clock import LOCAL_TZ, FrozenClock
from bot.services import Services
from models import AttendanceRecord
from tests.attendance import factory
from tests.conftest import ChatDriver

PLACE = "长春市南关区人民大街1000号 实训楼302"


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=LOCAL_TZ)  # type: ignore[misc]


async def arrange(
    services: Services, chat: ChatDriver, *, status: str = "enrolled", evening: bool = False
) -> None:
    """Mon–Fri 8:30–11:30 from 16 Nov to 11 Dec 2026 (20 sessions); every session attended."""
    async with services.db.session() as db:
        inst = await factory.institution(db)
        klass, sessions = await factory.training_class(
            db, inst, start=date(2026, 11, 16), end=date(2026, 12, 11)
        )
        person = await factory.trainee(db)
        await factory.enroll(db, klass, person, status=status)
        if evening:
            other, _ = await factory.training_class(
                db,
                inst,
                code="T-2026-02",
                name="电子商务师(四级)培训班",
                start=date(2026, 11, 16),
                end=date(2026, 12, 11),
                weekdays=(1, 3),
                begin="18:30",
                finish="21:00",
            )
            await factory.enroll(db, other, person)
        await factory.chat_user(db, person, chat.user_id)
        for s in sessions:
            db.add(
                AttendanceRecord(
                    session_id=s.id,
                    trainee_id=person.id,
                    source="institution",
                    status="present",
                    checked_in_at=s.starts_at,
                    method="fingerprint",
                )
            )


async def test_tomorrow_yes_with_time_and_place_not_the_whole_card(
    services: Services, chat: ChatDriver, clock: FrozenClock
) -> None:
    await arrange(services, chat)
    clock.set(at(2026, 11, 23, 20, 0))  # Monday evening
    await chat.say("明天有课吗")
    assert chat.text == f"明天有课：8:30–11:30，{PLACE}。"
    await chat.say("后天上课不")
    assert chat.text == f"11月25日（周三）有课：8:30–11:30，{PLACE}。"


async def test_no_class_on_a_saturday_says_when_the_next_one_is(
    services: Services, chat: ChatDriver, clock: FrozenClock
) -> None:
    await arrange(services, chat)
    clock.set(at(2026, 11, 27, 12, 0))  # Friday
    await chat.say("明天有课吗")
    assert chat.text == "明天没有课。\n下一节课是11月30日（周一）8:30–11:30。"
    assert "授课老师" not in chat.text


async def test_a_part_of_the_day(services: Services, chat: ChatDriver, clock: FrozenClock) -> None:
    await arrange(services, chat, evening=True)
    clock.set(at(2026, 11, 23, 7, 0))  # Monday: only the morning class
    await chat.say("今天下午有课没")
    assert chat.text == "今天下午没有课，今天的课是8:30–11:30。"
    await chat.say("今天上午有课吗")
    assert chat.text.startswith(f"今天上午有课：电工(五级)培训班，8:30–11:30，{PLACE}。")
    assert "签到" in chat.text  # today, not over yet: a reminder to check in
    await chat.say("明天有课吗")  # Tuesday: both classes
    assert chat.text.startswith("明天有2节课：\n· 8:30–11:30 电工(五级)培训班")
    assert "· 18:30–21:00 电子商务师(四级)培训班" in chat.text
    await chat.say("明天晚上有课吗")
    assert chat.text == f"明天晚上有课：电子商务师(四级)培训班，18:30–21:00，{PLACE}。"


async def test_after_the_last_session_there_is_no_next_one(
    services: Services, chat: ChatDriver, clock: FrozenClock
) -> None:
    await arrange(services, chat)
    clock.set(at(2026, 12, 11, 12, 0))  # the last day, after the last session
    await chat.say("明天有课吗")
    assert chat.text == "明天没有课。\n您的班后面没有课了。"


async def test_a_class_that_just_ended_still_answers(
    services: Services, chat: ChatDriver, clock: FrozenClock
) -> None:
    await arrange(services, chat, status="completed")
    clock.set(at(2026, 12, 15, 10, 0))
    await chat.say("我的班级")
    text = chat.text
    assert "没有查到您正在参加的培训班" not in text
    assert "电工(五级)培训班（已结业）" in text and "2026-12-11结业" in text
    assert "您出勤 20/20 次课，60/60 课时，出勤率 100%。" in text
    assert "达到 90%，可享受全额培训补贴" in text
    assert "结业后10个工作日内统一申请（第十六条）" in text
    assert "补贴到哪了" in chat.choices
    await chat.say("明天有课吗")
    assert chat.text == "明天没有课：电工(五级)培训班已经在2026-12-11结业了。"


async def test_a_class_that_ended_long_ago_is_not_current(
    services: Services, chat: ChatDriver, clock: FrozenClock
) -> None:
    await arrange(services, chat, status="completed")
    clock.set(at(2027, 1, 20, 10, 0))  # 40 days after the end; the window is 30 (config/attendance.yaml)
    await chat.say("我的班级")
    assert "没有查到您正在参加的培训班" in chat.text
