"""我的出勤率 and 我的班级 in the chat, and the jobs the scheduler runs."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from bot.attendance.job import attendance_tick, morning_run
from bot.clock import LOCAL_TZ, FrozenClock
from bot.scheduler import Scheduler
from bot.services import Services
from models import AttendanceRecord, ClassSession, OutboxMessage
from tests.attendance import factory
from tests.conftest import ChatDriver


async def _class_with_history(services: Services, chat: ChatDriver, attended_days: set[int]) -> None:
    """20 sessions of 3 h (16 Nov – 11 Dec 2026); the institution recorded presence on some days."""
    async with services.db.session() as db:
        inst = await factory.institution(db)
        klass, sessions = await factory.training_class(
            db, inst, start=date(2026, 11, 16), end=date(2026, 12, 11)
        )
        person = await factory.trainee(db)
        await factory.enroll(db, klass, person)
        await factory.chat_user(db, person, chat.user_id)
        for s in sessions:
            if s.session_date.day in attended_days and s.session_date.month == 11:
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


async def test_rate_and_sessions_one_can_still_miss(
    services: Services, chat: ChatDriver, clock: FrozenClock
) -> None:
    # 16–20 Nov: 4 of 5 attended. Monday 23 Nov 12:00: 6 sessions held, 4 attended (12 h), 14 left.
    await _class_with_history(services, chat, {16, 17, 18, 19})
    clock.set(datetime(2026, 11, 23, 12, 0, tzinfo=LOCAL_TZ))
    await chat.say("我的出勤率")
    text = chat.text
    # The rate so far counts the sessions held (4 of 6), not the whole course (12 of 60 h = 20 %).
    assert "已上 6 次课，您出勤 4 次，目前出勤率 66.6%" in text
    assert "已出勤 12/60 课时（20%）" in text and "还剩 14 次课" in text
    # Best reachable: 12 + 42 = 54 h = 90 % exactly → no more misses for the full subsidy.
    assert "后面每次课都要来，才能保住全额补贴（90%）" in text
    # 70 % = 42 h: 54 − 42 = 12 h → 4 more sessions may be missed.
    assert "还能缺 4 次课，保住考试资格（70%）" in text
    assert "第十五条" in text and "第十四条" in text


async def test_a_trainee_who_never_missed_sees_100_percent_so_far(
    services: Services, chat: ChatDriver, clock: FrozenClock
) -> None:
    await _class_with_history(services, chat, {16, 17, 18})
    # Three sessions held, three attended: 100 % so far, though only 15 % of the course's 60 hours.
    clock.set(datetime(2026, 11, 18, 12, 0, tzinfo=LOCAL_TZ))
    await chat.say("我的出勤率")
    assert "已上 3 次课，您出勤 3 次，目前出勤率 100%" in chat.text
    assert "已出勤 9/60 课时（15%）" in chat.text and "最高能到 100%" in chat.text


async def test_before_the_first_session_there_is_no_rate_yet(
    services: Services, chat: ChatDriver, clock: FrozenClock
) -> None:
    await _class_with_history(services, chat, set())
    clock.set(datetime(2026, 11, 15, 20, 0, tzinfo=LOCAL_TZ))
    await chat.say("我的出勤率")
    assert "还没开始上课，上完第一次课才有出勤率" in chat.text and "出勤率 0%" not in chat.text


async def test_rate_after_the_class_ended(services: Services, chat: ChatDriver, clock: FrozenClock) -> None:
    await _class_with_history(services, chat, set(range(16, 31)))
    async with services.db.session() as db:
        person_sessions = (
            (await db.execute(select(ClassSession).order_by(ClassSession.starts_at))).scalars().all()
        )
        trainee_id = (await db.execute(select(AttendanceRecord.trainee_id))).scalars().first()
        for s in person_sessions[10:]:  # December: present every time
            db.add(
                AttendanceRecord(
                    session_id=s.id,
                    trainee_id=trainee_id,
                    source="chat",
                    status="present",
                    checked_in_at=s.starts_at - timedelta(minutes=5),
                )
            )
    clock.set(datetime(2026, 12, 14, 9, 0, tzinfo=LOCAL_TZ))
    await chat.say("我的出勤率")
    assert "已结课" in chat.text and "出勤 60/60 课时" in chat.text and "出勤率 100%" in chat.text
    assert "已达到 90%，可以享受全额补贴" in chat.text


async def test_class_info_shows_place_teacher_and_next_sessions(
    services: Services, chat: ChatDriver, clock: FrozenClock
) -> None:
    await _class_with_history(services, chat, set())
    clock.set(datetime(2026, 11, 27, 12, 0, tzinfo=LOCAL_TZ))  # a Friday afternoon
    await chat.say("我的班在哪上课，老师是谁")
    text = chat.text
    assert "电工(五级)培训班" in text and "实训楼302" in text and "王建国" in text
    assert "每周一、二、三、四、五 08:30–11:30" in text
    assert "11月30日（周一）08:30–11:30" in text and "12月2日（周三）08:30–11:30" in text
    assert "签到" in chat.choices


async def test_scheduler_registers_the_attendance_jobs(services: Services) -> None:
    sched = Scheduler(services, ("bot.attendance.job",))
    assert {"attendance-reminders", "attendance-tick"} <= set(sched.job_ids())
    job = sched._aps.get_job("attendance-reminders")
    assert str(job.trigger).startswith("cron[") and "hour='5'" in str(job.trigger)


async def test_jobs_run_through_the_scheduler_wrappers(services: Services, clock: FrozenClock) -> None:
    async with services.db.session() as db:
        inst = await factory.institution(db)
        klass, _ = await factory.training_class(db, inst, start=date(2026, 11, 23), end=date(2026, 11, 23))
        person = await factory.trainee(db)
        await factory.enroll(db, klass, person)
        await factory.chat_user(db, person, "job-user")
    clock.set(datetime(2026, 11, 23, 5, 0, tzinfo=LOCAL_TZ))
    await morning_run(services)
    await attendance_tick(services)
    async with services.db.session() as db:
        keys = (await db.execute(select(OutboxMessage.idempotency_key))).scalars().all()
    assert len(keys) == 1 and keys[0].startswith("reminder:")
