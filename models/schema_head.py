"""Whether a database is already at the newest migration, told without importing Alembic.

Every start of `serve` migrates, and almost always there is nothing to do; yet
importing Alembic (its operations, its dialect implementations and their
patterns) was a twentieth of a warm start (issue 17). The newest revision is
read here from the migration scripts' own `revision` / `down_revision` lines
(parsed, not executed). Whenever that reading is not certain (a script in
another shape, a merge, more than one head, a dependency) the answer is "do not
know", and Alembic runs as before: this can only skip an upgrade that has
nothing to do.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

VERSION_TABLE = "alembic_version"  # Alembic's default; env.py does not change it
_UNKNOWN = object()


def _module_constants(path: Path) -> dict[str, Any]:
    """The script's top-level `name = literal` assignments (annotated or not)."""
    out: dict[str, Any] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, value = node.targets[0].id, node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name, value = node.target.id, node.value
        else:
            continue
        try:
            out[name] = ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError, RecursionError):
            out[name] = _UNKNOWN
    return out


def script_head(versions: Path) -> str | None:
    """The one head revision of the scripts in `versions`, or None when it is not certain."""
    revisions: set[str] = set()
    parents: set[str | None] = set()
    for path in sorted(versions.glob("*.py")):
        try:
            found = _module_constants(path)
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            return None  # Alembic will say what is wrong with the script
        revision, parent = found.get("revision", _UNKNOWN), found.get("down_revision", _UNKNOWN)
        if not isinstance(revision, str) or not (parent is None or isinstance(parent, str)):
            return None  # not in the usual shape, or a merge of branches
        if found.get("depends_on") is not None or found.get("branch_labels") is not None:
            return None
        revisions.add(revision)
        parents.add(parent)
    heads = revisions - parents
    return next(iter(heads)) if len(heads) == 1 else None


def at_head(conn: Connection, versions: Path) -> bool:
    """True only when the database's recorded revision is the scripts' one head."""
    head = script_head(versions)
    if head is None or not inspect(conn).has_table(VERSION_TABLE):
        return False
    recorded = [row[0] for row in conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))]
    return recorded == [head]
