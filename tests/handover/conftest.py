"""Hand-over tests: the staff test world (one account per role), web users, a movable clock."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.clock import FrozenClock
from tests.conftest import TEST_DATABASE_URL, ChatDriver
from tests.staff.world import World, build_world


@pytest.fixture(autouse=True)
def _pg_ready(request: pytest.FixtureRequest) -> None:
    """Create the session's PostgreSQL database outside any running event loop (see tests/staff)."""
    if TEST_DATABASE_URL and "[postgresql" in request.node.name:
        request.getfixturevalue("pg_url")


@pytest.fixture
async def world(services: Any, clock: FrozenClock) -> World:
    return await build_world(services, clock.now())


def conversation_url(channel: str, external_id: str, suffix: str = "") -> str:
    return f"/api/v1/admin/conversations/{channel}/{external_id}{suffix}"


async def staff_reply(
    client: TestClient, world: World, role: str, channel: str, external_id: str, text: str
) -> Any:
    resp = await client.post(
        conversation_url(channel, external_id, "/messages"), json={"text": text}, headers=world.headers(role)
    )
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def inbox(client: TestClient, world: World, role: str) -> list[dict[str, Any]]:
    resp = await client.get("/api/v1/admin/handovers", headers=world.headers(role))
    assert resp.status == 200, await resp.text()
    items: list[dict[str, Any]] = (await resp.json())["handovers"]
    return items


async def ask_for_person(chat: ChatDriver, region: str = "长春市南关区") -> None:
    """An unbound web user asks for a person and names their county when asked."""
    await chat.say("转人工")
    assert "您在哪个市县" in chat.text
    await chat.say(region)
