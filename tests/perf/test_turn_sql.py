"""The turn's bookkeeping run straight on the inline SQLite driver (bot.turn_sql).

What must hold: the rows a turn writes there are the rows SQLAlchemy would have
written (the console, the exports and the ORM read them: datetimes, JSON and
the transcript's order), a redelivery is still answered from them, and a
database that stays locked answers the API's 503, never a 500 or a lost turn.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, text

from bot.clock import FrozenClock
from bot.services import Services
from bot.settings import Settings
from bot.turn_store import INSERT_OUTBOUND, SELECT_REPLIES
from models import ChatUser, ConversationState, Message, sqlite_inline


async def test_the_turns_rows_read_back_through_the_orm_as_written(
    client: TestClient, services: Services, clock: FrozenClock
) -> None:
    async with services.db.turn() as store:
        # On the embedded file the turn's statements skip SQLAlchemy's execution.
        assert (store.sql.driver is not None) == (services.db.sqlite_path is not None)
    resp = await client.post("/api/v1/chat", json={"user_id": "rows-1", "text": "我能参加补贴培训吗"})
    assert resp.status == 200
    sent = (await resp.json())["replies"]
    async with services.db.session() as db:
        user = (await db.execute(select(ChatUser).where(ChatUser.external_id == "rows-1"))).scalar_one()
        state = await db.get(ConversationState, user.id)
        messages = (
            (await db.execute(select(Message).where(Message.chat_user_id == user.id).order_by(Message.id)))
            .scalars()
            .all()
        )
    now = clock.now()
    assert user.last_inbound_at == now and user.created_at == now
    assert user.reachable is True and user.reminders_enabled is True and "eligibility" in user.profile
    assert state is not None and state.flow == "eligibility" and state.updated_at == now
    assert state.last_choices == sent[-1]["choices"] and state.data
    assert [m.direction for m in messages] == ["in"] + ["out"] * len(sent)
    assert messages[0].text == "我能参加补贴培训吗" and messages[0].choices == []
    assert [m.text for m in messages[1:]] == [r["text"] for r in sent]
    assert [m.choices for m in messages[1:]] == [r["choices"] for r in sent]
    assert all(m.in_reply_to_id == messages[0].id and m.created_at == now for m in messages[1:])
    # The next turn reads the state the first one wrote: the screening goes on.
    resp = await client.post("/api/v1/chat", json={"user_id": "rows-1", "text": sent[-1]["choices"][0]})
    async with services.db.session() as db:
        assert (await db.get(ConversationState, user.id, populate_existing=True)).flow == "eligibility"
        # The datetimes are stored as SQLAlchemy stores them (one format in the file).
        if services.db.is_sqlite:
            stored = (
                (await db.execute(text("SELECT DISTINCT length(created_at) FROM messages"))).scalars().all()
            )
            assert len(stored) == 1


async def test_a_redelivered_wechat_message_id_gets_the_first_answer(
    services: Services, client: TestClient
) -> None:
    engine = client.app["engine"]
    first = await engine.handle("wechat", "o-rows", "补贴标准是多少", platform_msg_id="m-1")
    again = await engine.handle("wechat", "o-rows", "补贴标准是多少", platform_msg_id="m-1")
    assert again.duplicate and [r.text for r in again.replies] == [r.text for r in first.replies]
    assert [r.choices for r in again.replies] == [r.choices for r in first.replies]


async def test_a_database_locked_for_too_long_answers_503_and_keeps_nothing_half_done(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not settings.is_sqlite:
        pytest.skip("SQLite only")
    assert (await client.post("/api/v1/chat", json={"user_id": "lock-1", "text": "你好"})).status == 200
    monkeypatch.setattr(sqlite_inline, "LOCK_DEADLINE_S", 0.2)
    other = sqlite3.connect(Path(settings.db_url.split(":///", 1)[1]), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock throughout
    try:
        resp = await client.post("/api/v1/chat", json={"user_id": "lock-1", "text": "签到"})
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert resp.status == 503
    body = await resp.json()
    assert body["error"]["code"] and "Traceback" not in await resp.text()
    # The next message goes through, and the refused one left nothing behind.
    assert (await client.post("/api/v1/chat", json={"user_id": "lock-1", "text": "谢谢"})).status == 200
    async with client.app["services"].db.session() as db:
        inbound = (
            (
                await db.execute(
                    select(Message.text)
                    .join(ChatUser)
                    .where(ChatUser.external_id == "lock-1", Message.direction == "in")
                )
            )
            .scalars()
            .all()
        )
    assert inbound == ["你好", "谢谢"]


async def test_the_fast_path_stores_and_reads_exactly_what_sqlalchemy_does(
    client: TestClient, services: Services, clock: FrozenClock
) -> None:
    """Byte for byte: the console and the exports compare and sort these columns in SQL."""
    if services.db.sqlite_path is None:
        pytest.skip("the fast path is the embedded SQLite file's")
    beijing = timezone(timedelta(hours=8))
    async with services.db.turn() as store:
        assert store.sql.driver is not None
        user = await store.lock_user("web", "parity-1", clock.now())
        inbound = await store.add_inbound(user.id, "补贴到哪了", None, "claim_status", clock.now())
        row = {
            "chat_user_id": user.id,
            "direction": "out",
            "channel": "web",
            "platform_msg_id": None,
            "in_reply_to_id": inbound,
            "intent": None,
            # An aware non-UTC time and a JSON None: both need SQLAlchemy's conversion.
            "created_at": datetime(2026, 12, 3, 8, 0, 0, 5, tzinfo=beijing),
        }
        await store.conn.execute(INSERT_OUTBOUND, [{**row, "text": "经由SQLAlchemy", "choices": None}])
        await store.sql.execute(INSERT_OUTBOUND, [{**row, "text": "直接写入", "choices": None}])
        await store.conn.execute(
            INSERT_OUTBOUND, [{**row, "text": "经由SQLAlchemy", "choices": ["是", "否"]}]
        )
        await store.sql.execute(INSERT_OUTBOUND, [{**row, "text": "直接写入", "choices": ["是", "否"]}])
        fast = await store.sql.rows(SELECT_REPLIES, {"inbound_id": inbound})
        slow = [tuple(r) for r in (await store.conn.execute(SELECT_REPLIES, {"inbound_id": inbound})).all()]
    assert [choices for _, choices in fast] == [choices for _, choices in slow]
    async with services.db.session() as db:
        stored = (
            await db.execute(
                text(
                    "SELECT text, quote(choices), quote(created_at), typeof(created_at) FROM messages"
                    " WHERE in_reply_to_id = :inbound ORDER BY id"
                ),
                {"inbound": inbound},
            )
        ).all()
    by_sa, direct = stored[0::2], stored[1::2]
    assert [r.text for r in by_sa] == ["经由SQLAlchemy"] * 2 and [r.text for r in direct] == ["直接写入"] * 2
    assert [tuple(r)[1:] for r in direct] == [tuple(r)[1:] for r in by_sa]
    assert by_sa[0][2] == "'2026-12-03 00:00:00.000005'"  # stored as UTC, to the microsecond
