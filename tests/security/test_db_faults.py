"""Item 6 of issue 12: database faults answer 503 naming the database, and nothing is acknowledged
and then lost."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.clock import FrozenClock
from bot.settings import Settings
from tests.conftest import ADMIN_TOKEN, TEST_DATABASE_URL
from tests.security.served import ServedProcess, served_sqlite


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


@pytest.fixture
def served(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path, nlu_model: Any
) -> Iterator[ServedProcess]:
    """`python -m bot serve` on a SQLite copy, in a child that file modes bind even under root."""
    caches = sorted(tmp_path_factory.getbasetemp().glob("nlu-cache*"))  # nlu_model's, when built
    workdir = tmp_path_factory.mktemp("served")
    with served_sqlite(sqlite_template, workdir, caches[0] if caches else None) as server:
        yield server


def test_sqlite_read_only_file_is_a_clear_503(served: ServedProcess) -> None:
    assert served.chat("u1", "你好")[0] == 200
    for p in served.db_path.parent.glob(served.db_path.name + "*"):
        p.chmod(0o444)
    status, body = served.chat("u1", "签到")
    assert is_db_unavailable(status, body)
    assert served.alive()
    assert "read-only" in served.log()  # the operator is told which file and why
    for p in served.db_path.parent.glob(served.db_path.name + "*"):
        p.chmod(0o600)
    assert served.chat("u1", "你好")[0] == 200  # back as soon as the file is writable


def test_sqlite_wal_index_cut_short_under_the_server_is_survived(served: ServedProcess) -> None:
    """Truncating bot.sqlite3-shm under a running server killed it by SIGBUS, silently."""
    assert served.chat("u1", "你好")[0] == 200
    shm = served.db_path.with_name(served.db_path.name + "-shm")
    assert shm.stat().st_size > 0
    os.truncate(shm, 0)
    try:
        status, _ = served.chat("u1", "我想查补贴")
    except OSError:  # the connection dropped: the server is gone
        status = 0
    assert served.alive() and status == 200, (
        f"serve died with {served.proc.wait(10)}:\n{served.log()[-2000:]}"
    )
    assert "was truncated" in served.log()
    status, body = served.request("GET", "/api/v1/admin/conversations/web/u1")
    texts = [m["text"] for m in body["messages"] if m["direction"] == "in"]
    assert status == 200 and texts == ["你好", "我想查补贴"]  # nothing lost before or after


def test_sqlite_file_and_secret_key_are_owner_only(settings: Settings, tmp_path: Path) -> None:
    from models.db import Database

    fresh = tmp_path / "fresh" / "bot.db"
    Database(f"sqlite+aiosqlite:///{fresh}")
    assert fresh.stat().st_mode & 0o777 == 0o600
    keyed = settings.model_copy(update={"secret_key": "", "bot_data_dir": tmp_path / "keys"})
    keyed.hash_key()
    assert (tmp_path / "keys" / "secret.key").stat().st_mode & 0o777 == 0o600
