"""The migrations are the schema: they must match the models exactly."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import IntegrityError

from models import Base, Institution, TrainingClass
from models.db import Database, alembic_config


def test_one_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"migration heads diverged: {heads}"


async def test_migrations_match_models(db_url: str) -> None:
    db = Database(db_url)
    try:
        async with db.engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": False}), Base.metadata
                )
            )
    finally:
        await db.dispose()
    assert diff == [], f"models changed without a migration (make migration m=...): {diff}"


async def test_offline_class_capacity_is_enforced_by_the_database(db_url: str) -> None:
    from datetime import date
    from decimal import Decimal

    db = Database(db_url)
    try:
        async with db.session() as s:
            inst = Institution(code="I1", name="机构", region_code="220102")
            s.add(inst)
            await s.flush()
            inst_id = inst.id
        with pytest.raises(IntegrityError):
            async with db.session() as s:
                s.add(
                    TrainingClass(
                        code="C1",
                        name="班",
                        occupation="电工",
                        institution_id=inst_id,
                        region_code="220102",
                        start_date=date(2026, 12, 1),
                        end_date=date(2026, 12, 20),
                        planned_hours=Decimal(60),
                        capacity=61,
                        mode="offline",
                    )
                )
    finally:
        await db.dispose()
