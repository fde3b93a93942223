"""The day's reminder plan: fit the wave into each channel's capacity and quota before it goes out.

Runs after the reminder rows of a day are written (the evening run for
tomorrow, the morning run, and the tick when it added sessions). Per
channel it reads the pending reminders of the day, moves the ones the
channel could not deliver in time earlier (`bot.attendance.plan_fill`), and
checks WeChat's limits: who is outside the 48-hour window or past the 5
customer-service messages per interaction (so needs a template message), and
whether the templates and customer-service messages of each send day still
fit the account's daily quotas (`bot.outbox.quotas`). What does not fit is
an alert staff see before the wave (the console's reminder page, a log line
naming the classes), and the plan is kept in `reminder_plans`.

Re-planning only ever moves reminders earlier (a reminder's current due time
is the latest it may go), so running it twice is safe.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.attendance.config import get_attendance_config
from bot.attendance.plan_fill import WaveItem, backward_fill, classes_of, day_start, floor_for, wechat_needs
from bot.outbox.config import DeliveryConfig, delivery_config
from bot.outbox.deadlines import TOO_LATE
from bot.outbox.quotas import daily_quota, used
from bot.services import Services
from models import ChatUser, ClassSession, OutboxMessage, ReminderPlan, TrainingClass

log = logging.getLogger(__name__)

CHANNELS = ("telegram", "wechat")
UPDATE_CHUNK = 5000
ALERT_CLASSES_LOGGED = 10


@dataclass
class PlanSummary:
    channel: str
    reminders: int
    moved: int
    alerts: list[dict[str, Any]]


def session_of(key: str) -> int:
    """The session id in a reminder's key `reminder:{session_id}:{chat_user_id}`."""
    return int(key.split(":")[1])


async def _class_names(db: AsyncSession, session_ids: set[int]) -> tuple[dict[int, int], dict[int, str]]:
    classes: dict[int, int] = {}
    names: dict[int, str] = {}
    ids = sorted(session_ids)
    for start in range(0, len(ids), UPDATE_CHUNK):
        rows = await db.execute(
            select(ClassSession.id, TrainingClass.id, TrainingClass.name)
            .join(TrainingClass, TrainingClass.id == ClassSession.class_id)
            .where(ClassSession.id.in_(ids[start : start + UPDATE_CHUNK]))
        )
        for sid, cid, name in rows.all():
            classes[sid] = cid
            names[cid] = name
    return classes, names


async def _pending(db: AsyncSession, day: date, tz: Any) -> list[Any]:
    start = day_start(day, tz)
    return list(
        (
            await db.execute(
                select(
                    OutboxMessage.id,
                    OutboxMessage.idempotency_key,
                    OutboxMessage.due_at,
                    OutboxMessage.deadline_at,
                    OutboxMessage.template.is_not(None).label("has_template"),
                    ChatUser.id.label("user_id"),
                    ChatUser.channel,
                    ChatUser.last_inbound_at,
                )
                .join(ChatUser, ChatUser.id == OutboxMessage.chat_user_id)
                .where(
                    OutboxMessage.kind == "reminder",
                    OutboxMessage.status == "pending",
                    OutboxMessage.deadline_at >= start,
                    OutboxMessage.deadline_at < start + timedelta(days=1),
                    ChatUser.channel.in_(CHANNELS),
                )
            )
        ).all()
    )


async def _service_used(db: AsyncSession, now: datetime, window: timedelta) -> dict[int, int]:
    """Customer-service messages each WeChat user got since their last message (the 5-per-interaction cap)."""
    rows = await db.execute(
        select(OutboxMessage.chat_user_id, func.count())
        .join(ChatUser, ChatUser.id == OutboxMessage.chat_user_id)
        .where(
            ChatUser.channel == "wechat",
            OutboxMessage.status == "sent",
            OutboxMessage.delivery == "message",
            OutboxMessage.sent_at > now - window,
            OutboxMessage.sent_at > ChatUser.last_inbound_at,
        )
        .group_by(OutboxMessage.chat_user_id)
    )
    return {user: int(n) for user, n in rows.all()}


async def _move(db: AsyncSession, moved: dict[int, datetime]) -> None:
    by_due: dict[datetime, list[int]] = defaultdict(list)
    for row_id, due in moved.items():
        by_due[due].append(row_id)
    for due, ids in by_due.items():
        for start in range(0, len(ids), UPDATE_CHUNK):
            await db.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id.in_(ids[start : start + UPDATE_CHUNK]), OutboxMessage.status == "pending"
                )
                .values(due_at=due)
                .execution_options(synchronize_session=False)
            )


def _alert(
    kind: str, needed: int, available: int, items: list[WaveItem], names: dict[int, str]
) -> dict[str, Any]:
    return {"kind": kind, "needed": needed, "available": available, "classes": classes_of(items, names)}


async def _quota_alerts(
    db: AsyncSession,
    config: DeliveryConfig,
    per_day: dict[date, list[WaveItem]],
    counter: str,
    kind: str,
    names: dict[int, str],
) -> tuple[list[dict[str, Any]], int | None]:
    alerts: list[dict[str, Any]] = []
    left_first: int | None = None
    quota = daily_quota(config, "wechat", counter)
    if quota is None:
        return alerts, None
    for send_day in sorted(per_day):
        items = per_day[send_day]
        left = max(0, quota - (await used(db, "wechat", send_day)).get(counter, 0))
        left_first = left if left_first is None else left_first
        if len(items) > left:
            # The ones past the quota in sending order are the ones that will not arrive.
            alerts.append(_alert(kind, len(items), left, items[left:], names) | {"day": send_day.isoformat()})
    return alerts, left_first


