"""Alembic environment: the app's connection, or the app's database opened the app's way.

- From `models.db.Database.migrate` the app hands over its own connection
  (under PostgreSQL's advisory lock).
- From the `alembic` command line (alembic.ini at the repository root) or
  `make migration`, it opens the URL with the same async drivers as the app
  (asyncpg, aiosqlite): the URL in the config when one is set, else the app's
  own settings (DATABASE_URL, BOT_DATA_DIR). No sync driver is needed.
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import JSON
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

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


def async_url(url: str) -> str:
    """The same URL with the app's async driver (a plain sqlite:// or postgresql:// URL is accepted)."""
    for plain, driver in (("sqlite://", "sqlite+aiosqlite://"), ("postgresql://", "postgresql+asyncpg://")):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    if url.startswith("postgres://"):
        return "postgresql+asyncpg://" + url[len("postgres://") :]
    return url


def _configured_url() -> str:
    url = context.config.get_main_option("sqlalchemy.url") or ""
    if url:
        return async_url(url)
    from bot.settings import load_settings

    return load_settings().db_url


async def _run_online(url: str) -> None:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # The same lock as the app's start-up migration: never two at once.
                from sqlalchemy import text

                await conn.execute(text("SELECT pg_advisory_xact_lock(727274001)"))
            await conn.run_sync(_run)
    finally:
        await engine.dispose()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    if context.config.config_file_name and context.config.attributes.get("configure_logger", True):
        fileConfig(context.config.config_file_name, disable_existing_loggers=False)
    asyncio.run(_run_online(_configured_url()))
