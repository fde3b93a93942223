"""The first five minutes: at any hour, a newcomer binds a demo trainee with a printed code and checks in."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.app import create_app
from bot.clock import ShiftedClock
from bot.ops.banner import ready_lines
from bot.services import LanguageUnderstanding
from bot.settings import Settings, SettingsError, load_settings
from models import ClassSession
from tests.conftest import ADMIN_TOKEN

# A Sunday before dawn, a weekday lesson hour, late evening, just before a weekday lesson's window.
MOMENTS = ["2026-11-22T04:10", "2026-11-24T09:15", "2026-11-25T23:50", "2026-11-26T07:55", "2026-12-31T13:00"]


def demo_settings(db_url: str, tmp_path: Path, now: str) -> Settings:
    return load_settings(
        database_url=db_url,
        bot_data_dir=tmp_path / "data",
        admin_token=ADMIN_TOKEN,
        secret_key="demo-secret",
        wechat_token="",
        wechat_app_id="",
        telegram_bot_token="",
        telegram_secret_token="",
        seed_demo=True,
        bot_now=now,
        bot_now_allow_postgres=True,
    )


async def say(client: TestClient, user: str, text: str) -> str:
    resp = await client.post("/api/v1/chat", json={"user_id": user, "text": text})
    assert resp.status == 200, await resp.text()
    return "\n".join(r["text"] for r in (await resp.json())["replies"])


@pytest.mark.parametrize("now", MOMENTS)
async def test_check_in_succeeds_at_any_hour(
    aiohttp_client: Any, db_url: str, tmp_path: Path, nlu_model: LanguageUnderstanding, now: str
) -> None:
    settings = demo_settings(db_url, tmp_path, now)
    app = create_app(settings, nlu=nlu_model, migrate=False, scheduler=False)
    client = await aiohttp_client(app)
    services = app["services"]
    assert isinstance(services.clock, ShiftedClock)
    assert services.clock.now().strftime("%Y-%m-%dT%H:%M") == now
    demo = app["demo"]
    assert demo.loaded and demo.staff_token and demo.drop_in is not None
    people = {p.name: p for p in demo.trainees}
    assert {"张伟", "马秀英"} <= set(people)

    bound = await say(client, "newcomer", f"绑定码 {people['张伟'].bind_code}")
    assert "绑定成功" in bound
    checked = await say(client, "newcomer", "签到")
    assert "签到成功" in checked, checked

    other = await say(client, "newcomer-2", f"绑定码 {people['马秀英'].bind_code}")
    assert "绑定成功" in other
    status = await say(client, "newcomer-2", "补贴到哪了")
    assert "已提交" in status or "审核" in status or "申请" in status, status

    me = await client.get("/api/v1/admin/me", headers={"Authorization": f"Bearer {demo.staff_token}"})
    assert me.status == 200

    lines = "\n".join(ready_lines(services.texts, "http://localhost:8080", demo, "var"))
    assert demo.staff_token in lines and people["张伟"].bind_code in lines
    assert "http://localhost:8080/console/" in lines


async def test_a_second_start_keeps_data_and_issues_new_codes(
    aiohttp_client: Any, db_url: str, tmp_path: Path, nlu_model: LanguageUnderstanding
) -> None:
    settings = demo_settings(db_url, tmp_path, "2026-11-24T09:15")
    first = await aiohttp_client(create_app(settings, nlu=nlu_model, migrate=False, scheduler=False))
    codes = {p.name: p.bind_code for p in first.app["demo"].trainees}
    token = first.app["demo"].staff_token
    async with first.app["services"].db.session() as db:
        sessions = (await db.execute(select(func.count(ClassSession.id)))).scalar_one()
    await first.close()

    later = demo_settings(db_url, tmp_path, "2026-11-24T20:00")
    second = await aiohttp_client(create_app(later, nlu=nlu_model, migrate=False, scheduler=False))
    demo = second.app["demo"]
    assert not demo.loaded
    assert all(codes[p.name] != p.bind_code for p in demo.trainees)
    assert demo.staff_token != token
    gone = await say(second, "late", f"绑定码 {codes['张伟']}")
    assert "绑定成功" not in gone  # the code printed at the first start was retired
    assert "绑定成功" in await say(second, "late", f"绑定码 {demo.trainees[0].bind_code}")
    assert "签到成功" in await say(second, "late", "签到")
    async with second.app["services"].db.session() as db:
        assert (await db.execute(select(func.count(ClassSession.id)))).scalar_one() == sessions + 1


def test_bot_now_is_refused_on_postgresql_unless_allowed(tmp_path: Path) -> None:
    pg = "postgresql+asyncpg://bot@127.0.0.1:5432/bot"
    with pytest.raises(SettingsError, match="BOT_NOW"):
        load_settings(database_url=pg, bot_data_dir=tmp_path, bot_now="2026-11-24T09:00")
    allowed = load_settings(
        database_url=pg, bot_data_dir=tmp_path, bot_now="2026-11-24T09:00", bot_now_allow_postgres=True
    )
    assert allowed.bot_now
    with pytest.raises(SettingsError, match="BOT_NOW"):
        load_settings(bot_data_dir=tmp_path, bot_now="next tuesday")
