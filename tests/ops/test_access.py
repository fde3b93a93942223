"""Who may read /metrics, and the / page a newcomer lands on."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient


async def test_metrics_loopback_only_by_default(client: TestClient) -> None:
    assert (await client.get("/metrics")).status == 200
    relayed = await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert relayed.status == 403
    assert (await relayed.json())["error"]["code"] == "forbidden"


class TestWithToken:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {"metrics_token": "scrape-me"}

    async def test_token_is_required_even_from_loopback(self, client: TestClient) -> None:
        assert (await client.get("/metrics")).status == 401
        assert (await client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status == 401
        ok = await client.get(
            "/metrics", headers={"Authorization": "Bearer scrape-me", "X-Forwarded-For": "203.0.113.9"}
        )
        assert ok.status == 200
        assert "bot_turns_total" in await ok.text() or "bot_turns" in await ok.text()


async def test_home_page_says_what_this_is_and_links_onward(client: TestClient) -> None:
    resp = await client.get("/")
    assert resp.status == 200 and resp.content_type == "text/html"
    page = await resp.text()
    assert "吉人社规〔2024〕3号" in page and "trainee bot" in page
    for href in ('href="/console/"', 'href="/api/v1/openapi.json"', 'href="/healthz"'):
        assert href in page
    for link in ("/console/", "/api/v1/openapi.json", "/healthz"):
        assert (await client.get(link, allow_redirects=True)).status in (200, 302)
