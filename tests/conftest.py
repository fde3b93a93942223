"""Fixtures: the full app on a real database, SQLite always, PostgreSQL when asked.

`TEST_DATABASE_URL` (set by .ci/run when a local server answers) adds a
PostgreSQL run of every database test. Each test session creates its own
throw-away PostgreSQL database, so parallel runs never meet; each test
starts from empty tables.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import text

from bot.app import create_app
from bot.clock import LOCAL_TZ, FrozenClock
from bot.engine import Engine
from bot.services import LanguageUnderstanding, Services
from bot.settings import Settings, load_settings
from models import Base
from models.db import Database

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if TEST_DATABASE_URL else [])
ADMIN_TOKEN = "test-admin-token"
# A Monday morning in term time; tests move the clock as they need.
DEFAULT_NOW = datetime(2026, 11, 23, 9, 0, tzinfo=LOCAL_TZ)


def _pg_url(dbname: str) -> str:
    base = TEST_DATABASE_URL
    if base.startswith("postgresql://"):
        base = "postgresql+asyncpg://" + base.split("://", 1)[1]
    head, _, _ = base.rpartition("/")
    return f"{head}/{dbname}"


async def _pg_admin(sql: str) -> None:
    import asyncpg

    url = TEST_DATABASE_URL.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _run_sync(coro: Any) -> Any:
    """Run a coroutine to completion from sync code, even inside a running event loop.

    Session fixtures may be first requested from an async test; a fresh thread
    gives `asyncio.run` a loop of its own.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _migrate(url: str) -> None:
    db = Database(url)
    try:
        await db.migrate()
    finally:
        await db.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file, copied for each test (migrating each time would be slow)."""
    path = tmp_path_factory.mktemp("template") / "bot.sqlite3"
    _run_sync(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL not set")
    name = f"bot_test_{uuid.uuid4().hex[:12]}"
    _run_sync(_pg_admin(f'CREATE DATABASE "{name}"'))
    url = _pg_url(name)
    try:
        _run_sync(_migrate(url))
        yield url
    finally:
        _run_sync(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _truncate_all(url: str) -> None:
    db = Database(url)
    try:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        async with db.engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        await db.dispose()


@pytest.fixture(params=BACKENDS)
async def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """A migrated, empty database of each backend."""
    if request.param == "sqlite":
        path = tmp_path / "bot.sqlite3"
        shutil.copy(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("pg_url")
    await _truncate_all(url)
    return url


@pytest.fixture(scope="session")
def nlu_model(tmp_path_factory: pytest.TempPathFactory) -> LanguageUnderstanding:
    """The real NLU, trained once per test session."""
    from nlu import NLU

    return NLU.load(tmp_path_factory.mktemp("nlu-cache"))


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(DEFAULT_NOW)


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    """Override in a test module to mount channels (tokens, API bases)."""
    return {}


@pytest.fixture
def settings(db_url: str, tmp_path: Path, settings_overrides: dict[str, Any]) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "bot_data_dir": tmp_path / "data",
        "admin_token": ADMIN_TOKEN,
        "secret_key": "test-secret-key",
        "wechat_token": "",
        "wechat_app_id": "",
        "telegram_bot_token": "",
        "telegram_secret_token": "",
        "seed_demo": False,
    }
    values.update(settings_overrides)
    return load_settings(**values)


@pytest.fixture
def app(settings: Settings, clock: FrozenClock, nlu_model: LanguageUnderstanding) -> web.Application:
    return create_app(settings, clock=clock, nlu=nlu_model, migrate=False, scheduler=False)


@pytest.fixture
async def client(aiohttp_client: Any, app: web.Application) -> TestClient:
    return await aiohttp_client(app)


@pytest.fixture
def services(client: TestClient) -> Services:
    """The running app's services (database, clock, texts, NLU)."""
    return client.app["services"]


@pytest.fixture
def engine(client: TestClient) -> Engine:
    return client.app["engine"]


@pytest.fixture
def admin_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


class ChatDriver:
    """Talks to the bot as one web user would; keeps the last replies for assertions."""

    def __init__(self, client: TestClient, user_id: str) -> None:
        self.client = client
        self.user_id = user_id
        self.replies: list[dict[str, Any]] = []

    async def say(self, text: str) -> list[dict[str, Any]]:
        resp = await self.client.post("/api/v1/chat", json={"user_id": self.user_id, "text": text})
        assert resp.status == 200, await resp.text()
        self.replies = (await resp.json())["replies"]
        return self.replies

    @property
    def text(self) -> str:
        return "\n".join(r["text"] for r in self.replies)

    @property
    def choices(self) -> list[str]:
        return [c for r in self.replies for c in r["choices"]]


@pytest.fixture
def chat(client: TestClient) -> ChatDriver:
    return ChatDriver(client, f"web-{uuid.uuid4().hex[:8]}")


@pytest.fixture
async def db(services: Services) -> AsyncIterator[Any]:
    """A session for arranging and checking data directly (committed on exit)."""
    async with services.db.session() as session:
        yield session
