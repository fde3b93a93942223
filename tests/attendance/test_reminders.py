"""Reminders, nudges and warnings in the outbox, with a controlled clock and real databases."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import date, datetime, time
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.attendance import config as cfg_module
from bot.attendance.reminders import create_nudges, create_reminders, tick
from bot.clock import LOCAL_TZ, FrozenClock
from bot.services import Services
from models import ChatUser, ClassSession, OutboxMessage, TrainingClass
from models.db import Database
from tests.attendance import factory
from tests.conftest import ChatDriver


def at(month: int, day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, month, day, hh, mm, tzinfo=LOCAL_TZ)


async def rows(services: Services, kind: str | None = None) -> list[OutboxMessage]:
    async with services.db.session() as db:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind:
            query = query.where(OutboxMessage.kind == kind)
        return list((await db.execute(query)).scalars())


async def roster(
    services: Services, *, start: date = date(2026, 11, 16), end: date = date(2026, 12, 11), **class_args: Any
) -> dict[str, Any]:
    """A class and people in every situation a reminder must respect."""
    async with services.db.session() as db:
        inst = await factory.institution(db)
        klass, sessions = await factory.training_class(db, inst, start=start, end=end, **class_args)
        people = {}
        for name in ("on", "off", "unreachable", "unbound", "withdrawn", "seven"):
            people[name] = await factory.trainee(db, name)
            await factory.enroll(db, klass, people[name], "withdrawn" if name == "withdrawn" else "enrolled")
        users = {
            "on": await factory.chat_user(db, people["on"], "u-on"),
            "off": await factory.chat_user(db, people["off"], "u-off", reminders_enabled=False),
            "unreachable": await factory.chat_user(db, people["unreachable"], "u-unreach", reachable=False),
            "withdrawn": await factory.chat_user(db, people["withdrawn"], "u-withdrawn"),
            "seven": await factory.chat_user(db, people["seven"], "u-seven", reminder_time=time(7, 0)),
            "stranger": await factory.chat_user(db, None, "u-stranger"),
        }
        return {"class": klass, "sessions": sessions, "people": people, "users": users}


async def test_one_reminder_per_session_for_those_who_want_it(services: Services, clock: FrozenClock) -> None:
    r = await roster(services)
    clock.set(at(11, 23, 5, 0))
    first = await create_reminders(services)
    assert first.sessions == 1
    got = await rows(services, "reminder")
    by_user = {row.chat_user_id: row for row in got}
    assert set(by_user) == {r["users"]["on"].id, r["users"]["seven"].id}
    assert by_user[r["users"]["on"].id].due_at == at(11, 23, 8, 0)  # 30 minutes before 08:30
    assert by_user[r["users"]["seven"].id].due_at == at(11, 23, 7, 0)  # 提醒改到七点
    text = by_user[r["users"]["on"].id].text
    assert "今天08:30–11:30" in text and "电工(五级)培训班" in text and "实训楼302" in text
    assert by_user[r["users"]["on"].id].choices == ["签到"]

    again = await create_reminders(services)
    assert again.sessions == 0
    await tick(services)
    # Even with the marks wiped (a crash between rows and marks), nothing doubles.
    async with services.db.session() as db:
        await db.execute(update(ClassSession).values(reminders_created_at=None))
    await create_reminders(services)
    assert len(await rows(services, "reminder")) == 2


async def test_personal_time_after_the_start_falls_back_to_class_default(
    services: Services, clock: FrozenClock
) -> None:
    r = await roster(services, begin="06:30", finish="09:30")
    clock.set(at(11, 23, 5, 0))
    await create_reminders(services)
    seven = next(x for x in await rows(services) if x.chat_user_id == r["users"]["seven"].id)
    assert seven.due_at == at(11, 23, 6, 0)


async def test_restart_mid_day_sends_missed_reminders_once(services: Services, clock: FrozenClock) -> None:
    """Down from before the morning run until 08:40: the 08:30 lesson still gets its reminder, now."""
    async with services.db.session() as db:
        inst = await factory.institution(db)
        early, _ = await factory.training_class(
            db,
            inst,
            code="EARLY",
            start=date(2026, 11, 23),
            end=date(2026, 11, 23),
            begin="06:00",
            finish="08:00",
        )
        morning, _ = await factory.training_class(
            db, inst, code="MORNING", start=date(2026, 11, 23), end=date(2026, 11, 23)
        )
        person = await factory.trainee(db)
        await factory.enroll(db, early, person)
        await factory.enroll(db, morning, person)
        await factory.chat_user(db, person, "u-1")
    clock.set(at(11, 23, 8, 40))
    await tick(services)  # what the scheduler runs at start-up
    got = await rows(services, "reminder")
    assert len(got) == 1 and got[0].due_at == at(11, 23, 8, 40) and "08:30–11:30" in got[0].text
    await tick(services)
    assert len(await rows(services, "reminder")) == 1


class CrashingTexts:
    """The real texts, failing when the N+1-th session's reminders are written (a process killed mid-run).

    The reminder writer words each session's day ("今天") once, so counting
    that lookup counts sessions.
    """

    def __init__(self, texts: Any, sessions_before_crash: int) -> None:
        self._texts, self.left = texts, sessions_before_crash

    def get(self, key: str, **fmt: Any) -> str:
        if key == "attendance.today":
            self.left -= 1
            if self.left < 0:
                raise RuntimeError("killed")
        return self._texts.get(key, **fmt)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._texts, name)


async def test_killed_during_the_morning_run_then_restarted(
    services: Services, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with services.db.session() as db:
        inst = await factory.institution(db)
        users = []
        for i in range(4):
            klass, _ = await factory.training_class(
                db,
                inst,
                code=f"C{i}",
                start=date(2026, 11, 23),
                end=date(2026, 11, 27),
                begin=f"0{8 + i % 2}:30",
                finish=f"{11 + i % 2}:30",
            )
            for j in range(3):
                person = await factory.trainee(db, f"学员{i}{j}")
                await factory.enroll(db, klass, person)
                users.append(await factory.chat_user(db, person, f"u-{i}-{j}"))
    small = cfg_module.get_attendance_config().model_copy(
        update={
            "reminders": cfg_module.get_attendance_config().reminders.model_copy(update={"batch_sessions": 1})
        }
    )
    monkeypatch.setattr("bot.attendance.reminders.get_attendance_config", lambda: small)
    clock.set(at(11, 23, 5, 0))
    crashing = Services(services.settings, services.db, CrashingTexts(services.texts, 2), clock, services.nlu)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError):
        await create_reminders(crashing)
    assert len(await rows(services)) == 6  # two sessions' batches committed, the third rolled back
    clock.set(at(11, 23, 8, 10))  # restarted after some were due
    await tick(services)
    got = await rows(services, "reminder")
    assert sorted(r.chat_user_id for r in got) == sorted(u.id for u in users)
    assert all(r.due_at <= at(11, 23, 9, 0) for r in got)


async def test_two_processes_create_each_reminder_once(services: Services, clock: FrozenClock) -> None:
    async with services.db.session() as db:
        inst = await factory.institution(db)
        expected = 0
        for i in range(30):
            klass, _ = await factory.training_class(
                db,
                inst,
                code=f"P{i}",
                start=date(2026, 11, 23),
                end=date(2026, 11, 23),
                begin="13:30",
                finish="16:30",
            )
            for j in range(5):
                person = await factory.trainee(db, f"学员{i}-{j}")
                await factory.enroll(db, klass, person)
                await factory.chat_user(db, person, f"p-{i}-{j}")
                expected += 1
    clock.set(at(11, 23, 5, 0))
    other_db = Database(services.settings.db_url)
    try:
        other = Services(services.settings, other_db, services.texts, clock, services.nlu)
        results = await asyncio.gather(
            create_reminders(services),
            create_reminders(other),
            create_reminders(services),
            create_reminders(other),
        )
    finally:
        await other_db.dispose()
    got = await rows(services, "reminder")
    assert len(got) == expected
    assert len({r.idempotency_key for r in got}) == expected
    assert sum(r.sessions for r in results) >= 30


async def test_pending_reminder_of_an_ended_session_is_cancelled(
    services: Services, clock: FrozenClock
) -> None:
    await roster(services)
    clock.set(at(11, 23, 5, 0))
    await create_reminders(services)
    clock.set(at(11, 23, 11, 31))  # the dispatcher never got to them
    result = await tick(services)
    assert result["stale_cancelled"] == 2
    assert {r.status for r in await rows(services, "reminder")} == {"cancelled"}


async def test_one_nudge_at_mid_session_for_those_not_checked_in(
    services: Services, clock: FrozenClock, client: Any
) -> None:
    r = await roster(services)
    clock.set(at(11, 23, 8, 20))
    await ChatDriver(client, "u-seven").say("签到")
    clock.set(at(11, 23, 9, 59))
    assert (await create_nudges(services)).rows == 0
    clock.set(at(11, 23, 10, 0))
    await tick(services)
    await tick(services)
    nudges = await rows(services, "nudge")
    assert [n.chat_user_id for n in nudges] == [r["users"]["on"].id]
    assert "还没签到" in nudges[0].text and nudges[0].due_at == at(11, 23, 10, 0)


async def test_reminder_settings_by_chat_move_today_reminders(
    services: Services, clock: FrozenClock, client: Any
) -> None:
    r = await roster(services, begin="13:30", finish="16:30")
    clock.set(at(11, 23, 5, 0))
    await create_reminders(services)
    on = ChatDriver(client, "u-on")

    async def mine() -> OutboxMessage:
        return next(x for x in await rows(services, "reminder") if x.chat_user_id == r["users"]["on"].id)

    clock.set(at(11, 23, 9, 0))
    await on.say("关闭提醒")
    assert "已关闭" in on.text
    assert (await mine()).status == "cancelled"
    await create_reminders(services)
    await tick(services)
    assert (await mine()).status == "cancelled", "a run does not bring it back"

    await on.say("打开提醒")
    assert ((await mine()).status, (await mine()).due_at) == ("pending", at(11, 23, 13, 0))

    await on.say("提醒改到中午12点")
    assert "12:00" in on.text
    assert (await mine()).due_at == at(11, 23, 12, 0) and len(await rows(services, "reminder")) == 2
    async with services.db.session() as db:
        user = await db.get(ChatUser, r["users"]["on"].id)
        assert user is not None and user.reminder_time == time(12, 0) and user.reminders_enabled

    await on.say("提醒设置")
    assert "12:00" in on.text and "恢复默认时间" in on.choices
    await on.say("改提醒时间")
    await on.say("随便吧")
    assert "没看懂这个时间" in on.text
    await on.say("早上七点半")
    assert "07:30" in on.text
    await on.say("提醒设置")
    await on.say("恢复默认时间")
    assert "开课前30分钟" in on.text
    await on.say("改成早上六点半提醒")
    assert "06:30" in on.text
    assert (await mine()).due_at == at(11, 23, 13, 0), "06:30 is already past: today's reminder stays"
    await on.say("恢复默认时间")
    assert (await mine()).due_at == at(11, 23, 13, 0)


async def test_a_whole_class_over_national_day(services: Services, clock: FrozenClock, client: Any) -> None:
    """Mon–Fri 08:30–11:30 from 21 Sep to 16 Oct 2026: 中秋 and 国庆 off, Sat 10 Oct worked.

    The steady trainee checks in every time; the other stops coming after the
    first week and gets one warning under 90 % and one under 70 %.
    """
    async with services.db.session() as db:
        inst = await factory.institution(db)
        klass, sessions = await factory.training_class(
            db, inst, start=date(2026, 9, 21), end=date(2026, 10, 16)
        )
        steady, drifting = await factory.trainee(db, "李静"), await factory.trainee(db, "王强")
        for person, uid in ((steady, "steady"), (drifting, "drifting")):
            await factory.enroll(db, klass, person)
            await factory.chat_user(db, person, uid)
    assert len(sessions) == 15
    steady_chat, drifting_chat = ChatDriver(client, "steady"), ChatDriver(client, "drifting")
    day = date(2026, 9, 20)
    while day <= date(2026, 10, 17):
        clock.set(datetime.combine(day, time(5, 0), LOCAL_TZ))
        await create_reminders(services)
        if day == date(2026, 9, 30):
            # A restart in the middle of the day: the tick runs again with rows already there.
            await tick(services)
        clock.set(datetime.combine(day, time(8, 15), LOCAL_TZ))
        await steady_chat.say("签到")
        if day < date(2026, 9, 28):
            await drifting_chat.say("签到")
        for hh, mm in ((10, 0), (11, 35), (11, 40)):
            clock.set(datetime.combine(day, time(hh, mm), LOCAL_TZ))
            await tick(services)
        day = date.fromordinal(day.toordinal() + 1)

    reminders = await rows(services, "reminder")
    per_session = Counter(r.idempotency_key.split(":")[1] for r in reminders)
    assert len(per_session) == 15 and set(per_session.values()) == {2}
    reminded_days = {r.due_at.astimezone(LOCAL_TZ).date() for r in reminders}
    assert date(2026, 10, 10) in reminded_days and date(2026, 10, 1) not in reminded_days
    assert date(2026, 9, 25) not in reminded_days

    nudges = await rows(services, "nudge")
    assert len(nudges) == 11 and {n.chat_user_id for n in nudges} == {(await _uid(services, "drifting"))}
    warnings = await rows(services, "attendance_warning")
    assert [w.idempotency_key.split(":")[3] for w in warnings] == ["full", "exam"]
    # 15 sessions × 3 h = 45 h. Under 90 % once 5 h can no longer be lost: after the 2nd missed lesson.
    assert warnings[0].created_at.astimezone(LOCAL_TZ).date() == date(2026, 9, 29)
    # Under 70 % (31.5 h) after the 5th missed lesson (12 + 15 + … ): 30 Sep, 8, 9 Oct → 9 Oct.
    assert warnings[1].created_at.astimezone(LOCAL_TZ).date() == date(2026, 10, 9)

    await steady_chat.say("我的出勤率")
    assert "45/45 课时" in steady_chat.text and "100%" in steady_chat.text
    await drifting_chat.say("我的出勤率")
    assert "12/45 课时" in drifting_chat.text and "不能参加结业考核" in drifting_chat.text


async def _uid(services: Services, external_id: str) -> int:
    async with services.db.session() as db:
        return (await db.execute(select(ChatUser.id).where(ChatUser.external_id == external_id))).scalar_one()


async def test_a_cancelled_class_reminds_nobody(services: Services, clock: FrozenClock, client: Any) -> None:
    r = await roster(services)
    async with services.db.session() as db:
        klass = await db.get(TrainingClass, r["class"].id)
        assert klass is not None
        klass.status = "cancelled"
    clock.set(at(11, 23, 5, 0))
    await create_reminders(services)
    assert await rows(services) == []
    clock.set(at(11, 23, 8, 20))
    on = ChatDriver(client, "u-on")
    await on.say("签到")
    assert "签到成功" not in on.text
