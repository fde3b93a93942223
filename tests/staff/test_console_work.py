"""The console's daily work over HTTP: the claims board that acts, imports, charts, errors in Chinese.

The browser tests (tests/browser) drive the same flows in Chromium; these pin
what each page says and stores.
"""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from aiohttp import FormData
from aiohttp.test_utils import TestClient
from openpyxl import Workbook, load_workbook
from sqlalchemy import select, update

from bot.clock import FrozenClock
from models import AttendanceRecord, Broadcast, Claim, ClassSession, Enrollment, OutboxMessage, Trainee
from tests.conftest import ADMIN_TOKEN
from tests.staff.console_client import settled, sign_in
from tests.staff.world import World

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _claims(services: Any, world: World, today: Any) -> dict[str, int]:
    async with services.db.session() as db:
        made = {}
        for name, klass, state, due in (
            ("张伟", "nanguan", "submitted", today - timedelta(days=3)),
            ("陈静", "nanguan", "under_review", today + timedelta(days=5)),
            ("周敏", "chaoyang", "submitted", today + timedelta(days=2)),
        ):
            claim = Claim(
                trainee_id=world.trainees[name],
                class_id=world.classes[klass],
                subsidy_type="training",
                state=state,
                submitted_on=today - timedelta(days=10),
                state_since=today - timedelta(days=10),
                due_on=due,
            )
            db.add(claim)
            await db.flush()
            made[name] = claim.id
    return made


