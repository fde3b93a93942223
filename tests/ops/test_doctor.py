"""`python -m bot doctor` on a good configuration and on a broken one."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.ops.doctor import run_doctor
from bot.settings import load_settings
from tests.fakes.fake_telegram import FakeTelegram
from tests.fakes.fake_wechat import FakeWeChat

ROOT = Path(__file__).resolve().parents[2]


class TelegramWithGetMe(FakeTelegram):
    """The shared fake plus getMe, the call doctor makes to check a bot token."""

    async def _m_getMe(self, payload: dict[str, Any], arrived: float) -> web.Response:
        return web.json_response(
            {"ok": True, "result": {"id": 1, "is_bot": True, "username": "jl_train_bot"}}
        )


async def run(settings: Any) -> tuple[int, str]:
    out = io.StringIO()
    code = await run_doctor(settings, out)
    return code, out.getvalue()


async def test_a_good_configuration_passes(aiohttp_server: Any, db_url: str, tmp_path: Path) -> None:
    wechat, telegram = FakeWeChat(), TelegramWithGetMe()
    wechat_server = await aiohttp_server(wechat.app())
    telegram_server = await aiohttp_server(telegram.app())
    data = tmp_path / "data"
    settings = load_settings(
        database_url=db_url,
        bot_data_dir=data,
        admin_token="t",
        secret_key="k",
        redis_url="",
        wechat_token="w",
        wechat_app_id=wechat.app_id,
        wechat_app_secret=wechat.app_secret,
        wechat_api_base=str(wechat_server.make_url("")),
        telegram_bot_token=telegram.token,
        telegram_secret_token="s",
        telegram_api_base=str(telegram_server.make_url("")),
    )
    settings.hash_key()  # creates secret.key the way the service does
    data.chmod(0o750)
    code, text = await run(settings)
    assert code == 0, text
    assert "FAIL" not in text
    assert "OK    database:" in text and "newest migration" in text
    assert "OK    wechat: app id and secret accepted" in text
    assert "OK    telegram: bot token accepted (@jl_train_bot)" in text
    # The shipped templates have no ids yet: said plainly, as a warning.
    assert "WARN  wechat templates: no template_id for" in text
    # chinesecalendar ships 2026 at most: the 2027 arrangement is missing and the doctor says what that means.
    if "calendar: official holiday arrangements loaded" not in text:
        assert "2027 holiday arrangement" in text and "calendar_certain=false" in text
    assert wechat.token_requests == [False]  # never a forced refresh: that would break the running service


async def test_a_broken_configuration_fails_with_reasons(aiohttp_server: Any, tmp_path: Path) -> None:
    wechat = FakeWeChat()
    server = await aiohttp_server(wechat.app())
    data = tmp_path / "data"
    settings = load_settings(
        database_url="postgresql+asyncpg://nobody@127.0.0.1:1/none",
        bot_data_dir=data,
        redis_url="redis://127.0.0.1:1/0",
        wechat_token="w",
        wechat_app_id=wechat.app_id,
        wechat_app_secret="not-the-secret",
        wechat_api_base=str(server.make_url("")),
    )
    key = data / "secret.key"
    key.write_text("0" * 64)
    key.chmod(0o644)
    code, text = await run(settings)
    assert code == 1
    assert "FAIL  database: PostgreSQL unreachable" in text
    assert "FAIL  redis: REDIS_URL does not answer" in text
    assert "FAIL  wechat:" in text and "refused the credentials" in text
    assert "FAIL  data directory:" in text and "secret.key is readable by others" in text
    assert "WARN  settings: ADMIN_TOKEN is empty" in text


def test_the_command_exits_non_zero_on_bad_settings(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "WECHAT", "BOT_"))}
    env.update({"BOT_DATA_DIR": str(tmp_path), "WECHAT_AES_KEY": "too-short"})
    done = subprocess.run(
        [sys.executable, "-m", "bot", "doctor"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "WECHAT_AES_KEY" in done.stderr
