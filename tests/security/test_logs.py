"""Item 4 of issue 12: no ID-card number or phone in the server log, at any level."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.exc import DBAPIError

from bot.services import Services
from models import Message
from tests.claims.conftest import World
from tests.conftest import ChatDriver


async def test_debug_log_of_a_binding_holds_no_number(
    world: World, trainee_chat: ChatDriver, caplog: pytest.LogCaptureFixture
) -> None:
    zhang = world.trainees["zhang"]
    caplog.set_level(logging.DEBUG)
    logging.getLogger("test.privacy").debug("user said %s", f"绑定 {zhang.id_card} {zhang.phone}")
    await trainee_chat.say(f"绑定 {zhang.id_card} {zhang.phone}")
    assert "绑定成功" in trainee_chat.text
    try:
        raise ValueError(f"bad input {zhang.id_card}")
    except ValueError:
        logging.getLogger("test.privacy").exception("failed on %s", zhang.phone)
    text = caplog.text + "\n".join(r.getMessage() for r in caplog.records)
    assert "user said" in text and "bad input" in text
    assert zhang.id_card not in text and zhang.phone not in text


async def test_database_errors_hide_statement_parameters(world: World, services: Services) -> None:
    zhang = world.trainees["zhang"]
    with pytest.raises(DBAPIError) as caught:
        async with services.db.session() as db:
            db.add(
                Message(chat_user_id=987654321, direction="in", text=f"绑定 {zhang.id_card} {zhang.phone}")
            )
    assert zhang.id_card not in str(caught.value) and zhang.phone not in str(caught.value)
    assert "hidden" in str(caught.value)
