"""Headless Chromium (Debian's, via chromedriver) driving the console of a live app.

The app runs on a real port in a background thread with the fake Telegram and
WeChat APIs beside it and its scheduler on, so the outbox dispatcher delivers
what the console sends, as in production. Chromium is never downloaded: when
`/usr/bin/chromium` or `/usr/bin/chromedriver` is missing (`.ci/install-chromium`
installs both), the tests are skipped with that reason.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.app import create_app
from bot.clock import Clock
from bot.settings import load_settings
from tests.conftest import ADMIN_TOKEN
from tests.fakes.fake_telegram import FakeTelegram
from tests.fakes.fake_wechat import FakeWeChat
from tests.staff.fakes import messenger_settings
from tests.staff.live_server import LiveServer
from tests.staff.world import World, build_world

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--lang=zh-CN",
)


@dataclass
class Stack:
    server: LiveServer
    world: World
    telegram: FakeTelegram
    wechat: FakeWeChat

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def services(self) -> Any:
        assert self.server.app is not None
        return self.server.app["services"]


def _missing_browser() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists():
            return f"{path} is missing: run .ci/install-chromium (Debian's chromium and chromium-driver)"
    return None


@pytest.fixture(scope="session")
def browser_available() -> None:
    reason = _missing_browser()
    if reason:
        pytest.skip(reason)


@pytest.fixture
def driver(browser_available: None, tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path / 'chromium-profile'}")
    options.add_argument("--window-size=1280,900")
    service = Service(executable_path=str(CHROMEDRIVER))
    browser = webdriver.Chrome(service=service, options=options)
    browser.set_page_load_timeout(30)
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture
def stack(browser_available: None, tmp_path: Path, sqlite_template: Path, nlu_model: Any) -> Iterator[Stack]:
    """The app with its scheduler, fake messengers, and the staff test world, on real ports."""
    telegram, wechat = FakeTelegram(), FakeWeChat()
    server = LiveServer()
    telegram_base, wechat_base = server.serve(telegram.app()), server.serve(wechat.app())
    shutil.copy(sqlite_template, tmp_path / "bot.sqlite3")
    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
        bot_data_dir=tmp_path / "data",
        admin_token=ADMIN_TOKEN,
        secret_key="browser-secret",
        seed_demo=False,
        **messenger_settings(telegram, telegram_base, wechat, wechat_base),
    )
    app = create_app(settings, clock=Clock(settings.tz), nlu=nlu_model, migrate=False, scheduler=True)
    server.serve_main(app)
    services = app["services"]
    world = server.run(build_world(services, services.clock.now()))
    try:
        yield Stack(server, world, telegram, wechat)
    finally:
        server.stop()
