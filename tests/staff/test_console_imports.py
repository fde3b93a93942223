"""Console imports across serve processes: the checked upload lives in the database, sealed.

Behind nginx the dry run and the confirm may reach two processes. Each test
runs two app instances on one database (SQLite file and PostgreSQL): nothing
but the database joins them, as two processes would be.
"""

from __future__ import annotations

import asyncio
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import FormData, web
from aiohttp.test_utils import TestClient
from openpyxl import Workbook
from sqlalchemy import func, select

from bot.app import create_app
from bot.attendance.import_uploads import sweep_expired, unseal
from bot.attendance.imports import Importer
from bot.clock import FrozenClock
from bot.identity import mask_id_card
from bot.settings import Settings
from models import Enrollment, ImportUpload
from tests.attendance.factory import id_card
from tests.staff.console_client import settled, sign_in
from tests.staff.world import World

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
async def other(aiohttp_client: Any, settings: Settings, clock: FrozenClock, nlu_model: Any) -> TestClient:
    """A second serve process: its own app, engine and memory, the same database and secret key."""
    app: web.Application = create_app(settings, clock=clock, nlu=nlu_model, migrate=False, scheduler=False)
    return await aiohttp_client(app)


def same_browser(source: TestClient, target: TestClient) -> None:
    """The browser's cookie goes to whichever process nginx picks."""
    for morsel in source.session.cookie_jar:
        target.session.cookie_jar.update_cookies({morsel.key: morsel.value}, target.make_url("/"))


def roster_xlsx(rows: list[tuple[str, str]]) -> bytes:
    book = Workbook()
    ws = book.active
    ws.append(["班级编号", "姓名", "身份证号", "手机号"])
    for name, number in rows:
        ws.append(["C-nanguan", name, number, "13904330019"])
    raw = io.BytesIO()
    book.save(raw)
    return raw.getvalue()


