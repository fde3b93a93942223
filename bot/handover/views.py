"""How hand-overs and transcript lines look in JSON (the staff API and the console's polling)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.handover.config import HandoverConfig
from bot.handover.inbox import InboxRow, Line
from bot.staff.http import iso_time
from models import Handover


def line_json(line: Line, tz: Any) -> dict[str, Any]:
    """A transcript line as the contract shows it; staff replies carry `staff` and `delivery`."""
    out: dict[str, Any] = {"direction": line.direction, "text": line.text, "at": iso_time(line.at, tz)}
    if line.staff is not None:
        out["staff"] = line.staff
    if line.delivery is not None:
        out["delivery"] = line.delivery
    return out


def waiting_minutes(handover: Handover, now: datetime) -> int:
    return max(0, int((now - handover.opened_at).total_seconds() // 60))


def handover_json(handover: Handover, config: HandoverConfig, tz: Any, now: datetime) -> dict[str, Any]:
    return {
        "id": handover.id,
        "state": handover.state,
        "region_code": handover.region_code,
        "region_name": config.region_name(handover.region_code),
        "province_queue": handover.region_code is None,
        "opened_at": iso_time(handover.opened_at, tz),
        "waiting_minutes": waiting_minutes(handover, now),
        "holder": handover.holder_name if handover.state == "held" else None,
        "last_staff_reply_at": iso_time(handover.last_staff_reply_at, tz),
        "ended_reason": handover.ended_reason,
    }


def inbox_json(row: InboxRow, config: HandoverConfig, tz: Any, now: datetime) -> dict[str, Any]:
    return {
        **handover_json(row.handover, config, tz, now),
        "chat_user_id": row.user.id,
        "channel": row.user.channel,
        "external_id": row.user.external_id,
        "name": row.name,
        "last_text": row.last_text,
    }
