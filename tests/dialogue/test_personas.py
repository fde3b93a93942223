"""Forty-odd trainees talk to the screening in their own words (tests/dialogue/personas/*.yaml)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from bot.services import Services
from models import ChatUser
from tests.conftest import ChatDriver

from .runner import Conversation, Persona, load_personas

TODAY = date(2026, 11, 23)  # the clock fixture's day
PERSONAS = load_personas()


def test_there_are_enough_personas() -> None:
    assert len(PERSONAS) >= 40
    assert len({p.id for p in PERSONAS}) == len(PERSONAS)


@pytest.mark.parametrize("persona", PERSONAS, ids=[p.id for p in PERSONAS])
async def test_persona(persona: Persona, chat: ChatDriver, services: Services) -> None:
    conversation = Conversation(persona, chat, TODAY)
    outcome = await conversation.run()
    async with services.db.session() as db:
        user = (await db.execute(select(ChatUser).where(ChatUser.external_id == chat.user_id))).scalar_one()
    conversation.check_saved(user.profile or {})
    assert outcome.passed, outcome.report()
