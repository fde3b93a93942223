"""Staff API: imports with a per-row report (all or nothing), authoritative records, disagreements, scope."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.auth import hash_token
from bot.clock import LOCAL_TZ, FrozenClock
from bot.services import Services
from models import (
    AttendanceRecord,
    AuditEntry,
    ClassSession,
    Enrollment,
    OutboxMessage,
    StaffAccount,
    Trainee,
)
from tests.attendance import factory
from tests.conftest import ChatDriver

ID1, ID2, ID3 = factory.id_card(seq=101), factory.id_card(seq=102), factory.id_card(seq=103)


def bundle(code: str = "CC-2026-DG-09", inst: str = "JL-T-001", **klass: Any) -> dict[str, Any]:
    return {
        "classes": [
            {
                "code": code,
                "name": "电工(四级)就业技能培训班",
                "occupation": "电工",
                "institution_code": inst,
                "start_date": "2026-11-23",
                "end_date": "2026-12-18",
                "weekdays": [1, 2, 3, 4, 5],
                "start_time": "08:30",
                "end_time": "11:30",
                "address": "实训楼302",
                "teacher": "王建国",
                "status": "running",
                **klass,
            }
        ],
        "roster": [
            {
                "class_code": code,
                "id_card": ID1,
                "name": "张伟",
                "phone": "13904310001",
                "groups": ["rural_migrant"],
            },
            {"class_code": code, "id_card": ID2, "name": "刘洋", "household": "urban"},
            {"class_code": code, "id_card": ID3, "name": "陈静"},
        ],
    }


async def count(services: Services, column: Any) -> int:
    async with services.db.session() as db:
        return (await db.execute(select(func.count(column)))).scalar_one()


async def staff(services: Services, role: str, region: str, institution_id: int | None, token: str) -> None:
    async with services.db.session() as db:
        db.add(
            StaffAccount(
                name=token,
                role=role,
                region_code=region,
                institution_id=institution_id,
                token_hash=hash_token(token),
            )
        )


async def test_bundle_creates_class_sessions_and_roster_then_reimport_is_unchanged(
    client: TestClient, services: Services, admin_headers: dict[str, str]
) -> None:
    async with services.db.session() as db:
        await factory.institution(db)
    resp = await client.post("/api/v1/admin/imports", json=bundle(), headers=admin_headers)
    body = await resp.json()
    assert resp.status == 200, body
    assert body["summary"]["classes"]["created"] == 1
    assert body["summary"]["sessions"]["created"] == 20  # four weeks of Mon–Fri, no holidays
    assert body["summary"]["roster"]["created"] == 3
    assert await count(services, Enrollment.id) == 3 and await count(services, ClassSession.id) == 20
    again = await (await client.post("/api/v1/admin/imports", json=bundle(), headers=admin_headers)).json()
    assert again["summary"]["classes"] == {"created": 0, "updated": 0, "unchanged": 1, "removed": 0}
    assert again["summary"]["roster"]["unchanged"] == 3
    assert await count(services, ClassSession.id) == 20 and await count(services, Trainee.id) == 3


async def test_one_bad_row_rejects_everything_with_a_report(
    client: TestClient, services: Services, admin_headers: dict[str, str]
) -> None:
    async with services.db.session() as db:
        await factory.institution(db)
    payload = bundle()
    payload["roster"][1]["id_card"] = ID2[:-1] + ("0" if ID2[-1] != "0" else "1")  # wrong check digit
    payload["roster"][2]["groups"] = ["astronaut"]
    payload["classes"][0]["end_date"] = "2026-13-01"
    resp = await client.post("/api/v1/admin/imports", json=payload, headers=admin_headers)
    assert resp.status == 422
    error = (await resp.json())["error"]
    assert error["code"] == "invalid_rows"
    found = {(p["section"], p["row"], p["field"]) for p in error["report"]}
    assert found == {("roster", 2, "id_card"), ("roster", 3, "groups"), ("classes", 1, "end_date")}
    assert "校验码" in next(p["message"] for p in error["report"] if p["field"] == "id_card")
    assert await count(services, Trainee.id) == 0 and await count(services, ClassSession.id) == 0


CSV_CLASSES = (
    "\ufeffcode,name,occupation,institution_code,start_date,end_date,weekdays,start_time,end_time,capacity\n"
    'YB-01,电子商务师培训班,电子商务师,JL-T-001,2026-09-21,2026-10-16,"1,3,5",18:30,21:00,40\n'
)
CSV_ROSTER = (
    "class_code,id_card,name,phone,groups\n"
    f"YB-01,{ID1},金成浩,13904330019,rural_migrant\n"
    f"YB-01,{ID1[:-1]}Y,朴英子,13904330020,\n"
    f"YB-01,{ID3},李明,12345,college_graduate;veteran\n"
)


async def test_csv_import_reports_spreadsheet_lines(
    client: TestClient, services: Services, admin_headers: dict[str, str]
) -> None:
    async with services.db.session() as db:
        await factory.institution(db)
    headers = {**admin_headers, "Content-Type": "text/csv"}
    resp = await client.post("/api/v1/admin/imports/classes", data=CSV_CLASSES.encode(), headers=headers)
    body = await resp.json()
    assert resp.status == 200, body
    # Mon/Wed/Fri over 国庆 2026: 12 such days, of which 25 Sep (中秋), 2, 5 and 7 Oct are off;
    # no make-up Saturday is added for this pattern.
    assert body["summary"]["sessions"]["created"] == 12 - 4
    resp = await client.post("/api/v1/admin/imports/roster", data=CSV_ROSTER.encode(), headers=headers)
    assert resp.status == 422
    report = (await resp.json())["error"]["report"]
    assert {(p["row"], p["field"]) for p in report} == {(3, "id_card"), (4, "phone")}
    assert await count(services, Enrollment.id) == 0


async def test_dry_run_writes_nothing(
    client: TestClient, services: Services, admin_headers: dict[str, str]
) -> None:
    async with services.db.session() as db:
        await factory.institution(db)
    resp = await client.post("/api/v1/admin/imports?dry_run=true", json=bundle(), headers=admin_headers)
    body = await resp.json()
    assert resp.status == 200 and body["dry_run"] is True and body["summary"]["roster"]["created"] == 3
    assert await count(services, Trainee.id) == 0


async def test_explicit_sessions_replace_the_pattern_but_never_drop_attendance(
    client: TestClient, services: Services, admin_headers: dict[str, str], clock: FrozenClock
) -> None:
    async with services.db.session() as db:
        await factory.institution(db)
    await client.post("/api/v1/admin/imports", json=bundle(), headers=admin_headers)
    sessions = [
        {"class_code": "CC-2026-DG-09", "date": "2026-11-23", "start_time": "08:30", "end_time": "11:30"},
        {
            "class_code": "CC-2026-DG-09",
            "date": "2026-11-25",
            "start_time": "13:30",
            "end_time": "17:30",
            "hours": 4,
            "topic": "安全用电",
        },
    ]
    clock.set(datetime(2026, 11, 22, 12, 0, tzinfo=LOCAL_TZ))
    resp = await client.post("/api/v1/admin/imports/sessions", json={"rows": sessions}, headers=admin_headers)
    body = await resp.json()
    assert resp.status == 200, body
    assert body["summary"]["sessions"]["removed"] == 19 and body["summary"]["sessions"]["created"] == 1
    # Attendance taken on the 23rd: a later import without that session is refused.
    clock.set(datetime(2026, 11, 23, 12, 0, tzinfo=LOCAL_TZ))
    rows = [{"class_code": "CC-2026-DG-09", "date": "2026-11-23", "id_card": ID1, "status": "present"}]
    assert (
        await client.post("/api/v1/admin/imports/attendance", json={"rows": rows}, headers=admin_headers)
    ).status == 200
    resp = await client.post(
        "/api/v1/admin/imports/sessions", json={"rows": sessions[1:]}, headers=admin_headers
    )
    assert resp.status == 422
    assert "已有考勤记录" in (await resp.json())["error"]["report"][0]["message"]
    assert await count(services, ClassSession.id) == 2


async def test_institution_records_override_chat_with_audit_and_warning(
    client: TestClient, services: Services, admin_headers: dict[str, str], clock: FrozenClock
) -> None:
    async with services.db.session() as db:
        inst = await factory.institution(db)
        klass, _ = await factory.training_class(
            db, inst, code="K1", start=date(2026, 11, 16), end=date(2026, 11, 27)
        )
        person = await factory.trainee(db)
        await factory.enroll(db, klass, person)
        await factory.chat_user(db, person, "u-k1")
        await db.flush()
        number = factory.id_card(seq=int(person.id_card_masked[-4:-1]))
        assert number[-4:] == person.id_card_masked[-4:]
    chat = ChatDriver(client, "u-k1")
    clock.set(datetime(2026, 11, 23, 8, 20, tzinfo=LOCAL_TZ))
    await chat.say("签到")
    clock.set(datetime(2026, 11, 23, 12, 0, tzinfo=LOCAL_TZ))
    rows = [
        {"class_code": "K1", "date": f"2026-11-{d}", "id_card": number, "status": status, "method": "face"}
        for d, status in (
            (16, "absent"),
            (17, "absent"),
            (18, "present"),
            (19, "present"),
            (20, "present"),
            (23, "absent"),
        )
    ]
    resp = await client.post("/api/v1/admin/imports/attendance", json={"rows": rows}, headers=admin_headers)
    body = await resp.json()
    assert resp.status == 200, body
    assert body["summary"]["attendance"]["created"] == 6
    # 10 sessions × 3 h, 3 absent: best reachable 21/30 = 70 %: full subsidy lost, exam still reachable.
    assert body["attendance_warnings_queued"] == 1
    async with services.db.session() as db:
        audits = (
            (await db.execute(select(AuditEntry).where(AuditEntry.action == "attendance.institution_record")))
            .scalars()
            .all()
        )
        warning = (
            await db.execute(select(OutboxMessage).where(OutboxMessage.kind == "attendance_warning"))
        ).scalar_one()
    assert len(audits) == 6 and sum(a.detail["overrides_chat"] for a in audits) == 1
    assert "全额补贴已经保不住" in warning.text and "每次课都要来" in warning.text

    await chat.say("我的出勤率")
    assert "9/30 课时" in chat.text and "不一致" in chat.text and "每次课都要来" in chat.text
    resp = await client.get("/api/v1/admin/attendance/disagreements", headers=admin_headers)
    items = (await resp.json())["disagreements"]
    assert len(items) == 1 and items[0]["chat"]["status"] == "present" and items[0]["effective"] == "absent"
    resp = await client.get(f"/api/v1/admin/classes/{klass.id}/attendance", headers=admin_headers)
    (row,) = (await resp.json())["trainees"]
    assert row["disagreements"] == 1 and row["can_miss_full"] is None and row["can_miss_exam"] == 0

    # Re-sending the same records changes nothing and audits nothing more.
    again = await (
        await client.post("/api/v1/admin/imports/attendance", json={"rows": rows}, headers=admin_headers)
    ).json()
    assert again["summary"]["attendance"]["unchanged"] == 6
    assert await count(services, AuditEntry.id) == 6
    assert await count(services, AttendanceRecord.id) == 7


async def test_scope_of_operators_and_region_staff(client: TestClient, services: Services) -> None:
    async with services.db.session() as db:
        a = await factory.institution(db, "JL-A", "220102")
        b = await factory.institution(db, "JL-B", "220204")
        klass, _ = await factory.training_class(
            db, a, code="A1", start=date(2026, 11, 16), end=date(2026, 11, 27)
        )
    await staff(services, "institution_operator", "220102", a.id, "op-a")
    await staff(services, "institution_operator", "220204", b.id, "op-b")
    await staff(services, "city_staff", "220200", None, "city-jilin")
    await staff(services, "county_staff", "220102", None, "county-nanguan")

    def h(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    url = f"/api/v1/admin/classes/{klass.id}/attendance"
    assert (await client.get(url)).status == 401
    assert (await client.get(url, headers=h("op-a"))).status == 200
    assert (await client.get(url, headers=h("county-nanguan"))).status == 200
    for token in ("op-b", "city-jilin"):
        resp = await client.get(url, headers=h(token))
        assert resp.status == 403 and (await resp.json())["error"]["code"] == "forbidden"
    # Operator B cannot import into A's class nor create a class for institution A.
    rows = [{"class_code": "A1", "id_card": ID1, "name": "张伟"}]
    resp = await client.post("/api/v1/admin/imports/roster", json={"rows": rows}, headers=h("op-b"))
    assert resp.status == 422 and "不在您的管辖范围" in (await resp.json())["error"]["report"][0]["message"]
    resp = await client.post(
        "/api/v1/admin/imports", json={"classes": bundle(inst="JL-A")["classes"]}, headers=h("op-b")
    )
    assert resp.status == 422
    resp = await client.post("/api/v1/admin/imports/roster", json={"rows": rows}, headers=h("op-a"))
    assert resp.status == 200
    assert (await client.get("/api/v1/admin/classes/999/attendance", headers=h("op-a"))).status == 404


async def test_bad_requests_are_clear_4xx(
    client: TestClient, services: Services, admin_headers: dict[str, str]
) -> None:
    async with services.db.session() as db:
        await factory.institution(db)
    cases = [
        ("/api/v1/admin/imports/students", {"rows": []}, None, 404),
        ("/api/v1/admin/imports/roster", b"{not json", "application/json", 400),
        ("/api/v1/admin/imports/roster", {"items": []}, None, 400),
        ("/api/v1/admin/imports/roster", {"rows": "abc"}, None, 422),
        ("/api/v1/admin/imports/roster", {"rows": []}, None, 422),
        ("/api/v1/admin/imports/roster", {"rows": [42]}, None, 422),
        ("/api/v1/admin/imports/roster", b"<xml/>", "application/xml", 415),
        ("/api/v1/admin/imports/roster", b"\xff\xfe", "text/csv", 400),
        ("/api/v1/admin/imports", {"teachers": []}, None, 400),
        ("/api/v1/admin/imports?dry_run=maybe", bundle(), None, 400),
    ]
    for url, payload, ctype, status in cases:
        if isinstance(payload, bytes):
            resp = await client.post(
                url, data=payload, headers={**admin_headers, "Content-Type": ctype or ""}
            )
        else:
            resp = await client.post(url, json=payload, headers=admin_headers)
        assert resp.status == status, (url, payload, await resp.text())
        assert (await resp.json())["error"]["code"]
    too_many = bundle(capacity=80)
    resp = await client.post("/api/v1/admin/imports", json=too_many, headers=admin_headers)
    assert resp.status == 422 and (await resp.json())["error"]["report"][0]["field"] == "capacity"
    resp = await client.get("/api/v1/admin/attendance/disagreements?class_id=x", headers=admin_headers)
    assert resp.status == 400
