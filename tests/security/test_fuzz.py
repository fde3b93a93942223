"""Item 5 of issue 12: bad input anywhere answers a 4xx JSON error, never a 500.

Every route of the app (public API, staff API, webhooks, console) gets the
input classes the hostile test used: JSON integers of 5,000 digits, nesting
10,000 deep, a gzip Content-Encoding over a plain body, lone surrogates, NUL
characters, non-UTF-8 bytes, ids beyond int32 in the path and the query, and
non-UTF-8 bytes in the Authorization header, the Telegram secret header and
the console cookie. Runs on SQLite and PostgreSQL like every test.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.channels.conftest import (  # noqa: F401 - fixtures
    ACCOUNT,
    TELEGRAM_SECRET,
    fake_telegram,
    fake_wechat,
    settings_overrides,
    signed_query,
)
from tests.conftest import ADMIN_TOKEN

BIG = "9" * 5000
DEEP = "[" * 10000 + "]" * 10000
BODIES: dict[str, bytes] = {
    "huge_int": ('{"user_id": "u", "text": "hi", "id": ' + BIG + ', "class_id": ' + BIG + "}").encode(),
    "huge_int_values": json.dumps({"user_id": "u", "text": "x"}).replace('"x"', BIG).encode(),
    "deep": ('{"user_id": "u", "text": ' + DEEP + "}").encode(),
    "deep_object": ('{"a": ' + '{"a": ' * 10000 + "1" + "}" * 10001).encode(),
    "surrogate": b'{"user_id": "u\\ud800", "text": "\\ud800 hi", "name": "\\udfff", "message": "\\ud800"}',
    "nul": b'{"user_id": "u\\u0000", "text": "a\\u0000b", "name": "x\\u0000", "reason": "\\u0000"}',
    "not_utf8": b'{"user_id": "\xff\xfe", "text": "\xc3\x28"}',
    "array": b"[1, 2, 3]",
    "huge_float": b'{"user_id": "u", "text": "hi", "amount": 1e400, "hours": -1e400}',
}
IDS = ("2147483648", "2295444765", "17179869184", BIG[:40], "%00", "-1", "1.5")


def _paths(client: TestClient) -> list[tuple[str, str]]:
    seen = set()
    for route in client.app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter")
        if not path or route.method in ("HEAD", "OPTIONS") or path.startswith("/console/static"):
            continue
        seen.add((route.method, path))
    return sorted(seen)


def _fill(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


async def raw(client: TestClient, head: bytes, body: bytes = b"") -> tuple[int, str, bytes]:
    """One request written byte by byte (aiohttp's client would refuse these headers)."""
    reader, writer = await asyncio.open_connection(client.server.host, client.server.port)
    try:
        writer.write(
            head + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n"
        )
        writer.write(body)
        await writer.drain()
        data = await asyncio.wait_for(reader.read(), 30)
    finally:
        writer.close()
    header, _, payload = data.partition(b"\r\n\r\n")
    status = int(header.split(b" ", 2)[1])
    ctype = next(
        (
            line.split(b":", 1)[1].strip().decode()
            for line in header.split(b"\r\n")
            if line.lower().startswith(b"content-type")
        ),
        "",
    )
    return status, ctype, payload


def check(what: str, status: int, ctype: str, body: Any, path: str) -> list[str]:
    problems = []
    if status >= 500:
        problems.append(f"{what} {path}: {status}")
    elif status >= 400 and not path.startswith("/console") and "json" not in ctype:
        problems.append(f"{what} {path}: {status} {ctype} is not JSON")
    return problems


async def test_bad_bodies_never_500(client: TestClient) -> None:
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"}
    problems: list[str] = []
    for method, path in _paths(client):
        if method not in ("POST", "PUT", "PATCH", "DELETE"):
            continue
        target = _fill(path, "1")
        headers = dict(auth)
        params: dict[str, str] = {}
        if path == "/telegram/webhook":
            headers["X-Telegram-Bot-Api-Secret-Token"] = TELEGRAM_SECRET
        if path == "/wechat":
            params = signed_query()
        for name, body in BODIES.items():
            resp = await client.request(method, target, data=body, headers=headers, params=params)
            problems += check(name, resp.status, resp.content_type, await resp.read(), target)
        resp = await client.request(
            method,
            target,
            data=b'{"a": 1}',
            headers={**headers, "Content-Encoding": "gzip", "Connection": "close"},
            params=params,
        )
        problems += check("bad_gzip", resp.status, resp.content_type, await resp.read(), target)
    assert problems == []


async def test_bad_ids_in_path_and_query_never_500(client: TestClient) -> None:
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    problems: list[str] = []
    for method, path in _paths(client):
        for value in IDS:
            target = _fill(path, value)
            query = f"?institution_id={value}&class_id={value}&region_code=%00&status=%00&limit={value}"
            query += f"&cursor={value}&trainee_id={value}&before={value}&page={value}"
            data = b"{}" if method in ("POST", "PUT", "PATCH") else None
            resp = await client.request(method, target + query, headers=auth, data=data)
            problems += check(f"id {value}", resp.status, resp.content_type, await resp.read(), target)
    assert problems == []


@pytest.mark.parametrize(
    "header",
    [
        b"Authorization: Bearer \xff\xfe\xc3\x28",
        b"Authorization: \xe6\x97\xa0 \xff",
        b"X-Telegram-Bot-Api-Secret-Token: \xff\xfe",
        b"Cookie: bot_console=\xff\xfe\xc3\x28; other=\xff",
        b"Cookie: \xff=\xff",
    ],
)
async def test_non_utf8_headers_never_500(client: TestClient, header: bytes) -> None:
    problems: list[str] = []
    for method, path in _paths(client):
        target = _fill(path, "1")
        head = f"{method} {target} HTTP/1.1\r\nHost: localhost\r\n".encode() + header
        head += b"\r\nContent-Type: application/json"
        status, ctype, body = await raw(client, head, b"{}" if method != "GET" else b"")
        problems += check(header.decode("latin-1"), status, ctype, body, target)
    assert problems == []


async def test_wechat_hostile_fields_never_500(client: TestClient) -> None:
    def xml(openid: str, content: str, msg_id: str) -> bytes:
        return (
            f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>1764000000</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
            f"<MsgId>{msg_id}</MsgId></xml>"
        ).encode()

    cases = {
        "msgid_5000_digits": xml("o-user", "你好", BIG),
        "long_openid": xml("o" * 500, "你好", "1001"),
        "nul_ref": xml("o-user", "a&#0;b", "1002"),
        "surrogate_ref": xml("o-user", "&#xD800;", "1003"),
        "not_utf8": b"<xml><FromUserName>\xff\xfe</FromUserName><MsgType>text</MsgType></xml>",
        "three_309": xml("o-user", "三" * 309, "1004"),
    }
    problems: list[str] = []
    for name, body in cases.items():
        resp = await client.post("/wechat", params=signed_query(), data=body)
        problems += check(name, resp.status, resp.content_type, await resp.read(), "/wechat")
    assert problems == []


async def test_telegram_hostile_fields_never_500(client: TestClient) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    chat = {"id": 5, "type": "private"}
    updates = [
        {"update_id": int(BIG[:30]), "message": {"chat": chat, "text": "你好"}},
        {"update_id": 7, "message": {"chat": {"id": int(BIG[:40]), "type": "private"}, "text": "你好"}},
        {"update_id": 8, "message": {"chat": chat, "text": "三" * 309}},
        {"update_id": 9, "message": {"chat": chat, "text": "a\u0000b", "from": {"first_name": "\u0000"}}},
        {"update_id": 10, "callback_query": {"id": "x" * 5000, "from": {"id": 5}, "data": "\u0000"}},
        {"update_id": -(2**70), "message": {"chat": chat, "text": "hi"}},
    ]
    problems: list[str] = []
    for update in updates:
        resp = await client.post("/telegram/webhook", data=json.dumps(update), headers=headers)
        problems += check(str(update)[:40], resp.status, resp.content_type, await resp.read(), "/telegram")
    assert problems == []


async def test_chat_text_classes_are_answered(client: TestClient) -> None:
    """Through the chat API the same classes are a friendly answer (200) or a 4xx, never a 500."""
    for text in ("三" * 309, "一万亿" * 200, "a\u0000b", "\ud800", "\u202e绑定", "9" * 5000):
        resp = await client.post("/api/v1/chat", json={"user_id": "fuzz", "text": text})
        assert resp.status < 500, text[:20]
        assert "json" in resp.content_type


async def test_ids_just_past_int32_are_not_found_not_500(client: TestClient) -> None:
    """2^31, the first id PostgreSQL's integer cannot hold (schemathesis met it at the documented maximum)."""
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    for path, status in [
        ("/api/v1/admin/classes/2147483648/attendance", 404),
        ("/api/v1/admin/classes/2147483648/sessions", 404),
        ("/api/v1/admin/attendance/disagreements?institution_id=2147483648", 400),
        ("/api/v1/admin/attendance/disagreements?class_id=2147483648", 400),
    ]:
        resp = await client.get(path, headers=auth)
        assert resp.status == status, (path, await resp.text())
        assert "json" in resp.content_type
