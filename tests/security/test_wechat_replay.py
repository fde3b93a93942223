"""Item 3 of issue 12: a captured plaintext-mode callback URL cannot be replayed with a forged body,
and a bound trainee's personal data never rides in a plaintext passive reply."""

from __future__ import annotations

import logging
import time

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.services import Services
from models import ChatUser, OutboxMessage
from tests.channels.conftest import (  # noqa: F401 - fixtures
    fake_telegram,
    fake_wechat,
    post_plain,
    settings_overrides,
    signed_query,
    text_xml,
)


async def test_stale_timestamp_is_refused(client: TestClient) -> None:
    old = signed_query(timestamp=str(int(time.time()) - 3600))
    status, body = await post_plain(client, text_xml("o-ann", "你好", 7100000000000000001), old)
    assert status == 403 and "stale_request" in body
    future = signed_query(timestamp=str(int(time.time()) + 3600))
    status, _ = await post_plain(client, text_xml("o-ann", "你好", 7100000000000000002), future)
    assert status == 403
    status, _ = await post_plain(client, text_xml("o-ann", "你好", 7100000000000000003))
    assert status == 200


async def test_a_used_url_with_another_body_is_refused(client: TestClient) -> None:
    query = signed_query()
    first = text_xml("o-ann", "你好", 7100000000000000011)
    status, _ = await post_plain(client, first, query)
    assert status == 200
    # WeChat's retry: same URL, same body - answered (deduped by the inbox), not refused.
    status, _ = await post_plain(client, first, query)
    assert status == 200
    # A forged body for another openid on the captured URL.
    status, body = await post_plain(client, text_xml("o-victim", "我的补贴", 7100000000000000012), query)
    assert status == 403 and "replayed_request" in body


async def test_bound_user_gets_no_personal_passive_reply_in_plaintext(
    client: TestClient, services: Services
) -> None:
    from models import Trainee

    async with services.db.session() as db:
        trainee = Trainee(
            name="王芳",
            id_card_hash="h" * 64,
            id_card_masked="220102********0012",
            phone="13900000000",
            region_code="220102",
        )
        db.add(trainee)
        await db.flush()
        db.add(ChatUser(channel="wechat", external_id="o-bound", trainee_id=trainee.id))
    status, body = await post_plain(client, text_xml("o-bound", "我的出勤", 7100000000000000021))
    assert status == 200 and body == "success"
    async with services.db.session() as db:
        user = (await db.execute(select(ChatUser).where(ChatUser.external_id == "o-bound"))).scalar_one()
        queued = list(
            (await db.execute(select(OutboxMessage).where(OutboxMessage.chat_user_id == user.id))).scalars()
        )
    assert queued and queued[0].kind == "reply"
    # An unbound user still gets the quick passive answer.
    status, body = await post_plain(client, text_xml("o-new", "你好", 7100000000000000022))
    assert status == 200 and "<xml>" in body


def test_startup_log_recommends_safe_mode(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    from bot.app import create_app

    caplog.set_level(logging.WARNING)
    create_app(client.app["settings"], nlu=client.app["services"].nlu, migrate=False, scheduler=False)
    assert any("safe mode" in r.getMessage() and "WECHAT_AES_KEY" in r.getMessage() for r in caplog.records)