async def test_board_search_filters_and_acts(
    client: TestClient, world: World, services: Any, clock: FrozenClock
) -> None:
    ids = await _claims(services, world, clock.today())
    csrf = await sign_in(client, world.tokens["changchun"])
    page = await (await client.get("/console/claims?q=张伟")).text()
    assert "张伟" in page and "陈静" not in page and "在办 1 件" in page
    assert "清除筛选" in page and "built-in method" not in page  # a label, not a dict method
    async with services.db.session() as db:
        masked = (await db.get(Trainee, world.trainees["陈静"])).id_card_masked  # type: ignore[union-attr]
    for q in (masked, masked[-4:], "南关电工", "长春市南关职业培训学校"):
        page = await (await client.get("/console/claims", params={"q": q})).text()
        assert "陈静" in page, q
    page = await (await client.get("/console/claims?overdue=1")).text()
    assert "张伟" in page and "陈静" not in page and "周敏" not in page and "刘洋" in page
    page = await (await client.get("/console/claims?q=nobody-like-this")).text()
    assert "没有符合条件的申请" in page

    # Nothing ticked: an inline message on the board, not an error page.
    resp = await client.post("/console/claims/act", data={"_csrf": csrf, "to": "under_review", "q": "张伟"})
    assert resp.status == 400 and "请先勾选" in await resp.text() and 'value="张伟"' in await resp.text()

    # One by one: 张伟's overdue claim goes under review; the new statutory due date is shown.
    resp = await client.post(
        "/console/claims/act",
        data={"_csrf": csrf, "ids": str(ids["张伟"]), "to": "under_review", "q": "张伟"},
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()
    page = await (await client.get(resp.headers["Location"])).text()
    assert "已办理 1 件：审核中" in page
    async with services.db.session() as db:
        claim = await db.get(Claim, ids["张伟"])
    assert claim is not None and claim.state == "under_review" and claim.due_on is not None
    assert claim.due_on.isoformat() in page

    # The API's checks: paying a claim under review is refused, nothing changes, the form keeps the note.
    resp = await client.post(
        "/console/claims/act",
        data={"_csrf": csrf, "ids": [str(ids["张伟"]), str(ids["陈静"])], "to": "paid", "note": "误点"},
    )
    text = await resp.text()
    assert resp.status == 409 and "没有办理成功，所有申请都保持原样" in text
    assert "申请现在是“审核中”，不能改为“已拨付”" in text
    assert 'value="误点"' in text and f"第 {ids['张伟']} 号申请" in text
    async with services.db.session() as db:
        assert (await db.get(Claim, ids["陈静"])).state == "under_review"  # type: ignore[union-attr]

    # By class: every claim of 南关 under review is approved at once.
    resp = await client.post(
        "/console/claims/act",
        data={
            "_csrf": csrf,
            "scope": "class",
            "class_id": str(world.classes["nanguan"]),
            "state": "under_review",
            "to": "approved",
            "amount": "1200",
        },
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()
    async with services.db.session() as db:
        states = {c.id: c.state for c in (await db.execute(select(Claim))).scalars()}
    assert states[ids["张伟"]] == "approved" and states[ids["陈静"]] == "approved"
    assert states[ids["周敏"]] == "submitted"

    # Operators cannot review: the same refusal as the API.
    op_csrf = await sign_in(client, world.tokens["op_chaoyang"])
    resp = await client.post(
        "/console/claims/act", data={"_csrf": op_csrf, "ids": str(ids["周敏"]), "to": "under_review"}
    )
    text = await resp.text()
    assert resp.status == 403 and "培训机构只能在材料退回后重新提交" in text


async def test_board_and_publicity_exports(
    client: TestClient, world: World, services: Any, clock: FrozenClock
) -> None:
    ids = await _claims(services, world, clock.today())
    async with services.db.session() as db:
        await db.execute(
            update(Claim).where(Claim.id == ids["陈静"]).values(state="in_publicity", amount=1500)
        )
        await db.execute(update(Trainee).where(Trainee.id == world.trainees["陈静"]).values(name="=1+2"))
    await sign_in(client, world.tokens["changchun"])
    resp = await client.get("/console/claims/export.csv?overdue=1")
    table = list(csv.reader(io.StringIO((await resp.read()).decode("utf-8-sig"))))
    assert table[0][:3] == ["编号", "学员", "身份证号"] and {r[1] for r in table[1:]} == {"张伟", "刘洋"}
    resp = await client.get("/console/claims/publicity.xlsx")
    assert resp.status == 200 and resp.content_type == XLSX
    sheet = load_workbook(io.BytesIO(await resp.read())).active
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows[0][-1] == "补贴标准" and "第十五条" in rows[1][-1]
    assert rows[1][2] == "'=1+2" and rows[1][6] == "1500.00"  # formula-safe name, 补贴金额
    resp = await client.get("/api/v1/admin/claims/board?q=张伟", headers=world.headers("changchun"))
    body = await resp.json()
    assert body["total"] == 1 and body["claims"][0]["overdue_days"] == 3


async def test_errors_are_chinese_pages_or_inline(
    client: TestClient, world: World, services: Any, clock: FrozenClock
) -> None:
    login = await (await client.get("/console/login")).text()
    assert "python -m bot" not in login and "系统管理员" in login
    resp = await client.get("/console/no-such-page")
    assert resp.status == 404 and "没有这个页面" in await resp.text()
    csrf = await sign_in(client, ADMIN_TOKEN)
    home = await (await client.get("/console/")).text()
    assert "系统管理员 · 省级管理员" in home
    resp = await client.get("/console/classes/12/nothing")
    assert resp.status == 404 and "没有这个页面" in await resp.text() and 'id="who"' in await resp.text()

    async with services.db.session() as db:
        db.add(
            OutboxMessage(
                idempotency_key="dead-1",
                chat_user_id=world.chat_users["张伟-telegram"],
                kind="reminder",
                text="签到提醒",
                due_at=clock.now(),
                status="dead",
                attempts=8,
                last_error="Telegram 403: Forbidden: bot was blocked by the user",
            )
        )
    page = await (await client.get("/console/outbox/dead")).text()
    assert "对方已屏蔽机器人" in page
    resp = await client.post("/console/outbox/requeue", data={"_csrf": csrf})
    assert resp.status == 200 and "请先勾选要重新发送的消息" in await resp.text()

    # An out-of-scope region code keeps the whole form, with the reason.
    county = await sign_in(client, world.tokens["nanguan_county"])
    resp = await client.post(
        "/console/broadcasts",
        data={
            "_csrf": county,
            "title": "暴雪停课",
            "text": "明天停课一天。",
            "target": "trainees",
            "region": "220204",
        },
    )
    text = await resp.text()
    assert resp.status == 403 and 'value="暴雪停课"' in text and "明天停课一天。" in text


async def test_delivered_broadcast_is_done_at_once_and_cannot_be_cancelled(
    client: TestClient, world: World, services: Any, clock: FrozenClock
) -> None:
    headers = world.headers("changchun")
    resp = await client.post(
        "/api/v1/admin/broadcasts",
        json={"title": "停课通知", "text": "明天停课。", "audience": {"class_id": world.classes["nanguan"]}},
        headers=headers,
    )
    bid = (await resp.json())["id"]
    await sign_in(client, world.tokens["changchun"])
    assert 'id="cancel"' in await (await client.get(f"/console/broadcasts/{bid}")).text()
    async with services.db.session() as db:
        await db.execute(
            update(OutboxMessage)
            .where(OutboxMessage.broadcast_id == bid, OutboxMessage.status == "pending")
            .values(status="sent", delivery="message", sent_at=clock.now())
        )
    page = await (await client.get(f"/console/broadcasts/{bid}")).text()
    assert 'id="cancel"' not in page and "已完成" in page
    async with services.db.session() as db:
        assert (await db.get(Broadcast, bid)).status == "done"  # type: ignore[union-attr]
    resp = await client.post(f"/api/v1/admin/broadcasts/{bid}/cancel", headers=headers)
    assert resp.status == 409
    async with services.db.session() as db:
        assert (await db.get(Broadcast, bid)).status == "done"  # type: ignore[union-attr]


async def test_class_page_draws_attendance_and_the_rate_so_far(
    client: TestClient, world: World, services: Any, clock: FrozenClock
) -> None:
    klass = world.classes["nanguan"]
    async with services.db.session() as db:
        session = (await db.execute(select(ClassSession).where(ClassSession.class_id == klass))).scalar_one()
        later = clock.now() + timedelta(days=1)
        db.add(
            ClassSession(
                class_id=klass,
                session_date=later.date(),
                starts_at=later,
                ends_at=later + timedelta(hours=3),
                hours=3,
            )
        )
        db.add(
            AttendanceRecord(
                session_id=session.id, trainee_id=world.trainees["张伟"], source="institution",
                status="present", recorded_by="test", created_at=clock.now(),
            )
        )  # fmt: skip
    await sign_in(client, world.tokens["changchun"])
    page = await (await client.get(f"/console/classes/{klass}")).text()
    assert '<svg id="chart-sessions"' in page and '<svg id="chart-trainees"' in page
    assert "70% 考核线" in page and "90% 全额线" in page
    row = page[page.index(f'data-trainee="{world.trainees["张伟"]}"') :]
    # One session held, attended: 100 % so far, though only 10 % of the 30 filed hours.
    assert 'data-col="so-far">100%' in row[:300] and 'data-col="course">10%' in row[:600]
    resp = await client.get(f"/console/classes/{klass}/attendance.xlsx")
    sheet = load_workbook(io.BytesIO(await resp.read())).active
    assert [c.value for c in sheet[1]][:5] == ["姓名", "身份证号", "已上课次", "出勤次数", "目前出勤率"]


async def test_console_import_checks_then_imports(
    client: TestClient, world: World, services: Any, clock: FrozenClock
) -> None:
    from tests.attendance.factory import id_card

    number = id_card(seq=555)
    book = Workbook()
    ws = book.active
    ws.append(["班级编号", "姓名", "身份证号", "手机号"])
    ws.append(["C-nanguan", "金成浩", number, "13904330019"])
    raw = io.BytesIO()
    book.save(raw)
    csrf = await sign_in(client, world.tokens["op_nanguan"])
    assert "下载模板" in await (await client.get("/console/imports")).text()
    form = FormData()
    form.add_field("_csrf", csrf)
    form.add_field("kind", "roster")
    form.add_field("file", raw.getvalue(), filename="名单.xlsx", content_type=XLSX)
    resp = await client.post("/console/imports/check", data=form)
    page = await resp.text()
    assert resp.status == 200 and "检查通过：共 1 行" in page and "新增" in page, page
    async with services.db.session() as db:
        before = len(list((await db.execute(select(Enrollment))).scalars()))
    token = page.split('action="/console/imports/')[1].split("/run")[0]
    resp = await client.post(f"/console/imports/{token}/run", data={"_csrf": csrf}, allow_redirects=False)
    assert resp.status == 303
    for _ in range(50):
        page = await (await client.get(resp.headers["Location"])).text()
        if "导入完成" in page:
            break
        import asyncio

        await asyncio.sleep(0.05)
    assert "导入完成：共 1 行" in page
    async with services.db.session() as db:
        assert len(list((await db.execute(select(Enrollment))).scalars())) == before + 1
    # The same token cannot import twice; a bad file is a page saying what to do.
    resp = await client.post(f"/console/imports/{token}/run", data={"_csrf": csrf})
    assert resp.status == 409 and "重新上传" in await resp.text()
    form = FormData()
    form.add_field("_csrf", csrf)
    form.add_field("kind", "roster")
    form.add_field(
        "file", "班级编号,姓名,身份证号\nC-nanguan,李四,220102199013410317\n".encode("gbk"), filename="a.csv"
    )
    resp = await client.post("/console/imports/check", data=form)
    assert resp.status == 422 and "1990-13-41" in await resp.text()

    # A roster bigger than the app's 64 KB body limit is read (and here refused for the class size).
    lines = ["班级编号,姓名,身份证号"]
    lines += [f"C-nanguan,学员{i},{id_card(birth=f'199{i // 1000}0101', seq=i % 1000)}" for i in range(2500)]
    big = "\n".join(lines).encode("gbk")
    assert len(big) > 65536
    form = FormData()
    form.add_field("_csrf", csrf)
    form.add_field("kind", "roster")
    form.add_field("file", big, filename="big.csv", content_type="text/csv")
    resp = await client.post("/console/imports/check", data=form)
    status, page = await settled(client, await resp.text(), resp.status, resp.url.path)
    assert status == 422 and "超过班额" in page


async def test_overview_names_the_counties_with_overdue_steps(client: TestClient, world: World) -> None:
    """Region codes (220102) become the names staff say; the city is added for whoever looks across cities."""
    await sign_in(client, ADMIN_TOKEN)
    page = await (await client.get("/console/")).text()
    chart = page.split('id="chart-counties"')[1].split("</svg>")[0]
    table = page.split('id="overdue-by-county"')[1].split("</table>")[0]
    assert "长春市南关区" in chart and "长春市南关区" in table  # 刘洋's returned claim, due yesterday
    assert ">220102<" not in chart + table
    await client.post("/console/logout", data={"_csrf": ""})
    client.session.cookie_jar.clear()
    await sign_in(client, world.tokens["changchun"])
    page = await (await client.get("/console/")).text()
    table = page.split('id="overdue-by-county"')[1].split("</table>")[0]
    assert "南关区" in table and "长春市南关区" not in table
