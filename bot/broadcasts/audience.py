"""Who a broadcast reaches: the audience filters, the sender's scope, the preview counts.

One SQL query selects the recipients (chat accounts) for both the preview and
the fan-out, so what staff are shown before sending is what gets sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, cast, exists, func, literal, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from bot.auth import Principal, forbidden, region_level, region_prefix
from bot.errors import ApiError
from bot.outbox.config import load_config as load_delivery_config
from bot.policy.params import get_policy
from bot.staff.scope import enrolled_in, institution_scope, trainee_scope
from bot.texts import Texts
from models import ChatUser, Claim, Institution, Trainee, TrainingClass
from models.claims import CLAIM_STATES

TARGETS = ("trainees", "institutions")
# Channels that can receive a pushed notice. The web channel and the terminal
# console only answer requests, so nothing sent later could reach them.
PUSH_CHANNELS = ("wechat", "telegram")
AUDIENCE_FIELDS = ("region", "institution_id", "class_id", "group", "claim_state", "channel")
TRAINEE_ONLY_FIELDS = ("group", "claim_state")


def api_error(status: int, code: str, texts: Texts, key: str, **fmt: Any) -> ApiError:
    return ApiError(status, code, texts.get(f"console.errors.{key}", **fmt))


@dataclass(frozen=True)
class Audience:
    """Who a notice goes to; every filter narrows, and the sender's scope always applies."""

    target: str = "trainees"
    region: str | None = None
    institution_id: int | None = None
    class_id: int | None = None
    group: str | None = None
    claim_state: str | None = None
    channel: str | None = None

    def filters(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in AUDIENCE_FIELDS if getattr(self, k) is not None}


def _int_or_none(raw: dict[str, Any], key: str, texts: Texts) -> int | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise api_error(400, "invalid_audience", texts, "audience_id", field=key)
    if isinstance(value, str):
        if not value.strip().isdigit():
            raise api_error(400, "invalid_audience", texts, "audience_id", field=key)
        value = int(value)
    if not 0 < value < 2**31:
        raise api_error(400, "invalid_audience", texts, "audience_id", field=key)
    return value


def _str_or_none(raw: dict[str, Any], key: str, texts: Texts) -> str | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise api_error(400, "invalid_audience", texts, "audience_text", field=key)
    return value.strip() or None


def parse_audience(target: Any, raw: Any, texts: Texts) -> Audience:
    """The audience of a request body; 400 naming the field that is wrong."""
    if target is None or target == "":
        target = "trainees"
    if target not in TARGETS:
        raise api_error(400, "invalid_target", texts, "target")
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise api_error(400, "invalid_audience", texts, "audience_object")
    unknown = sorted(set(raw) - set(AUDIENCE_FIELDS))
    if unknown:
        raise api_error(400, "invalid_audience", texts, "audience_unknown", fields="、".join(unknown))
    audience = Audience(
        target=target,
        region=_str_or_none(raw, "region", texts),
        institution_id=_int_or_none(raw, "institution_id", texts),
        class_id=_int_or_none(raw, "class_id", texts),
        group=_str_or_none(raw, "group", texts),
        claim_state=_str_or_none(raw, "claim_state", texts),
        channel=_str_or_none(raw, "channel", texts),
    )
    if audience.region is not None and region_level(audience.region) is None:
        raise api_error(400, "invalid_audience", texts, "audience_region")
    if audience.group is not None and audience.group not in get_policy().group_ids:
        raise api_error(400, "invalid_audience", texts, "audience_group")
    if audience.claim_state is not None and audience.claim_state not in CLAIM_STATES:
        raise api_error(400, "invalid_audience", texts, "audience_claim_state")
    if audience.channel is not None and audience.channel not in PUSH_CHANNELS:
        raise api_error(400, "invalid_audience", texts, "audience_channel")
    if target == "institutions":
        misplaced = [k for k in TRAINEE_ONLY_FIELDS if getattr(audience, k) is not None]
        if misplaced:
            fields = "、".join(misplaced)
            raise api_error(400, "invalid_audience", texts, "audience_trainee_only", fields=fields)
    return audience


async def check_audience(db: AsyncSession, principal: Principal, audience: Audience, texts: Texts) -> None:
    """404 for an unknown id (as everywhere in the staff API), 403 for a region,
    institution or class outside the sender's scope."""
    if audience.region is not None and not principal.is_province:
        wanted = region_prefix(audience.region)
        if principal.is_operator:
            inst = await db.get(Institution, principal.institution_id)
            if inst is None or not inst.region_code.startswith(wanted):
                raise forbidden(texts.get("console.errors.out_of_scope"))
        elif not wanted.startswith(principal.prefix):
            raise forbidden(texts.get("console.errors.out_of_scope"))
    if audience.institution_id is not None:
        inst = await db.get(Institution, audience.institution_id)
        if inst is None:
            raise api_error(404, "unknown_institution", texts, "unknown_institution")
        if not principal.covers(region_code=inst.region_code, institution_id=inst.id):
            raise forbidden(texts.get("console.errors.out_of_scope"))
    if audience.class_id is not None:
        klass = await db.get(TrainingClass, audience.class_id)
        if klass is None:
            raise api_error(404, "unknown_class", texts, "unknown_class")
        if not principal.covers(region_code=klass.region_code, institution_id=klass.institution_id):
            raise forbidden(texts.get("console.errors.out_of_scope"))


