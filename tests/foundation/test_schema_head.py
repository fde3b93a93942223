"""A start skips Alembic only when the schema is already at the newest migration (models.schema_head).

What must hold: the head read from the scripts is Alembic's own; a database at
that head is left alone without importing Alembic (a faster start, issue 17);
a database one migration behind, or a new one, is still upgraded; any script
whose shape leaves the head uncertain sends the start through Alembic.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from models.db import MIGRATIONS_DIR, Database, alembic_config
from models.schema_head import at_head, script_head

ROOT = Path(__file__).resolve().parents[2]
VERSIONS = MIGRATIONS_DIR / "versions"


def test_the_head_read_from_the_scripts_is_alembics() -> None:
    assert (
        script_head(VERSIONS) == ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    )


async def test_a_migrated_database_is_at_head_on_each_backend(db_url: str) -> None:
    db = Database(db_url)
    try:
        async with db.engine.connect() as conn:
            assert await conn.run_sync(lambda c: at_head(c, VERSIONS))
    finally:
        await db.dispose()


async def test_a_database_one_migration_behind_is_brought_to_head(tmp_path: Path) -> None:
    head = script_head(VERSIONS)
    assert head is not None
    previous = ScriptDirectory.from_config(alembic_config("sqlite://")).get_revision(head).down_revision
    assert isinstance(previous, str)
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'behind.sqlite3'}")

    def upgrade_to(conn: Connection, revision: str) -> None:
        cfg = alembic_config(db.url)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)

    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(upgrade_to, previous)
            assert not await conn.run_sync(lambda c: at_head(c, VERSIONS))
        await db.migrate()
        async with db.engine.connect() as conn:
            assert (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar_one() == head
    finally:
        await db.dispose()


def test_a_start_on_a_database_at_head_does_not_import_alembic(tmp_path: Path, sqlite_template: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    shutil.copy(sqlite_template, path)
    fresh = tmp_path / "fresh.sqlite3"
    probe = (
        "import asyncio, sys\n"
        "from models.db import Database\n"
        "async def main(url):\n"
        "    db = Database(url)\n"
        "    await db.migrate()\n"
        "    await db.dispose()\n"
        "    print('alembic' in sys.modules)\n"
        "asyncio.run(main(sys.argv[1]))\n"
    )

    def imports_alembic(url: str) -> bool:
        out = subprocess.run(
            [sys.executable, "-c", probe, url],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return out.stdout.strip().splitlines()[-1] == "True"

    assert not imports_alembic(f"sqlite+aiosqlite:///{path}")
    assert imports_alembic(f"sqlite+aiosqlite:///{fresh}")  # a new database: Alembic creates the schema


def _scripts(tmp_path: Path, *sources: str) -> Path:
    versions = tmp_path / "versions"
    versions.mkdir()
    for i, source in enumerate(sources):
        (versions / f"{i:04d}_x.py").write_text(source, encoding="utf-8")
    return versions


@pytest.mark.parametrize(
    "scripts",
    [
        # a merge of two branches
        (
            'revision = "a"\ndown_revision = None\n',
            'revision = "b"\ndown_revision = "a"\n',
            'revision = "c"\ndown_revision = "a"\n',
            'revision = "d"\ndown_revision = ("b", "c")\n',
        ),
        # two heads
        (
            'revision = "a"\ndown_revision = None\n',
            'revision = "b"\ndown_revision = "a"\n',
            'revision = "c"\ndown_revision = "a"\n',
        ),
        # a revision that is not a literal
        ('revision = "a"\ndown_revision = None\n', 'revision = make_id()\ndown_revision = "a"\n'),
        # a script without its revision line
        ('revision = "a"\ndown_revision = None\n', 'down_revision = "a"\n'),
        # a dependency on another branch
        ('revision = "a"\ndown_revision = None\n', 'revision = "b"\ndown_revision = "a"\ndepends_on = "x"\n'),
    ],
    ids=["merge", "two-heads", "computed", "no-revision", "depends-on"],
)
def test_an_uncertain_head_leaves_the_decision_to_alembic(tmp_path: Path, scripts: tuple[str, ...]) -> None:
    assert script_head(_scripts(tmp_path, *scripts)) is None


def test_annotated_lines_as_alembic_writes_them_are_read(tmp_path: Path) -> None:
    versions = _scripts(
        tmp_path,
        'revision: str = "0001"\ndown_revision: str | None = None\n',
        'revision: str = "0002"\ndown_revision: str | None = "0001"\n',
    )
    assert script_head(versions) == "0002"
