"""An import across two serve processes in headless Chromium, at desktop and phone widths.

Behind nginx the browser's requests land on whichever process is free: here
the upload and its dry run go to one server, the confirm to another on the
same database (their own memory, engine and tasks; only the database and the
signed cookie join them). The check is held after its roster rows so the
progress page is seen for certain, then let go. Screenshots as in
test_daily_work_browser.
"""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait
from sqlalchemy import func, select

from bot.app import create_app
from bot.attendance.imports import Importer
from bot.clock import Clock
from models import Enrollment, ImportUpload
from tests.attendance.factory import id_card
from tests.browser.conftest import Stack
from tests.browser.test_console_browser import WAIT, sign_in
from tests.browser.test_daily_work_browser import WIDTHS, no_overflow, snap, upload
from tests.browser.test_daily_work_browser import shots as shots  # the fixtures, re-exported
from tests.browser.test_daily_work_browser import width as width  # (same screenshots layout)


@pytest.fixture
def second_server(stack: Stack, nlu_model: Any) -> str:
    """Another serve process on the same database: its base URL."""
    assert stack.server.app is not None
    settings = stack.server.app["settings"]
    app = create_app(settings, clock=Clock(settings.tz), nlu=nlu_model, migrate=False, scheduler=False)
    return stack.server.serve(app)


def test_upload_checked_on_one_server_is_confirmed_on_another(
    driver: Any,
    stack: Stack,
    second_server: str,
    tmp_path: Path,
    width: str,
    shots: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wait = WebDriverWait(driver, WAIT)
    release = asyncio.Event()
    real = Importer.apply_attendance

    async def held(self: Importer, rows: Any) -> None:
        await release.wait()
        await real(self, rows)

    monkeypatch.setattr(Importer, "apply_attendance", held)
    sign_in(driver, stack, "op_nanguan")
    book = Workbook()
    ws = book.active
    ws.append(["班级编号", "姓名", "身份证号", "手机号"])
    numbers = [id_card(birth="19930303", seq=800 + i) for i in range(20)]
    for i, number in enumerate(numbers):
        ws.append(["C-nanguan", f"学员{i + 1}", number, ""])
    raw = io.BytesIO()
    book.save(raw)

    upload(driver, tmp_path, "roster", "名单.xlsx", raw.getvalue())
    progress = wait.until(ec.presence_of_element_located((By.ID, "import-progress")))
    assert "正在检查：已检查 20 / 20 行" in progress.text
    assert progress.get_attribute("data-state") == "checking"
    assert not driver.find_elements(By.ID, "confirm")  # nothing to confirm while it checks
    no_overflow(driver)
    snap(driver, shots, "1-checking")

    stack.server.loop.call_soon_threadsafe(release.set)
    driver.set_window_size(*WIDTHS[width])
    checked = wait.until(ec.presence_of_element_located((By.ID, "import-checked"))).text
    assert "检查通过：共 20 行" in checked
    rows = driver.find_element(By.ID, "import-rows").text
    assert numbers[0][:6] + "********" + numbers[0][-4:] in rows and numbers[0] not in rows
    snap(driver, shots, "2-checked")

    # The next request goes to the other server: same page, same report, and it imports.
    path = driver.current_url.split(stack.url, 1)[1]
    token = path.rsplit("/", 1)[1]
    driver.set_window_size(*WIDTHS[width])
    driver.get(second_server + path)
    assert "检查通过：共 20 行" in wait.until(ec.presence_of_element_located((By.ID, "import-checked"))).text
    before = stack.server.run(_enrolled(stack))
    driver.find_element(By.ID, "confirm").click()
    done = wait.until(ec.presence_of_element_located((By.ID, "import-done"))).text
    assert "导入完成：共 20 行" in done and driver.current_url.startswith(second_server)
    assert stack.server.run(_enrolled(stack)) == before + 20
    state, blob = stack.server.run(_upload(stack, token))
    assert state == "imported" and blob is None  # the sealed file is gone once imported
    no_overflow(driver)
    snap(driver, shots, "3-imported-on-the-other-server")

    # The first server knows too, and the overview names the county with an overdue step.
    driver.set_window_size(*WIDTHS[width])
    driver.get(stack.url + path)
    assert "导入完成" in wait.until(ec.presence_of_element_located((By.ID, "import-done"))).text
    driver.get(f"{second_server}/console/")
    chart = wait.until(ec.presence_of_element_located((By.ID, "chart-counties")))
    assert "南关区" in str(chart.get_attribute("textContent"))
    assert "南关区" in driver.find_element(By.ID, "overdue-by-county").text
    assert "220102" not in driver.find_element(By.ID, "overdue-by-county").text
    no_overflow(driver)
    snap(driver, shots, "4-overview-county-names")


async def _enrolled(stack: Stack) -> int:
    async with stack.services.db.session() as db:
        return int((await db.execute(select(func.count(Enrollment.id)))).scalar_one())


async def _upload(stack: Stack, token: str) -> tuple[str, bytes | None]:
    async with stack.services.db.session() as db:
        row = (await db.execute(select(ImportUpload).where(ImportUpload.token == token))).scalar_one()
        return row.state, row.blob