def _has_group(group: str, dialect: str) -> ColumnElement[bool]:
    if dialect == "postgresql":
        return Trainee.groups.op("@>")(cast(literal(json.dumps([group])), JSONB))  # type: ignore[no-any-return]
    each = func.json_each(Trainee.groups).table_valued("value")
    return exists(select(literal(1)).select_from(each).where(each.c.value == group))


def _trainee_filters(audience: Audience, dialect: str) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if audience.region is not None:
        prefix = region_prefix(audience.region)
        conds.append(
            or_(
                Trainee.region_code.like(f"{prefix}%"),
                enrolled_in(TrainingClass.region_code.like(f"{prefix}%")),
            )
        )
    if audience.institution_id is not None:
        conds.append(enrolled_in(TrainingClass.institution_id == audience.institution_id))
    if audience.class_id is not None:
        conds.append(enrolled_in(TrainingClass.id == audience.class_id))
    if audience.group is not None:
        conds.append(_has_group(audience.group, dialect))
    if audience.claim_state is not None:
        claim = [Claim.trainee_id == Trainee.id, Claim.state == audience.claim_state]
        if audience.class_id is not None:
            claim.append(Claim.class_id == audience.class_id)
        elif audience.institution_id is not None:
            claim.append(
                Claim.class_id.in_(
                    select(TrainingClass.id).where(TrainingClass.institution_id == audience.institution_id)
                )
            )
        conds.append(exists(select(Claim.id).where(*claim)))
    return conds


def _institution_filters(audience: Audience) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if audience.region is not None:
        conds.append(Institution.region_code.like(f"{region_prefix(audience.region)}%"))
    if audience.institution_id is not None:
        conds.append(Institution.id == audience.institution_id)
    if audience.class_id is not None:
        conds.append(
            Institution.id.in_(
                select(TrainingClass.institution_id).where(TrainingClass.id == audience.class_id)
            )
        )
    return conds


def recipients_query(audience: Audience, principal: Principal, dialect: str, *columns: Any) -> Select[Any]:
    """SELECT `columns` FROM the chat users this audience reaches within the principal's scope."""
    base = [ChatUser.channel.in_(PUSH_CHANNELS)]
    if audience.channel is not None:
        base.append(ChatUser.channel == audience.channel)
    if audience.target == "institutions":
        return (
            select(*columns)
            .select_from(ChatUser)
            .join(Institution, Institution.id == ChatUser.institution_id)
            .where(*base, institution_scope(principal), *_institution_filters(audience))
        )
    return (
        select(*columns)
        .select_from(ChatUser)
        .join(Trainee, Trainee.id == ChatUser.trainee_id)
        .where(*base, trainee_scope(principal), *_trainee_filters(audience, dialect))
    )


def dialect_of(db: AsyncSession) -> str:
    return db.bind.dialect.name


async def preview(
    db: AsyncSession, principal: Principal, audience: Audience, now: datetime
) -> dict[str, Any]:
    """How many chat accounts a notice would reach, per channel, before anything is sent."""
    # The same window the dispatcher applies (config/outbox.yaml), so the estimate matches delivery.
    wechat = load_delivery_config().channels.wechat
    window = now - timedelta(hours=wechat.service_window_hours, minutes=-wechat.service_window_margin_minutes)
    outside = and_(
        ChatUser.channel == "wechat",
        ChatUser.reachable.is_(True),
        or_(ChatUser.last_inbound_at.is_(None), ChatUser.last_inbound_at < window),
    )
    query = recipients_query(
        audience,
        principal,
        dialect_of(db),
        ChatUser.channel,
        func.count(),
        func.count(ChatUser.id).filter(ChatUser.reachable.is_(False)),
        func.count(ChatUser.id).filter(outside),
    ).group_by(ChatUser.channel)
    by_channel: dict[str, dict[str, int]] = {}
    for channel, total, unreachable, out_of_window in (await db.execute(query)).all():
        by_channel[channel] = {
            "recipients": int(total),
            "reachable": int(total) - int(unreachable),
            "unreachable": int(unreachable),
            "outside_window": int(out_of_window),
        }
    total = sum(c["recipients"] for c in by_channel.values())
    unreachable = sum(c["unreachable"] for c in by_channel.values())
    return {
        "target": audience.target,
        "audience": audience.filters(),
        "recipients": total,
        "reachable": total - unreachable,
        "unreachable": unreachable,
        "by_channel": {ch: by_channel[ch] for ch in PUSH_CHANNELS if ch in by_channel},
    }
