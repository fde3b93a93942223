"""A send whose outcome is unknown is not blindly repeated; WeChat tokens refresh without forcing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import aiohttp
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.clock import FrozenClock
from bot.outbox import get_dispatcher
from bot.outbox.config import TemplatesConfig, load_templates
from bot.outbox.tokens import DbTokenStore
from bot.outbox.wechat_api import WeChatApi
from bot.services import Services
from models import ChatUser, OutboxMessage
from tests.channels.conftest import tune
from tests.outbox.conftest import add, make_users, row_values
from tests.outbox.fakes import ClockedWeChat, FloodTelegram

NOTICE = {"template": "notice", "fields": {"title": "2027年春季补贴培训报名开始", "date": "2027-02-20"}}


async def only_row(services: Services) -> OutboxMessage:
    async with services.db.session() as db:
        return (await db.execute(select(OutboxMessage))).scalar_one()


async def test_a_timed_out_send_waits_long_then_is_tried_once_more(
    client: TestClient, services: Services, fake_telegram: FloodTelegram, clock: FrozenClock
) -> None:
    tune(services, dispatcher={"request_timeout_seconds": 0.3})
    (user,) = await make_users(services, "telegram", 1)
    await add(services, [row_values(user, "notice", "reminder", clock.now())])
    fake_telegram.answer_late_next(0.8)  # Telegram takes the message but answers after the client gave up
    stats = await get_dispatcher(services).run(budget=15)
    await asyncio.sleep(1.0)
    row = await only_row(services)
    wait = get_dispatcher(services).config.retry.unknown_retry_seconds
    assert stats.unknown == 1 and row.status == "pending" and row.delivery == "unknown"
    assert row.unknown_outcomes == 1 and row.due_at == clock.now() + timedelta(seconds=wait)
    assert len(fake_telegram.to(str(1000))) == 1
    # Not again at once (that is how a slow answer became a duplicate) ...
    await get_dispatcher(services).run(budget=2)
    assert len(fake_telegram.to(str(1000))) == 1
    # ... once more after the long delay; a second unknown is a dead letter staff can look at.
    clock.advance(timedelta(seconds=wait))
    fake_telegram.answer_late_next(0.8)
    await get_dispatcher(services).run(budget=15)
    row = await only_row(services)
    assert row.status == "dead" and "unknown twice" in (row.last_error or "")
    assert row.unknown_outcomes == 1 and row.attempts == 2


async def test_a_template_retried_after_a_timeout_carries_the_rows_id_and_arrives_once(
    client: TestClient, services: Services, fake_wechat: ClockedWeChat, clock: FrozenClock
) -> None:
    tune(services, dispatcher={"request_timeout_seconds": 0.3})
    data = load_templates().model_dump()
    data["templates"]["notice"]["template_id"] = "TPL-NOTICE-001"
    services.extra["wechat_templates"] = TemplatesConfig.model_validate(data)
    (user,) = await make_users(services, "wechat", 1)
    row = row_values(user, "notice", "broadcast", clock.now(), template=NOTICE)
    await add(services, [row])
    async with services.db.session() as db:  # the 48-hour window closed long ago
        await db.execute(
            ChatUser.__table__.update()
            .where(ChatUser.id == user)
            .values(last_inbound_at=clock.now() - timedelta(days=5))
        )
    fake_wechat.answer_late_next(0.8)
    await get_dispatcher(services).run(budget=15)
    await asyncio.sleep(1.0)
    clock.advance(timedelta(seconds=get_dispatcher(services).config.retry.unknown_retry_seconds))
    await get_dispatcher(services).run(budget=15)
    assert (await only_row(services)).status == "sent"
    assert [t["client_msg_id"] for t in fake_wechat.templates] == [f"outbox-{(await only_row(services)).id}"]
    assert fake_wechat.deduplicated == 1  # the retry reached WeChat and was recognised


async def test_a_day_of_token_refreshes_forces_none(
    client: TestClient, services: Services, fake_wechat: ClockedWeChat, clock: FrozenClock
) -> None:
    fake_wechat.per_second = 1_000_000  # simulated time: only the day's token life matters here
    async with aiohttp.ClientSession() as session:
        processes = [
            WeChatApi(
                session,
                base=fake_wechat.base,  # type: ignore[attr-defined]
                app_id=fake_wechat.app_id,
                app_secret=fake_wechat.app_secret,
                store=DbTokenStore(services.db, clock, "wechat:test"),
                clock=clock,
            )
            for _ in range(3)
        ]
        for minute in range(24 * 60):
            clock.advance(timedelta(minutes=1))
            api = processes[minute % 3]
            if minute % 7 == 0:
                await api.send_text("openid-1", f"第{minute}分钟")
            else:
                await api.token()
        assert fake_wechat.forced() == 0 and fake_wechat.errors == []
        normal = len(fake_wechat.token_requests)
        # 12 tokens a day; at most one normal call a minute per process in a token's last minutes.
        assert 12 <= normal <= 12 * 3 * 6, normal
        # A token WeChat refused (reset elsewhere) is replaced in normal mode too: still none forced.
        fake_wechat.invalidate_tokens()
        await processes[0].send_text("openid-1", "再来一条")
        assert fake_wechat.forced() == 0 and fake_wechat.to("openid-1")[-1] == "再来一条"
