"""Without credentials a channel is not mounted: its webhook is an ordinary JSON 404."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {}


async def test_webhooks_of_unconfigured_channels_are_404(client: TestClient) -> None:
    for method, path in [("GET", "/wechat"), ("POST", "/wechat"), ("POST", "/telegram/webhook")]:
        resp = await client.request(method, path, data=b"<xml/>")
        assert resp.status == 404, path
        assert (await resp.json())["error"]["code"] == "not_found"
    resp = await client.post("/api/v1/chat", json={"user_id": "u1", "text": "你好"})
    assert resp.status == 200  # the rest keeps working
