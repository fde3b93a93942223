"""Item 6 of issue 12: database faults answer 503 naming the database, and nothing is acknowledged
and then lost."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.clock import FrozenClock
from bot.settings import Settings
from tests.conftest import ADMIN_TOKEN, TEST_DATABASE_URL


def is_db_unavailable(status: int, body: dict[str, Any]) -> bool:
    return (
        status == 503
        and body["error"]["code"] == "database_unavailable"
        and "数据库" in body["error"]["message"]
    )


async def test_unreachable_postgresql_is_a_503_naming_the_database(
    aiohttp_client: Any, settings: Settings, clock: FrozenClock, nlu_model: Any
) -> None:
    down = settings.model_copy(update={"database_url": "postgresql+asyncpg://postgres@127.0.0.1:9/none"})
    client = await aiohttp_client(
        create_app(down, clock=clock, nlu=nlu_model, migrate=False, scheduler=False)
    )
    resp = await client.post("/api/v1/chat", json={"user_id": "u1", "text": "签到"})
    assert is_db_unavailable(resp.status, await resp.json())
    resp = await client.get("/api/v1/admin/trainees", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert is_db_unavailable(resp.status, await resp.json())
    resp = await client.get("/healthz")
    assert resp.status == 503


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="needs PostgreSQL")
async def test_a_dropped_postgresql_connection_is_retried(client: TestClient, settings: Settings) -> None:
    if settings.is_sqlite:
        pytest.skip("PostgreSQL only")
    resp = await client.post("/api/v1/chat", json={"user_id": "u1", "text": "你好"})
    assert resp.status == 200
    db = client.app["services"].db
    async with db.engine.connect() as conn:
        from sqlalchemy import text

        name = (await conn.execute(text("SELECT current_database()"))).scalar_one()
    import asyncpg

    admin = await asyncpg.connect(TEST_DATABASE_URL.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
    finally:
        await admin.close()
    resp = await client.post("/api/v1/chat", json={"user_id": "u1", "text": "你好"})
    assert resp.status == 200


async def test_sqlite_data_directory_deleted_refuses_check_ins(
    client: TestClient, settings: Settings
) -> None:
    if not settings.is_sqlite:
        pytest.skip("SQLite only")
    resp = await client.post("/api/v1/chat", json={"user_id": "u1", "text": "你好"})
    assert resp.status == 200
    path = Path(settings.db_url.split(":///", 1)[1])
    shutil.rmtree(path.parent)
    resp = await client.get("/healthz")
    assert resp.status == 503
    resp = await client.post("/api/v1/chat", json={"user_id": "u1", "text": "签到"})
    assert is_db_unavailable(resp.status, await resp.json())  # refused, not acknowledged and lost


async def test_sqlite_read_only_file_is_a_clear_503(client: TestClient, settings: Settings) -> None:
    if not settings.is_sqlite or os.geteuid() == 0:
        pytest.skip("SQLite as a normal user only (root ignores file modes)")
    path = Path(settings.db_url.split(":///", 1)[1])
    await client.app["services"].db.engine.dispose()
    for p in path.parent.glob(path.name + "*"):
        p.chmod(0o444)
    try:
        resp = await client.post("/api/v1/chat", json={"user_id": "u1", "text": "你好"})
        assert is_db_unavailable(resp.status, await resp.json())
    finally:
        for p in path.parent.glob(path.name + "*"):
            p.chmod(0o600)


def test_sqlite_file_and_secret_key_are_owner_only(settings: Settings, tmp_path: Path) -> None:
    from models.db import Database

    fresh = tmp_path / "fresh" / "bot.db"
    Database(f"sqlite+aiosqlite:///{fresh}")
    assert fresh.stat().st_mode & 0o777 == 0o600
    keyed = settings.model_copy(update={"secret_key": "", "bot_data_dir": tmp_path / "keys"})
    keyed.hash_key()
    assert (tmp_path / "keys" / "secret.key").stat().st_mode & 0o777 == 0o600
