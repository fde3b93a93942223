"""The privacy sweep of issue 12: bind through every channel and path, then look everywhere
staff or an operator could look - every text column of the database, the server log at DEBUG,
every staff API response and console page - for a full ID-card number or phone.

`trainees.phone` is the one column allowed to hold a phone: it is the real-name record the
binding compares against (the roster import's data), never shown unmasked (docs/security.md).
"""

from __future__ import annotations

import io
import json
import logging
import re

import openpyxl
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.api.spreadsheets import XLSX_TYPE
from bot.channels import inbox  # noqa: F401 - the channel modules are mounted by the app
from models import Base, ChatUser
from tests.channels.conftest import (  # noqa: F401 - fixtures
    TELEGRAM_SECRET,
    fake_telegram,
    fake_wechat,
    post_plain,
    settings_overrides,
    text_xml,
)
from tests.claims.conftest import World
from tests.conftest import ADMIN_TOKEN, ChatDriver
from tests.staff.console_client import sign_in

FULL = str.maketrans("0123456789", "０１２３４５６７８９")
ALLOWED = {("trainees", "phone")}


def secrets_of(world: World) -> list[str]:
    out = []
    for person in world.trainees.values():
        out += [person.id_card, person.id_card[:17], person.phone]
    return out


def hits(text: str, secrets: list[str]) -> list[str]:
    digits_only = re.sub(r"[\s\-\u200b]", "", text)
    return [s for s in secrets if s in text or s in digits_only]


async def bind_everywhere(world: World, client: TestClient) -> None:
    zhang, liu, chen, jin = (world.trainees[k] for k in ("zhang", "liu", "chen", "jin"))
    # Web: the normal path, again when bound, a wrong pair, over-length, full-width, zero-width.
    web = ChatDriver(client, "web-zhang")
    await web.say("绑定身份")
    await web.say(zhang.id_card[:9] + "\u200b" + zhang.id_card[9:])
    await web.say(zhang.phone.translate(FULL))
    assert "绑定成功" in web.text
    await web.say(f"绑定 {zhang.id_card} {zhang.phone}")
    await web.say(f"{zhang.id_card} {zhang.phone} " + "长" * world.services.settings.max_text_chars)
    wrong = ChatDriver(client, "web-wrong")
    for _ in range(6):
        await wrong.say(f"绑定 {liu.id_card} {zhang.phone}")
    await wrong.say("我要投诉")
    await wrong.say(f"机构不让我签到，电话 {liu.phone}，身份证 {liu.id_card}")
    # WeChat (plaintext mode, the fake platform) and Telegram (fake Bot API).
    status, _ = await post_plain(
        client, text_xml("o-liu", f"绑定 {liu.id_card} {liu.phone}", 7200000000000000001)
    )
    assert status == 200
    update = {
        "update_id": 880001,
        "message": {
            "chat": {"id": 8800, "type": "private"},
            "from": {"id": 8800, "first_name": chen.phone},
            "text": f"绑定 {chen.id_card.translate(FULL)} {chen.phone}",
        },
    }
    resp = await client.post(
        "/telegram/webhook",
        data=json.dumps(update),
        headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},
    )
    assert resp.status == 200
    # The terminal channel (python -m bot chat) runs the same engine.
    engine = client.app["engine"]
    result = await engine.handle("console", "terminal", f"绑定 {jin.id_card} {jin.phone}")
    assert any("绑定成功" in r.text for r in result.replies)


async def staff_pages(client: TestClient, world: World) -> list[tuple[str, str]]:
    """(what, body) of every staff API read and console page reachable without guessing ids."""
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    seen: list[tuple[str, str]] = []
    paths = set()
    for route in client.app.router.routes():
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path")
        if (
            route.method == "GET"
            and path
            and (path.startswith("/api/v1/admin") or path.startswith("/console"))
        ):
            paths.add(path)
    async with world.services.db.session() as db:
        users = list((await db.execute(select(ChatUser))).scalars())
    for user in users:
        paths.add(f"/api/v1/admin/conversations/{user.channel}/{user.external_id}")
    for person in world.trainees.values():
        paths.add(f"/api/v1/admin/trainees/{person.id}/chats")
    await sign_in(client, ADMIN_TOKEN)
    for path in sorted(paths):
        resp = await client.get(path, headers=auth if path.startswith("/api") else None)
        seen.append((f"{path} {resp.status}", readable(await resp.read(), resp.content_type)))
        if path.endswith("/export") or "publicity" in path:  # both forms of a downloadable list
            for fmt in ("xlsx", "csv"):
                resp = await client.get(path, params={"format": fmt}, headers=auth)
                seen.append(
                    (f"{path}?format={fmt} {resp.status}", readable(await resp.read(), resp.content_type))
                )
    return seen


def readable(body: bytes, content_type: str) -> str:
    """The text a person would see in a response: an Excel workbook's cells, else the decoded body."""
    if content_type == XLSX_TYPE:
        book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
        return "\n".join(
            str(cell)
            for sheet in book.worksheets
            for row in sheet.iter_rows(values_only=True)
            for cell in row
        )
    return body.decode("utf-8-sig", errors="replace")


async def test_no_full_number_anywhere_after_binding_on_every_channel(
    world: World, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await bind_everywhere(world, client)
    secrets = secrets_of(world)
    found: list[str] = []
    async with world.services.db.session() as db:
        for table in Base.metadata.sorted_tables:
            rows = (await db.execute(select(table))).mappings().all()
            for row in rows:
                for column, value in row.items():
                    if value is None or (table.name, column) in ALLOWED:
                        continue
                    for secret in hits(str(value), secrets):
                        found.append(f"db {table.name}.{column}: {secret[:6]}…")
    log_text = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    found += [f"log: {s[:6]}…" for s in hits(log_text, secrets)]
    pages = await staff_pages(client, world)
    assert len(pages) > 20
    for what, body in pages:
        found += [f"{what}: {s[:6]}…" for s in hits(body, secrets)]
    assert found == []
    # The sweep really saw the conversations (masked forms are there).
    joined = "\n".join(body for _, body in pages)
    zhang = world.trainees["zhang"]
    assert zhang.id_card[:6] + "********" + zhang.id_card[-4:] in joined
