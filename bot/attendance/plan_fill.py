"""The reminder wave's arithmetic, free of the database: where each reminder may go, and who needs a template.

Shared by the morning plan (`bot.attendance.planning`) and the wave
simulation (bench/bench_reminder_wave.py), so the benchmark measures the
very rules the service applies.

The channel's capacity for reminders (`plan_capacity_per_second`, for the
whole bot) is cut into minutes. Reminders are placed latest first, each in
the latest minute that still has room and is not after its latest moment
(the time its person chose, or the class start less the send time): a
backward fill. A reminder whose own minute has room keeps its time; the
others move earlier, to the start of the minute they got. One that would
have to go before its floor (06:00 on the day, the evening before for early
classes) is crowded out: it is due at its floor and goes as soon as the
dispatcher's earliest-deadline-first order reaches it, later than chosen.
A forward pass then sends the plan, earliest deadline first, at the same
capacity: the reminders it cannot send before their class starts are the
plan's `at_risk`, reported so staff hear of them before the wave.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from bot.attendance.config import Planning

MINUTE = timedelta(minutes=1)


@dataclass(slots=True)
class WaveItem:
    """One pending reminder as the plan sees it."""

    row_id: int
    channel: str
    chat_user_id: int
    class_id: int
    chosen: datetime  # its due time now: the latest it may go out
    deadline: datetime  # class start
    floor: datetime  # the earliest it may go out
    has_template: bool = True
    planned: datetime | None = None


@dataclass
class FillResult:
    moved: dict[int, datetime] = field(default_factory=dict)  # row id -> new due time
    crowded: list[WaveItem] = field(default_factory=list)  # no room between floor and chosen time
    at_risk: list[WaveItem] = field(default_factory=list)  # would not be sent before class starts


def floor_for(deadline: datetime, cfg: Planning, tz: Any, chosen: datetime | None = None) -> datetime:
    """The earliest moment a session's reminder may go out: the day floor, or the evening before.

    A reminder chosen before the day floor (an institution's "the evening
    before at 20:00") may move within the evening, down to `evening_floor`.
    """
    local = deadline.astimezone(tz)
    evening = datetime.combine(local.date() - timedelta(days=1), cfg.evening_floor, tz)
    day = datetime.combine(local.date(), cfg.day_floor, tz)
    early = local.time() < cfg.evening_for_sessions_before
    floor = evening if cfg.evening_for_all or early or (chosen is not None and chosen < day) else day
    return floor if chosen is None else min(floor, chosen)


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def backward_fill(
    items: list[WaveItem], capacity_per_second: float, send_seconds: float, now: datetime
) -> FillResult:
    """Place one channel's reminders (see the module docstring); sets `planned` on every item."""
    per_minute = max(1, int(capacity_per_second * 60))
    send = timedelta(seconds=send_seconds)
    result = FillResult()

    def latest(item: WaveItem) -> datetime:
        return max(now, min(item.chosen, item.deadline - send))

    cursor: datetime | None = None
    left = 0
    for item in sorted(items, key=lambda i: (latest(i), i.deadline, i.row_id), reverse=True):
        last = latest(item)
        own = _minute(last)
        if cursor is None or own < cursor:
            cursor, left = own, per_minute
        elif left == 0:
            cursor, left = cursor - MINUTE, per_minute
        earliest = max(min(item.floor, item.chosen), now)
        if cursor < _minute(earliest):
            # No room between its floor and its chosen time: due at its floor, sent when reached.
            item.planned = earliest
            result.crowded.append(item)
            if earliest != item.chosen:
                result.moved[item.row_id] = earliest
            continue
        left -= 1
        item.planned = last if cursor == own else max(cursor, earliest)
        if item.planned != item.chosen:
            result.moved[item.row_id] = item.planned
    result.at_risk = forward_check(items, per_minute, send)
    return result


def forward_check(items: list[WaveItem], per_minute: int, send: timedelta) -> list[WaveItem]:
    """Send the plan minute by minute, earliest deadline first: who would miss their class start.

    Counted as sent at the end of its minute, so the check errs on the side of an alert.
    """
    order = sorted(items, key=lambda i: (i.planned or i.chosen, i.row_id))
    waiting: list[tuple[datetime, int, WaveItem]] = []
    risky: list[WaveItem] = []
    index = 0
    minute: datetime | None = None
    while index < len(order) or waiting:
        upcoming = _minute(order[index].planned or order[index].chosen) if index < len(order) else None
        if minute is None or (not waiting and upcoming is not None and upcoming > minute):
            minute = upcoming
        assert minute is not None
        while index < len(order) and (order[index].planned or order[index].chosen) < minute + MINUTE:
            item = order[index]
            heapq.heappush(waiting, (item.deadline, item.row_id, item))
            index += 1
        for _ in range(min(per_minute, len(waiting))):
            _, _, item = heapq.heappop(waiting)
            if minute + MINUTE > item.deadline - send:
                risky.append(item)
        minute += MINUTE
    return risky


@dataclass
class WeChatNeeds:
    """How the planned WeChat reminders will have to go out, per local send day."""

    templates: dict[date, list[WaveItem]] = field(default_factory=dict)
    service: dict[date, list[WaveItem]] = field(default_factory=dict)
    unreachable: list[WaveItem] = field(default_factory=list)  # outside the window, no template


def wechat_needs(
    items: Iterable[WaveItem],
    last_inbound: dict[int, datetime | None],
    service_used: dict[int, int],
    *,
    window: timedelta,
    per_interaction: int,
    tz: Any,
) -> WeChatNeeds:
    """Which planned WeChat reminders can be customer-service messages and which need a template.

    A customer-service message is allowed within `window` of the user's last
    message and only `per_interaction` times per message (WeChat's rule);
    the ones sent since (`service_used`) and the day's earlier reminders of the
    same person count. Walked in planned order, as the dispatcher sends.
    """
    needs = WeChatNeeds()
    counted = dict(service_used)
    for item in sorted(items, key=lambda i: (i.planned or i.chosen, i.deadline, i.row_id)):
        at = item.planned or item.chosen
        inbound = last_inbound.get(item.chat_user_id)
        sent = counted.get(item.chat_user_id, 0)
        day = at.astimezone(tz).date()
        if inbound is not None and at < inbound + window and sent < per_interaction:
            counted[item.chat_user_id] = sent + 1
            needs.service.setdefault(day, []).append(item)
        elif item.has_template:
            needs.templates.setdefault(day, []).append(item)
        else:
            needs.unreachable.append(item)
    return needs


def classes_of(items: Iterable[WaveItem], names: dict[int, str]) -> list[dict[str, Any]]:
    """The classes a list of reminders belongs to, most affected first (for an alert)."""
    counts: dict[int, int] = {}
    for item in items:
        counts[item.class_id] = counts.get(item.class_id, 0) + 1
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [{"id": cid, "name": names.get(cid, str(cid)), "reminders": n} for cid, n in ordered]


def day_start(day: date, tz: Any) -> datetime:
    return datetime.combine(day, time(0, 0), tz)
