"""Shared helpers of the eligibility and information dialogue tests."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.policy import get_policy
from bot.policy.eligibility import assess
from bot.policy.schema.questions import PROFILE_FIELDS
from bot.services import Services
from bot.settings import CONFIG_DIR
from models import ChatUser, ConversationState, Institution, TrainingClass
from tests.conftest import ChatDriver

MESSAGES = yaml.safe_load((CONFIG_DIR / "messages" / "eligibility.yaml").read_text(encoding="utf-8"))
RESULT = MESSAGES["result"]
_codes = itertools.count(1)


async def chat_user(services: Services, chat: ChatDriver) -> ChatUser:
    async with services.db.session() as db:
        return (
            await db.execute(
                select(ChatUser).where(ChatUser.channel == "web", ChatUser.external_id == chat.user_id)
            )
        ).scalar_one()


async def state_of(services: Services, chat: ChatDriver) -> ConversationState:
    user = await chat_user(services, chat)
    async with services.db.session() as db:
        state = await db.get(ConversationState, user.id)
        assert state is not None
        return state


async def answers_of(services: Services, chat: ChatDriver) -> dict[str, Any]:
    """The screening answers saved on the user's profile (contract field names only)."""
    user = await chat_user(services, chat)
    return {k: v for k, v in (user.profile or {}).items() if k in PROFILE_FIELDS}


def _state(value: bool | None) -> str:
    return RESULT["subsidy_state"]["null" if value is None else str(value).lower()]


def assert_result_matches(text: str, profile: dict[str, Any], as_of: date) -> None:
    """The chat's result says what the policy engine says for the same answers, with articles."""
    result = assess(profile, as_of)
    pol = get_policy()
    key = "null" if result.eligible is None else str(result.eligible).lower()
    assert RESULT["header"][key] in text
    assert "吉人社规〔2024〕3号" in text
    for reason in result.reasons:
        if reason.id == "identity_at_class_end" or reason.id.split("_")[0] in pol.subsidies.subsidies:
            continue
        assert f"{reason.text}（{reason.article}）" in text, reason.id
    if result.eligible is True:
        for sid, sub in result.subsidies.items():
            param = pol.subsidies.subsidies[sid]  # type: ignore[index]
            assert f"{param.name}（{param.citation}）：{_state(sub.eligible)}" in text, sid
        for need in result.document_needs:
            if need.provided_by == "trainee":
                assert f"{need.text}（{need.citation}）" in text
    if result.eligible is not False:
        assert "第四条" in text  # where to apply
    assert "身份以培训班结束时为准" in text or "以结束时为准" in text
    assert "初步筛查" in text and "不是正式认定" in text


async def add_class(
    db: AsyncSession,
    *,
    occupation: str,
    region_code: str,
    start: date,
    end: date,
    status: str = "approved",
    institution_status: str = "active",
    code: str | None = None,
    name: str | None = None,
) -> TrainingClass:
    """A designated institution with one class, as the real-name system would import them."""
    code = code or f"T-{next(_codes):04d}"
    inst = Institution(
        code=f"I-{code}",
        name=f"{occupation}测试培训学校{region_code}",
        region_code=region_code,
        status=institution_status,
        contact_phone="0431-88880000",
        address="测试路1号",
    )
    db.add(inst)
    await db.flush()
    klass = TrainingClass(
        code=code,
        name=name or f"{occupation}(五级)培训班",
        occupation=occupation,
        institution_id=inst.id,
        region_code=region_code,
        training_type="key_group",
        status=status,
        start_date=start,
        end_date=end,
        planned_hours=Decimal(60),
        address="测试路1号 201室",
    )
    db.add(klass)
    await db.flush()
    return klass


async def details(chat: ChatDriver) -> str:
    """The short verdict fits a phone; "详细说说" gives the full cited reasoning, which is returned."""
    assert RESULT["short_more"] in chat.text
    assert len(chat.text) <= 200, chat.text
    assert RESULT["details_label"] in chat.choices
    await chat.say(RESULT["details_label"])
    return chat.text