async def plan_day(services: Services, day: date) -> list[PlanSummary]:
    """Plan the pending reminders of sessions on `day` (see the module docstring); one summary per channel."""
    cfg = get_attendance_config().planning
    config = delivery_config(services)
    tz = services.clock.tz
    now = services.clock.now()
    wechat = config.channels.wechat
    window = timedelta(hours=wechat.service_window_hours) - timedelta(
        minutes=wechat.service_window_margin_minutes
    )
    summaries: list[PlanSummary] = []
    async with services.db.session() as db:
        rows = await _pending(db, day, tz)
        class_of, names = await _class_names(db, {session_of(r.idempotency_key) for r in rows})
        by_channel: dict[str, list[WaveItem]] = defaultdict(list)
        inbound: dict[int, datetime | None] = {}
        for r in rows:
            by_channel[r.channel].append(
                WaveItem(
                    row_id=r.id,
                    channel=r.channel,
                    chat_user_id=r.user_id,
                    class_id=class_of.get(session_of(r.idempotency_key), 0),
                    chosen=r.due_at,
                    deadline=r.deadline_at,
                    floor=floor_for(r.deadline_at, cfg, tz, r.due_at),
                    has_template=bool(r.has_template),
                )
            )
            inbound[r.user_id] = r.last_inbound_at
        for channel in CHANNELS:
            items = by_channel.get(channel, [])
            pacing = config.pacing(channel)
            fill = backward_fill(items, pacing.plan_capacity(), pacing.send_seconds, now)
            await _move(db, fill.moved)
            alerts: list[dict[str, Any]] = []
            if fill.at_risk:
                alerts.append(
                    _alert("capacity", len(items), len(items) - len(fill.at_risk), fill.at_risk, names)
                )
            templates_needed, templates_left = 0, None
            if channel == "wechat" and items:
                needs = wechat_needs(
                    items,
                    inbound,
                    await _service_used(db, now, window),
                    window=window,
                    per_interaction=wechat.service_messages_per_interaction,
                    tz=tz,
                )
                templates_needed = sum(len(v) for v in needs.templates.values())
                found, templates_left = await _quota_alerts(
                    db, config, needs.templates, "template", "template_quota", names
                )
                alerts += found
                found, _ = await _quota_alerts(db, config, needs.service, "message", "service_quota", names)
                alerts += found
            # Only the last plan of a day and channel is kept.
            await db.execute(
                delete(ReminderPlan).where(ReminderPlan.day == day, ReminderPlan.channel == channel)
            )
            await db.flush()
            plan = ReminderPlan(
                day=day,
                channel=channel,
                reminders=len(items),
                moved=len(fill.moved),
                capacity_per_minute=pacing.plan_capacity() * 60,
                first_due_at=min((i.planned or i.chosen for i in items), default=None),
                templates_needed=templates_needed,
                templates_left=templates_left,
                alerts=alerts,
                planned_at=now,
            )
            db.add(plan)
            summaries.append(PlanSummary(channel, len(items), len(fill.moved), alerts))
            _log(day, channel, len(items), len(fill.moved), alerts)
    return summaries


def _log(day: date, channel: str, reminders: int, moved: int, alerts: list[dict[str, Any]]) -> None:
    if reminders:
        log.info("reminder plan %s %s: %d reminders, %d moved earlier", day, channel, reminders, moved)
    for alert in alerts:
        classes = alert["classes"]
        named = ", ".join(f"{c['name']} ({c['reminders']})" for c in classes[:ALERT_CLASSES_LOGGED])
        more = len(classes) - ALERT_CLASSES_LOGGED
        log.warning(
            "ALERT reminder plan %s %s: %s does not fit (%d needed, %d available); classes affected: %s%s",
            day,
            channel,
            alert["kind"],
            alert["needed"],
            alert["available"],
            named,
            f" and {more} more" if more > 0 else "",
        )


async def latest_plans(db: AsyncSession, days: list[date]) -> list[ReminderPlan]:
    rows = await db.execute(
        select(ReminderPlan)
        .where(ReminderPlan.day.in_(days))
        .order_by(ReminderPlan.day, ReminderPlan.channel)
    )
    return list(rows.scalars())


async def dropped_by_class(db: AsyncSession, day: date, tz: Any) -> list[dict[str, Any]]:
    """Reminders of `day` not sent because the class had begun: a count per class (for staff)."""
    start = day_start(day, tz)
    keys = (
        await db.execute(
            select(OutboxMessage.idempotency_key).where(
                and_(
                    OutboxMessage.kind == "reminder",
                    OutboxMessage.status == "skipped",
                    OutboxMessage.delivery == TOO_LATE,
                    OutboxMessage.deadline_at >= start,
                    OutboxMessage.deadline_at < start + timedelta(days=1),
                )
            )
        )
    ).scalars()
    sessions = [session_of(k) for k in keys]
    class_of, names = await _class_names(db, set(sessions))
    counts: dict[int, int] = defaultdict(int)
    for sid in sessions:
        counts[class_of.get(sid, 0)] += 1
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [{"id": cid, "name": names.get(cid, "?"), "dropped": n} for cid, n in ordered]
