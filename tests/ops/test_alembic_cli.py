"""`alembic upgrade head`, `downgrade base`, `upgrade head` from the repository root, on both databases.

The command line must use the app's own async drivers (no psycopg is
installed) and the app's settings (DATABASE_URL), and every migration must
have a downgrade that works.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from models import Base
from tests.conftest import TEST_DATABASE_URL, _pg_admin, _pg_url

ROOT = Path(__file__).resolve().parents[2]
ALEMBIC = Path(sys.executable).with_name("alembic")


def alembic(url: str, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BOT_NOW")}
    env["DATABASE_URL"] = url
    done = subprocess.run(
        [str(ALEMBIC), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


async def tables(url: str) -> set[str]:
    engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def round_trip(url: str) -> None:
    wanted = {t.name for t in Base.metadata.sorted_tables}
    assert "Running upgrade" in alembic(url, "upgrade", "head")
    assert wanted <= await tables(url)
    alembic(url, "downgrade", "base")
    assert not (wanted & await tables(url))
    alembic(url, "upgrade", "head")
    assert wanted <= await tables(url)
    assert "(head)" in alembic(url, "current")


async def test_round_trip_on_sqlite(tmp_path: Path) -> None:
    await round_trip(f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}")


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TEST_DATABASE_URL not set")
async def test_round_trip_on_postgresql() -> None:
    name = f"bot_alembic_{uuid.uuid4().hex[:10]}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        # A plain postgresql:// URL, as operators paste it, works too.
        await round_trip(_pg_url(name).replace("postgresql+asyncpg://", "postgresql://"))
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
