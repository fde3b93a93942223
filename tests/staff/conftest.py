from __future__ import annotations

from typing import Any

import pytest

from bot.clock import FrozenClock
from tests.conftest import TEST_DATABASE_URL
from tests.staff.world import World, build_world


@pytest.fixture(autouse=True)
def _pg_ready(request: pytest.FixtureRequest) -> None:
    """Create the session's PostgreSQL database outside any running event loop.

    `pg_url` uses asyncio.run; reached first from the async `db_url` fixture it
    would run inside the test's loop and fail, so it is set up here beforehand.
    """
    if TEST_DATABASE_URL and "[postgresql" in request.node.name:
        request.getfixturevalue("pg_url")


@pytest.fixture
async def world(services: Any, clock: FrozenClock) -> World:
    return await build_world(services, clock.now())
