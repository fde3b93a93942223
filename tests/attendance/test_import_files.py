"""Imports as staff send them (Excel workbooks, GBK CSV from Excel, Chinese headers) and sheets out."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from aiohttp import FormData
from aiohttp.test_utils import TestClient
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from bot.clock import LOCAL_TZ, FrozenClock
from bot.identity import IdCardCheck, check_digit, check_id_card, normalize_id_card
from bot.services import Services
from models import AttendanceRecord, Enrollment, Trainee
from nlu.ids import check_id_card as nlu_check
from tests.attendance import factory
from tests.attendance.test_admin_api import ID1, ID2, ID3, bundle

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BAD_BIRTH = "220102199013410317"  # born "1990-13-41": the check digit is right, the date is not


def workbook(sheets: dict[str, list[list[object]]]) -> bytes:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        ws = book.create_sheet(title)
        for row in rows:
            ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def count(services: Services, column: object) -> int:
    async with services.db.session() as db:
        return (await db.execute(select(func.count(column)))).scalar_one()  # type: ignore[arg-type]


async def _class_only(client: TestClient, services: Services, headers: dict[str, str]) -> None:
    async with services.db.session() as db:
        await factory.institution(db)
    payload = bundle()
    del payload["roster"]
    resp = await client.post("/api/v1/admin/imports", json=payload, headers=headers)
    assert resp.status == 200, await resp.text()


def test_one_validator_rejects_an_impossible_birth_date_everywhere() -> None:
    assert BAD_BIRTH[-1] == check_digit(BAD_BIRTH[:17])
    assert check_id_card(BAD_BIRTH) is IdCardCheck.BAD_BIRTH_DATE
    assert nlu_check(BAD_BIRTH) is IdCardCheck.BAD_BIRTH_DATE  # the NLU asks the same validator
    assert normalize_id_card(BAD_BIRTH) is None  # binding and the import refuse it alike
    assert normalize_id_card(ID1) == ID1


async def test_excel_roster_with_chinese_headers_and_an_impossible_birth_date(
    client: TestClient, services: Services, admin_headers: dict[str, str]
) -> None:
    await _class_only(client, services, admin_headers)
    rows = [
        ["序号", "班级编号", "姓名", "身份证号", "手机号", "学员状态"],
        [1, "CC-2026-DG-09", "张伟", ID1, 13904310001, "在读"],
        [2, "CC-2026-DG-09", "刘洋", BAD_BIRTH, None, "在读"],
    ]
    form = FormData()
    form.add_field("file", workbook({"名单": rows}), filename="名单.xlsx", content_type=XLSX)
    resp = await client.post("/api/v1/admin/imports/roster", data=form, headers=admin_headers)
    assert resp.status == 422
    report = (await resp.json())["error"]["report"]
    assert [(p["row"], p["field"]) for p in report] == [(3, "id_card")]  # the Excel row number
    assert "1990-13-41" in report[0]["message"] and "出生日期" in report[0]["message"]
    assert await count(services, Trainee.id) == 0  # all or nothing

    rows[2][3] = ID2
    resp = await client.post(
        "/api/v1/admin/imports/roster",
        data=workbook({"Sheet1": rows}),
        headers={**admin_headers, "Content-Type": XLSX},
    )
    body = await resp.json()
    assert resp.status == 200, body
    assert body["summary"]["roster"]["created"] == 2 and await count(services, Enrollment.id) == 2


async def test_gbk_attendance_csv_from_excel(
    client: TestClient, services: Services, admin_headers: dict[str, str], clock: FrozenClock
) -> None:
    await _class_only(client, services, admin_headers)
    roster = f"班级编号,姓名,身份证号\r\nCC-2026-DG-09,张伟,{ID1}\r\nCC-2026-DG-09,刘洋,{ID2}\r\n"
    headers = {**admin_headers, "Content-Type": "text/csv"}  # Excel sends no charset
    resp = await client.post("/api/v1/admin/imports/roster", data=roster.encode("gbk"), headers=headers)
    assert resp.status == 200, await resp.text()
    clock.set(datetime(2026, 11, 24, 12, 0, tzinfo=LOCAL_TZ))
    attendance = (
        "班级编号,日期,姓名,身份证号,考勤结果,签到时间,签到方式\r\n"
        f"CC-2026-DG-09,2026/11/23,张伟,{ID1},出勤,8:25,人脸\r\n"
        f"CC-2026-DG-09,2026/11/23,刘洋,{ID2},缺勤,,\r\n"
        f"CC-2026-DG-09,2026年11月24日,张伟,{ID1},出勤,2026/11/24 8:31,指纹\r\n"
    ).encode("gbk")
    resp = await client.post(
        "/api/v1/admin/imports/attendance?dry_run=true", data=attendance, headers=headers
    )
    body = await resp.json()
    assert resp.status == 200 and body["dry_run"] is True, body
    assert body["summary"]["attendance"]["created"] == 3 and await count(services, AttendanceRecord.id) == 0
    resp = await client.post(
        "/api/v1/admin/imports/attendance",
        data=attendance,
        headers={**admin_headers, "Content-Type": "text/csv; charset=gbk"},
    )
    assert resp.status == 200, await resp.text()
    async with services.db.session() as db:
        methods = sorted((await db.execute(select(AttendanceRecord.method))).scalars(), key=str)
    assert methods == [None, "face", "fingerprint"]


async def test_unknown_columns_are_named_once(
    client: TestClient, services: Services, admin_headers: dict[str, str]
) -> None:
    await _class_only(client, services, admin_headers)
    data = f"班级编号,姓名,身份证号,爱好\nCC-2026-DG-09,张伟,{ID1},钓鱼\n".encode()
    headers = {**admin_headers, "Content-Type": "text/csv"}
    resp = await client.post("/api/v1/admin/imports/roster", data=data, headers=headers)
    assert resp.status == 422
    report = (await resp.json())["error"]["report"]
    assert len(report) == 1 and "爱好" in report[0]["message"] and "身份证号" in report[0]["message"]
    resp = await client.post(
        "/api/v1/admin/imports/roster",
        data=b"PK\x03\x04broken",
        headers={**admin_headers, "Content-Type": XLSX},
    )
    assert resp.status == 400 and "Excel" in (await resp.json())["error"]["message"]


async def test_workbook_bundle_and_templates(
    client: TestClient, services: Services, admin_headers: dict[str, str]
) -> None:
    async with services.db.session() as db:
        await factory.institution(db)
    resp = await client.get("/api/v1/admin/imports/roster/template", headers=admin_headers)
    assert resp.status == 200 and resp.content_type == XLSX
    header = [c.value for c in load_workbook(io.BytesIO(await resp.read())).active[1]]
    assert header[:3] == ["班级编号", "身份证号", "姓名"]
    resp = await client.get("/api/v1/admin/imports/attendance/template?format=csv", headers=admin_headers)
    text = (await resp.read()).decode("utf-8-sig")
    assert text.startswith("班级编号,日期,上课时间,身份证号,考勤结果,签到时间")

    klass = bundle()["classes"][0]
    classes = [
        [
            "班级编号",
            "班级名称",
            "职业（工种）",
            "机构编号",
            "开班日期",
            "结业日期",
            "每周上课日",
            "上课时间",
            "下课时间",
        ]
    ]
    classes.append(
        [
            klass["code"],
            klass["name"],
            "电工",
            "JL-T-001",
            "2026-11-23",
            "2026-12-18",
            "1,2,3,4,5",
            "08:30",
            "11:30",
        ]
    )
    roster = [["班级编号", "身份证号", "姓名"], [klass["code"], ID3, "陈静"]]
    form = FormData()
    form.add_field("file", workbook({"班级": classes, "名单": roster}), filename="开班.xlsx")
    resp = await client.post("/api/v1/admin/imports", data=form, headers=admin_headers)
    body = await resp.json()
    assert resp.status == 200, body
    assert body["summary"]["classes"]["created"] == 1 and body["summary"]["roster"]["created"] == 1


async def test_exports_are_formula_safe(
    client: TestClient, services: Services, admin_headers: dict[str, str], clock: FrozenClock
) -> None:
    await _class_only(client, services, admin_headers)
    rows = [
        {"class_code": "CC-2026-DG-09", "id_card": ID1, "name": '=HYPERLINK("http://x","点我")'},
        {"class_code": "CC-2026-DG-09", "id_card": ID2, "name": "刘洋"},
    ]
    resp = await client.post("/api/v1/admin/imports/roster", json={"rows": rows}, headers=admin_headers)
    assert resp.status == 200, await resp.text()
    async with services.db.session() as db:
        class_id = (await db.execute(select(Enrollment.class_id))).scalars().first()
    clock.set(datetime(2026, 11, 24, 12, 0, tzinfo=LOCAL_TZ))
    resp = await client.get(
        f"/api/v1/admin/classes/{class_id}/attendance/export?format=csv", headers=admin_headers
    )
    assert resp.status == 200 and resp.content_type == "text/csv"
    table = list(csv.reader(io.StringIO((await resp.read()).decode("utf-8-sig"))))
    assert table[0][:5] == ["姓名", "身份证号", "已上课次", "出勤次数", "目前出勤率"]
    names = [r[0] for r in table[1:]]
    assert '\'=HYPERLINK("http://x","点我")' in names and "刘洋" in names
    assert all(ID1 not in ",".join(r) for r in table)  # masked only
    assert len(table[0]) == 9 + 20  # one column per session
    resp = await client.get(f"/api/v1/admin/classes/{class_id}/attendance/export", headers=admin_headers)
    sheet = load_workbook(io.BytesIO(await resp.read())).active
    cells = [c.value for c in sheet["A"]]
    assert '\'=HYPERLINK("http://x","点我")' in cells
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    resp = await client.get("/api/v1/admin/classes/999/attendance/export", headers=admin_headers)
    assert resp.status == 404
    resp = await client.get(
        f"/api/v1/admin/classes/{class_id}/attendance/export?format=pdf", headers=admin_headers
    )
    assert resp.status == 400
