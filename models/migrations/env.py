"""Alembic environment: runs on the connection `models.db` hands over.

From the command line (`make migration`) it opens the URL in the config
itself with a sync driver, to autogenerate a new revision.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import JSON, create_engine
from sqlalchemy.engine import Connection

import models

target_metadata = models.Base.metadata


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render our JSON/JSONB variant by name so migrations need no dialect imports."""
    if type_ == "type" and isinstance(obj, JSON) and getattr(obj, "_variant_mapping", None):
        return "models.base.JSONType"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    url = context.config.get_main_option("sqlalchemy.url") or ""
    engine = create_engine(url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg"))
    with engine.begin() as conn:
        _run(conn)
