"""Deadline reminders: each one once, on the right working day.

The job is run twice on every day from 1 September to 20 October 2026 with
the frozen clock, across 中秋/国庆 (9/25–9/27, 10/1–10/7) and the make-up
working days (Sunday 9/20, Saturday 10/10).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import date, timedelta

import pytest

from bot.claims.deadlines import current_point_after, current_point_before, deadline_reminders
from bot.clock import LOCAL_TZ, FrozenClock
from bot.services import Services
from models import OutboxMessage, StaffAccount
from models.db import Database
from tests.claims.conftest import World, at


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


async def link_staff(world: World, who: str) -> int:
    user_id = await world.bind_directly(f"{who}-chat")
    async with world.services.db.session() as db:
        account = await db.get(StaffAccount, world.staff_ids[who])
        assert account is not None
        account.chat_user_id = user_id
    return user_id


def local_day(row: OutboxMessage) -> date:
    return row.due_at.astimezone(LOCAL_TZ).date()


def sent_on(rows: list[OutboxMessage], user_id: int, needle: str) -> list[date]:
    return [local_day(r) for r in rows if r.chat_user_id == user_id and needle in r.text]


async def test_every_reminder_once_on_its_working_day(world: World, clock: FrozenClock) -> None:
    cc = await world.bind_directly("cc-contact", institution_id=world.institutions["cc"])
    yb = await world.bind_directly("yb-contact", institution_id=world.institutions["yb"])
    nanguan = await link_staff(world, "nanguan")
    changchun = await link_staff(world, "changchun")
    yanbian = await link_staff(world, "yanbian")

    # Starts Monday 10/12: apply by 9/29 (5th working day before, counting Saturday 10/10).
    await world.add_class("R1", date(2026, 10, 12), date(2026, 11, 20), status="planned", name="待申请班")
    # Ended Thursday 9/24, nobody claimed: working days 5, 8, 10 after are 10/9, 10/13, 10/15.
    await world.add_class(
        "R2", date(2026, 9, 1), date(2026, 9, 24), trainees=("zhang", "liu"), name="未申请班"
    )
    # Ended 9/24 and claimed on 9/28: no submission reminder, but the review is due 10/16.
    claimed = await world.add_class(
        "R3", date(2026, 9, 1), date(2026, 9, 24), trainees=("chen",), name="已申请班"
    )
    # A rectification letter received 9/15: one month, so by 10/15.
    clock.set(at(date(2026, 9, 15)))
    status, body = await world.post(
        "changchun",
        "/api/v1/admin/rectifications",
        {
            "institution_id": world.institutions["cc"],
            "received_on": "2026-09-15",
            "subject": "考勤签到表填写不规范",
        },
    )
    assert status == 201 and body["due_on"] == "2026-10-15"

    for day in days(date(2026, 9, 1), date(2026, 10, 20)):
        clock.set(at(day, 8, 30))
        if day == date(2026, 9, 28):
            status, _ = await world.post(
                "cc_operator", f"/api/v1/admin/classes/{claimed}/claims", {"subsidy_type": "training"}
            )
            assert status == 201
        await deadline_reminders(world.services)
        clock.set(at(day, 14, 0))
        await deadline_reminders(world.services)  # a second run the same day adds nothing

    rows = await world.outbox()
    institution = [r for r in rows if r.kind == "institution_reminder"]
    assert sent_on(institution, cc, "待申请班") == [date(2026, 9, 23), date(2026, 9, 28), date(2026, 9, 29)]
    assert "今天" in next(
        r.text for r in institution if "待申请班" in r.text and local_day(r) == date(2026, 9, 29)
    )
    assert sent_on(institution, cc, "未申请班") == [date(2026, 10, 9), date(2026, 10, 13), date(2026, 10, 15)]
    first = next(r.text for r in institution if "未申请班" in r.text)
    assert "第5个工作日" in first and "2名学员" in first and "10月15日" in first
    assert sent_on(institution, cc, "已申请班") == []
    assert sent_on(institution, cc, "整改") == [date(2026, 9, 24), date(2026, 10, 12), date(2026, 10, 15)]
    assert all(r.template and r.template["template"] == "deadline_reminder" for r in institution)
    assert not [r for r in rows if r.chat_user_id == yb]

    alerts = [r for r in rows if r.kind == "staff_alert"]
    # The review of the 9/28 claim was due 10/16: both bureaus over that county hear once, on 10/19.
    assert sent_on(alerts, nanguan, "超期") == [date(2026, 10, 19)]
    assert sent_on(alerts, changchun, "超期") == [date(2026, 10, 19)]
    assert "已申请班" in next(r.text for r in alerts if "超期" in r.text)
    # 第二十三条: the city bureau is reminded on the first working day of each month.
    assert sent_on(alerts, changchun, "月报") == [date(2026, 9, 1), date(2026, 10, 8)]
    assert "9月" in next(r.text for r in alerts if "月报" in r.text and local_day(r) == date(2026, 10, 8))
    assert sent_on(alerts, nanguan, "月报") == []  # county staff report to their city
    # Yanbian's city bureau reports too, but hears nothing of Changchun's overdue claims.
    assert sent_on(alerts, yanbian, "月报") == [date(2026, 9, 1), date(2026, 10, 8)]
    assert sent_on(alerts, yanbian, "超期") == []

    counts: dict[str, int] = defaultdict(int)
    for r in rows:
        counts[r.idempotency_key] += 1
    assert max(counts.values()) == 1


async def test_reminders_stop_once_done_and_catch_up_after_downtime(world: World, clock: FrozenClock) -> None:
    cc = await world.bind_directly("cc-contact", institution_id=world.institutions["cc"])
    class_id = await world.add_class(
        "R4", date(2026, 9, 1), date(2026, 9, 24), trainees=("zhang",), name="补交班"
    )
    # Down on 10/9 (the 5th working day): on 10/12 the missed reminder goes out, once.
    clock.set(at(date(2026, 10, 12), 10))
    assert (await deadline_reminders(world.services)).get("institution_reminder") == 1
    assert await deadline_reminders(world.services) == {}
    status, _ = await world.post(
        "cc_operator", f"/api/v1/admin/classes/{class_id}/claims", {"subsidy_type": "training"}
    )
    assert status == 201
    for day in days(date(2026, 10, 13), date(2026, 10, 16)):
        clock.set(at(day, 8, 30))
        await deadline_reminders(world.services)
    reminders = [r for r in await world.outbox("institution_reminder") if r.chat_user_id == cc]
    assert [local_day(r) for r in reminders] == [date(2026, 10, 12)]
    # A weekend day is never a reminder day.
    clock.set(at(date(2026, 10, 17), 9))
    assert await deadline_reminders(world.services) == {}


async def test_completed_rectification_is_not_reminded(world: World, clock: FrozenClock) -> None:
    cc = await world.bind_directly("cc-contact", institution_id=world.institutions["cc"])
    clock.set(at(date(2026, 9, 15)))
    status, body = await world.post(
        "nanguan",
        "/api/v1/admin/rectifications",
        {
            "institution_id": world.institutions["cc"],
            "received_on": "2026-09-15",
            "subject": "擅自变更授课教师",
        },
    )
    assert status == 201
    status, _ = await world.post("cc_operator", f"/api/v1/admin/rectifications/{body['id']}/complete", {})
    assert status == 403
    status, done = await world.post(
        "nanguan", f"/api/v1/admin/rectifications/{body['id']}/complete", {"on": "2026-09-20"}
    )
    assert status == 400  # in the future
    clock.set(at(date(2026, 9, 21)))
    status, done = await world.post("nanguan", f"/api/v1/admin/rectifications/{body['id']}/complete", {})
    assert status == 200 and done["completed_on"] == "2026-09-21"
    clock.set(at(date(2026, 9, 24), 9))
    await deadline_reminders(world.services)
    assert [r for r in await world.outbox() if r.chat_user_id == cc] == []
    status, listed = await world.get("cc_operator", "/api/v1/admin/rectifications?open=false")
    assert status == 200 and [r["id"] for r in listed["rectifications"]] == [body["id"]]
    status, listed = await world.get("yb_operator", "/api/v1/admin/rectifications")
    assert listed["rectifications"] == []


def test_reminder_points() -> None:
    assert current_point_before((3, 1, 0), 5) is None
    assert current_point_before((3, 1, 0), 3) == 3
    assert current_point_before((3, 1, 0), 2) == 3
    assert current_point_before((3, 1, 0), 0) == 0
    assert current_point_after((5, 8, 10), 4) is None
    assert current_point_after((5, 8, 10), 7) == 5
    assert current_point_after((5, 8, 10), 10) == 10


async def test_two_processes_at_once_send_each_reminder_once(world: World, clock: FrozenClock) -> None:
    if world.services.db.is_sqlite:
        pytest.skip("SQLite runs one process (DESIGN: embedded by default)")
    cc = await world.bind_directly("cc-contact", institution_id=world.institutions["cc"])
    for i in range(5):
        await world.add_class(
            f"P{i}", date(2026, 9, 1), date(2026, 9, 24), trainees=("zhang",), name=f"并发班{i}"
        )
    clock.set(at(date(2026, 10, 9), 8, 30))
    other_db = Database(world.services.settings.db_url)
    other = Services(world.services.settings, other_db, world.services.texts, clock, world.services.nlu)
    try:
        await asyncio.gather(deadline_reminders(world.services), deadline_reminders(other))
    finally:
        await other_db.dispose()
    rows = [r for r in await world.outbox("institution_reminder") if r.chat_user_id == cc]
    assert sorted(r.text.split("已于")[0] for r in rows) == [f"【补贴申请提醒】并发班{i}" for i in range(5)]
