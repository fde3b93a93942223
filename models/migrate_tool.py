"""Developer tool: autogenerate the next migration from the models.

Run as `make migration m="what changed"`. It builds a scratch SQLite database
at the current head and diffs the models against it, so no server is needed.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.script import ScriptDirectory

from models.db import MIGRATIONS_DIR, alembic_config


def squash() -> None:
    """Rewrite the history as one initial revision (only before the first production release)."""
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        path.unlink()
    main("initial schema")


def main(message: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cfg = alembic_config(f"sqlite:///{Path(tmp) / 'scratch.sqlite3'}")
        command.upgrade(cfg, "head")
        head = ScriptDirectory.from_config(cfg).get_current_head()
        rev_id = f"{int(head or 0) + 1:04d}"
        script = command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id)
    path = Path(script.path) if script and not isinstance(script, list) else None
    if path:
        subprocess.run([sys.executable, "-m", "ruff", "format", "-q", str(path)], check=False)
        subprocess.run([sys.executable, "-m", "ruff", "check", "--fix", "-q", str(path)], check=False)
        print(f"wrote {path.relative_to(MIGRATIONS_DIR.parent.parent)}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--squash"]:
        squash()
    else:
        main(" ".join(sys.argv[1:]) or "schema change")