async def upload(client: TestClient, csrf: str, content: bytes, filename: str) -> tuple[str, int, str]:
    """Post a roster to the check; (token, status, page) as the browser lands on after the redirect."""
    form = FormData()
    form.add_field("_csrf", csrf)
    form.add_field("kind", "roster")
    form.add_field("file", content, filename=filename, content_type=XLSX)
    resp = await client.post("/console/imports/check", data=form, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    location = resp.headers["Location"]
    page = await client.get(location)
    return location.rsplit("/", 1)[1], page.status, await page.text()


async def stored(services: Any, token: str) -> ImportUpload:
    async with services.db.session() as db:
        row = (await db.execute(select(ImportUpload).where(ImportUpload.token == token))).scalar_one()
    return row


async def enrolled(services: Any) -> int:
    async with services.db.session() as db:
        return int((await db.execute(select(func.count(Enrollment.id)))).scalar_one())


async def test_dry_run_on_one_process_is_confirmed_on_another(
    client: TestClient, other: TestClient, world: World, services: Any
) -> None:
    number = id_card(seq=611)
    csrf = await sign_in(client, world.tokens["op_nanguan"])
    same_browser(client, other)
    before = await enrolled(services)
    # An ID number in the file's name is someone's ID number too.
    content = roster_xlsx([("金成浩", number)])
    token, status, page = await upload(client, csrf, content, f"{number}-roster.xlsx")
    status, page = await settled(client, page, status, f"/console/imports/{token}")
    assert status == 200 and "检查通过：共 1 行" in page and mask_id_card(number) in page
    assert number not in page

    # What is kept: the file sealed (no ID number in the clear), the report masked.
    row = await stored(services, token)
    assert row.state == "checked" and row.owner == f"staff:{world.staff_ids['op_nanguan']}"
    assert row.blob is not None and number.encode() not in row.blob
    assert number not in json.dumps(row.report, ensure_ascii=False) + row.filename
    assert mask_id_card(number) in row.filename
    sealed = unseal(services.settings, token, row.blob)
    assert sealed.raw == content and sealed.filename == f"{number}-roster.xlsx"

    # The other process shows the same report and imports it.
    shown = await (await other.get(f"/console/imports/{token}")).text()
    assert "检查通过：共 1 行" in shown and mask_id_card(number) in shown
    resp = await other.post(f"/console/imports/{token}/run", data={"_csrf": csrf}, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    page = await (await other.get(resp.headers["Location"])).text()
    status, page = await settled(other, page, 200, resp.headers["Location"])
    assert "导入完成：共 1 行" in page
    assert await enrolled(services) == before + 1
    row = await stored(services, token)
    assert row.state == "imported" and row.blob is None
    # Both processes read the outcome; the upload cannot be imported again from either.
    assert "导入完成" in await (await client.get(f"/console/imports/{token}")).text()
    for proc in (client, other):
        again = await proc.post(f"/console/imports/{token}/run", data={"_csrf": csrf})
        assert again.status == 409 and "重新上传" in await again.text()
    assert await enrolled(services) == before + 1


async def test_two_confirms_on_two_processes_import_once(
    client: TestClient, other: TestClient, world: World, services: Any
) -> None:
    csrf = await sign_in(client, world.tokens["op_nanguan"])
    same_browser(client, other)
    before = await enrolled(services)
    token, status, page = await upload(client, csrf, roster_xlsx([("金成浩", id_card(seq=612))]), "名单.xlsx")
    await settled(client, page, status, f"/console/imports/{token}")
    url = f"/console/imports/{token}/run"
    results = await asyncio.gather(
        client.post(url, data={"_csrf": csrf}, allow_redirects=False),
        other.post(url, data={"_csrf": csrf}, allow_redirects=False),
    )
    assert sorted(r.status for r in results) == [303, 409]
    await settled(client, 'id="import-progress"', 200, f"/console/imports/{token}")
    assert await enrolled(services) == before + 1


async def test_someone_else_cannot_see_or_confirm_an_upload(
    client: TestClient, other: TestClient, world: World, services: Any
) -> None:
    number = id_card(seq=613)
    csrf = await sign_in(client, world.tokens["op_nanguan"])
    token, status, page = await upload(client, csrf, roster_xlsx([("金成浩", number)]), "名单.xlsx")
    await settled(client, page, status, f"/console/imports/{token}")
    stranger = await sign_in(other, world.tokens["op_chaoyang"])
    page_resp = await other.get(f"/console/imports/{token}")
    assert page_resp.status == 404 and "重新上传" in await page_resp.text()
    resp = await other.post(f"/console/imports/{token}/run", data={"_csrf": stranger})
    assert resp.status == 409
    assert (await stored(services, token)).state == "checked"


async def test_an_unused_upload_expires_and_its_file_is_deleted(
    client: TestClient, other: TestClient, world: World, services: Any, clock: FrozenClock
) -> None:
    csrf = await sign_in(client, world.tokens["op_nanguan"])
    same_browser(client, other)
    bad = roster_xlsx([("朴英子", "220102199013410317")])  # born "1990-13-41"
    rejected, status, page = await upload(client, csrf, bad, "名单.xlsx")
    status, page = await settled(client, page, status, f"/console/imports/{rejected}")
    assert status == 422 and "1990-13-41" in page and "没有导入任何数据" in page
    assert "220102199013410317" not in page
    row = await stored(services, rejected)
    assert row.state == "failed" and row.blob is None  # a rejected file is not kept
    assert "220102199013410317" not in json.dumps(row.problems, ensure_ascii=False)

    token, status, page = await upload(client, csrf, roster_xlsx([("金成浩", id_card(seq=614))]), "名单.xlsx")
    await settled(client, page, status, f"/console/imports/{token}")
    clock.advance(timedelta(minutes=31))
    assert await sweep_expired(services) == 1
    row = await stored(services, token)
    assert row.state == "failed" and row.blob is None
    before = await enrolled(services)
    resp = await other.post(f"/console/imports/{token}/run", data={"_csrf": csrf})
    assert resp.status == 409 and "已过期" in await resp.text()
    assert await enrolled(services) == before
    # A day later the rows themselves are gone.
    clock.advance(timedelta(days=1))
    await sweep_expired(services)
    async with services.db.session() as db:
        assert (await db.execute(select(func.count(ImportUpload.id)))).scalar_one() == 0


async def test_the_check_shows_rows_checked_on_every_process(
    client: TestClient,
    other: TestClient,
    world: World,
    services: Any,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A long check shows how far it is; held here after the roster rows until the test lets it go."""
    release = asyncio.Event()
    real = Importer.apply_attendance

    async def held(self: Importer, rows: Any) -> None:
        await release.wait()
        await real(self, rows)

    monkeypatch.setattr(Importer, "apply_attendance", held)
    csrf = await sign_in(client, world.tokens["op_nanguan"])
    same_browser(client, other)
    rows = [(f"学员{i}", id_card(birth="19920202", seq=700 + i)) for i in range(20)]
    token, status, page = await upload(client, csrf, roster_xlsx(rows), "名单.xlsx")
    url = f"/console/imports/{token}"
    # The process running the check counts live; nothing is imported while it checks.
    assert status == 200 and "正在检查：已检查 20 / 20 行" in page and 'http-equiv="refresh"' in page
    assert "确认导入" not in page
    shown = await (await other.get(url)).text()
    assert 'id="import-progress"' in shown and "/ 20 行" in shown
    if not db_url.startswith("sqlite"):
        # PostgreSQL: the other process reads the count the check writes as it goes.
        # (SQLite: the dry run's transaction holds the write lock until it ends.)
        for _ in range(200):
            if "已检查 20 / 20 行" in shown:
                break
            await asyncio.sleep(0.05)
            shown = await (await other.get(url)).text()
        assert "已检查 20 / 20 行" in shown
    release.set()
    status, page = await settled(other, shown, 200, url)
    assert "检查通过：共 20 行" in page and "确认导入" in page
