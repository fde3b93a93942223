"""`python -m bot staff …` as an operator runs it: the token printed once, and it works."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from bot.auth import principal_for_token
from bot.cli import main
from bot.services import Services
from bot.settings import load_settings
from models import Institution
from models.db import Database

TOKEN = re.compile(r"^(stf_\S+)$", re.M)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db_file = tmp_path / "cli.sqlite3"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{db_file}")
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SECRET_KEY", "cli-test")
    return db_file


async def _add_institution(url: str) -> None:
    db = Database(url)
    try:
        await db.migrate()
        async with db.session() as session:
            session.add(Institution(code="JL-CC-001", name="长春实训中心", region_code="220102"))
    finally:
        await db.dispose()


async def _principal(token: str):  # type: ignore[no-untyped-def]
    settings = load_settings()
    db = Database(settings.db_url)
    try:
        return await principal_for_token(Services(settings, db, None, None, None), token)  # type: ignore[arg-type]
    finally:
        await db.dispose()


def test_create_list_revoke(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(_add_institution(f"sqlite+aiosqlite:///{env}"))

    assert main(["staff", "create", "--name", "王科长", "--role", "city_staff", "--region", "220100"]) == 0
    out = capsys.readouterr().out
    token = TOKEN.search(out)
    assert token and "shown only this once" in out
    principal = asyncio.run(_principal(token.group(1)))
    assert principal is not None and principal.role == "city_staff" and principal.region_code == "220100"

    assert main(["staff", "create", "--name", "李老师", "--role", "institution_operator",
                 "--institution", "JL-CC-001"]) == 0  # fmt: skip
    op_token = TOKEN.search(capsys.readouterr().out)
    assert op_token
    op = asyncio.run(_principal(op_token.group(1)))
    assert op is not None and op.institution_id is not None and op.region_code == "220102"

    assert main(["staff", "create", "--name", "x", "--role", "county_staff", "--region", "220100"]) == 2
    assert "county-level" in capsys.readouterr().err

    assert main(["staff", "list"]) == 0
    listing = capsys.readouterr().out
    assert "王科长" in listing and "李老师" in listing and token.group(1) not in listing

    assert main(["staff", "revoke", "1"]) == 0
    capsys.readouterr()
    assert asyncio.run(_principal(token.group(1))) is None
    assert main(["staff", "revoke", "1"]) == 2
    assert main(["staff", "list"]) == 0
    assert "王科长" not in capsys.readouterr().out
    assert main(["staff", "list", "--all"]) == 0
    assert "revoked" in capsys.readouterr().out
