"""Item 8 of issue 12: the smaller hardening points, each as a user or operator would meet it."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.clock import FrozenClock
from bot.settings import Settings
from tests.claims.conftest import World
from tests.conftest import ADMIN_TOKEN
from tests.staff.console_client import NONCE, sign_in


async def test_405_is_json_and_says_what_is_allowed(client: TestClient) -> None:
    resp = await client.get("/api/v1/chat")
    assert resp.status == 405 and "json" in resp.content_type
    assert "POST" in resp.headers["Allow"]
    assert (await resp.json())["error"]["code"] == "method_not_allowed"


async def _login_cookie(client: TestClient, headers: dict[str, str]) -> str:
    page = await (await client.get("/console/login")).text()
    nonce = NONCE.search(page)
    assert nonce
    resp = await client.post(
        "/console/login",
        data={"token": ADMIN_TOKEN, "nonce": nonce.group(1)},
        headers=headers,
        allow_redirects=False,
    )
    assert resp.status == 303
    return resp.headers["Set-Cookie"]


async def test_console_cookie_is_secure_behind_a_trusted_tls_proxy(
    aiohttp_client: Any, settings: Settings, clock: FrozenClock, nlu_model: Any
) -> None:
    proxied = settings.model_copy(update={"trusted_proxies": "127.0.0.1"})
    client = await aiohttp_client(
        create_app(proxied, clock=clock, nlu=nlu_model, migrate=False, scheduler=False)
    )
    assert "Secure" in await _login_cookie(client, {"X-Forwarded-Proto": "https"})
    assert "Secure" not in await _login_cookie(client, {})


async def test_forwarded_proto_from_anyone_else_is_ignored(client: TestClient) -> None:
    assert "Secure" not in await _login_cookie(client, {"X-Forwarded-Proto": "https"})


async def test_a_slowly_trickled_body_is_cut_off(
    aiohttp_client: Any, settings: Settings, clock: FrozenClock, nlu_model: Any
) -> None:
    quick = settings.model_copy(update={"body_read_timeout_seconds": 0.5})
    client = await aiohttp_client(
        create_app(quick, clock=clock, nlu=nlu_model, migrate=False, scheduler=False)
    )
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    try:
        writer.write(
            b"POST /api/v1/chat HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n" + b'{"user_id": '
        )
        await writer.drain()
        data = await asyncio.wait_for(reader.read(4096), 10)
    finally:
        writer.close()
    assert b" 408 " in data.split(b"\r\n", 1)[0] and b"request_timeout" in data


async def test_rtl_override_is_neutralised_in_the_console(world: World, clock: FrozenClock) -> None:
    await world.add_class(
        "R1", date(2026, 11, 1), date(2026, 12, 1), name="电工班\u202egpj.exe", status="running"
    )
    await sign_in(world.client, ADMIN_TOKEN)
    html = await (await world.client.get("/console/classes")).text()
    assert "电工班gpj.exe" in html and "\u202e" not in html


async def test_transcript_of_an_out_of_scope_user_is_the_same_404_as_none(world: World) -> None:
    await world.bind_directly("far-away", "jin")  # a Yanbian trainee's chat
    resp = await world.client.post("/api/v1/chat", json={"user_id": "far-away", "text": "你好"})
    assert resp.status == 200
    hidden = await world.client.get(
        "/api/v1/admin/conversations/web/far-away", headers=world.headers("nanguan")
    )
    missing = await world.client.get(
        "/api/v1/admin/conversations/web/nobody", headers=world.headers("nanguan")
    )
    assert hidden.status == missing.status == 404
    assert (await hidden.json()) == (await missing.json())


@pytest.mark.parametrize("path", ["/api/v1/admin/claims/999999", "/api/v1/admin/claims/2295444765"])
async def test_claims_out_of_range_are_404_json(
    client: TestClient, admin_headers: dict[str, str], path: str
) -> None:
    resp = await client.get(path, headers=admin_headers)
    assert resp.status in (400, 404) and "json" in resp.content_type


async def test_a_whole_number_written_with_a_fraction_is_an_integer(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    """JSON Schema counts 2024.0 as an integer; integrators' JSON libraries write it so."""
    answers = []
    for year in (2026, 2026.0):
        profile = {"employment": "unemployed", "groups": ["college_graduate"], "graduation_year": year}
        resp = await client.post("/api/v1/eligibility/assess", json={"profile": profile})
        assert resp.status == 200, await resp.text()
        answers.append(await resp.json())
    assert answers[0] == answers[1]
    resp = await client.post("/api/v1/admin/outbox/requeue", json={"ids": [999999.0]}, headers=admin_headers)
    assert resp.status == 404  # read as the id 999999, which does not exist, not as a malformed list
    resp = await client.post("/api/v1/admin/outbox/requeue", json={"ids": [1.5]}, headers=admin_headers)
    assert resp.status == 400
