"""The HTTP surface a new user or an integrating system touches first."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient


async def test_healthz_reports_db_and_scheduler(client: TestClient) -> None:
    resp = await client.get("/healthz")
    assert resp.status == 200
    body = await resp.json()
    assert body["status"] == "ok" and body["db"] == "ok"
    assert body["scheduler"] in {"running", "stopped"}


async def test_chat_greeting_shows_chinese_menu(client: TestClient) -> None:
    resp = await client.post("/api/v1/chat", json={"user_id": "u1", "text": "你好"})
    assert resp.status == 200
    replies = (await resp.json())["replies"]
    assert replies and "补贴培训" in replies[0]["text"]
    assert "签到" in replies[0]["choices"]


async def test_unknown_path_is_json_404(client: TestClient) -> None:
    resp = await client.get("/no/such/thing")
    assert resp.status == 404
    assert (await resp.json())["error"]["code"] == "not_found"


async def test_wrong_method_is_json_405(client: TestClient) -> None:
    resp = await client.get("/api/v1/chat")
    assert resp.status == 405
    assert (await resp.json())["error"]["code"] == "method_not_allowed"


async def _post_raw(client: TestClient, path: str, data: bytes) -> tuple[int, dict[str, Any]]:
    resp = await client.post(path, data=data, headers={"Content-Type": "application/json"})
    return resp.status, await resp.json()


async def test_malformed_json_is_400(client: TestClient) -> None:
    status, body = await _post_raw(client, "/api/v1/chat", b'{"user_id": "u1", "text": ')
    assert status == 400 and body["error"]["code"] == "invalid_json"
    status, body = await _post_raw(client, "/api/v1/chat", b"[1, 2]")
    assert status == 400
    status, body = await _post_raw(client, "/api/v1/chat", "\xff\xfe".encode("latin-1"))
    assert status == 400


async def test_missing_or_wrong_fields_are_400(client: TestClient) -> None:
    for payload, code in [
        ({"text": "你好"}, "invalid_user_id"),
        ({"user_id": "", "text": "你好"}, "invalid_user_id"),
        ({"user_id": "u1"}, "invalid_text"),
        ({"user_id": "u1", "text": 5}, "invalid_text"),
        ({"user_id": ["u1"], "text": "hi"}, "invalid_user_id"),
    ]:
        resp = await client.post("/api/v1/chat", json=payload)
        assert resp.status == 400, payload
        body = await resp.json()
        assert body["error"]["code"] == code and body["error"]["message"]


async def test_oversized_body_is_413(client: TestClient) -> None:
    big = b'{"user_id": "u1", "text": "' + b"a" * 200_000 + b'"}'
    status, body = await _post_raw(client, "/api/v1/chat", big)
    assert status == 413 and body["error"]["code"] == "payload_too_large"


async def test_overlong_chat_text_gets_a_kind_reply_not_an_error(client: TestClient) -> None:
    resp = await client.post("/api/v1/chat", json={"user_id": "u1", "text": "我" * 5000})
    assert resp.status == 200
    assert "太长" in (await resp.json())["replies"][0]["text"]


async def test_nlu_parse_contract(client: TestClient) -> None:
    resp = await client.post("/api/v1/nlu/parse", json={"text": "我想签到"})
    assert resp.status == 200
    body = await resp.json()
    assert body["intent"] == "check_in"
    assert 0.0 <= body["confidence"] <= 1.0
    assert isinstance(body["entities"], list)
    for payload in ({"text": ""}, {"text": "   "}, {}, {"text": 3}):
        resp = await client.post("/api/v1/nlu/parse", json=payload)
        assert resp.status == 400, payload
    resp = await client.post("/api/v1/nlu/parse", json={"text": "字" * 20_000})
    assert resp.status in (400, 413)
    assert "error" in await resp.json()
