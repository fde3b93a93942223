"""签到, 我的出勤率 and 提醒设置: the trainee's side of attendance (我的班级: class_info.py).

Attendance decides money (第十四条（四）, 第十五条), so answers show the
hours and the rate the law measures, and what is still within reach.
Every handler first needs a bound trainee (`bound_trainee`).
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any, Protocol

from bot.attendance import check_in as chk
from bot.attendance import formatting as fmt
from bot.attendance import service as att
from bot.attendance.config import get_attendance_config
from bot.attendance.preferences import refresh_user_reminders
from bot.policy.attendance import attendance_thresholds
from bot.policy.params import percent
from handlers.base import Context, Flow, on_intent, register_flow
from handlers.common import bound_trainee, reader

K = "attendance."


class Timed(Protocol):
    """A session as the answers show it (a ClassSession, or a check-in row)."""

    @property
    def starts_at(self) -> datetime: ...

    @property
    def ends_at(self) -> datetime: ...


def _session_fields(ctx: Context, session: Timed) -> dict[str, str]:
    tz = ctx.services.clock.tz
    return {
        "day": fmt.day_words(ctx.services.texts, session.starts_at.astimezone(tz).date(), ctx.today),
        "start": fmt.hhmm(session.starts_at, tz),
        "end": fmt.hhmm(session.ends_at, tz),
    }


# --- 签到 ---------------------------------------------------------------


async def _check_in(ctx: Context, trainee_id: int, session: chk.OpenSession) -> None:
    # The turn's own connection (no ORM session): the one write of a check-in is Core too.
    created, record = await chk.record_chat_check_in(reader(ctx), session.id, trainee_id, ctx.now)
    at = fmt.hhmm(record.checked_in_at or record.created_at, ctx.services.clock.tz)
    if not created:
        key = "check_in_already_institution" if record.source == "institution" else "check_in_already"
        ctx.say_key(K + key, at=at)
        return
    key = "check_in_done_late" if ctx.now > session.starts_at else "check_in_done"
    ctx.say_key(K + key, klass=session.class_name, at=at, **_session_fields(ctx, session))


async def _say_next_session(ctx: Context, trainee_id: int) -> None:
    opens = get_attendance_config().check_in.opens_minutes_before
    nxt = await chk.next_session(reader(ctx), trainee_id, ctx.now, opens)
    if nxt is not None:
        ctx.say_key(K + "check_in_closed", klass=nxt.class_name, opens=opens, **_session_fields(ctx, nxt))
    elif await chk.enrolled_classes(reader(ctx), trainee_id):
        ctx.say_key(K + "check_in_no_more", [ctx.t(K + "attendance_button")])
    else:
        ctx.say_key(K + "not_enrolled")


def _pick_labels(open_sessions: list[chk.OpenSession], ctx: Context) -> dict[str, int]:
    """A unique button label per session: the class name, with the time when names repeat."""
    names = [o.class_name for o in open_sessions]
    out: dict[str, int] = {}
    for o in open_sessions:
        label = o.class_name
        if names.count(label) > 1:
            label = f"{label} {fmt.hhmm(o.starts_at, ctx.services.clock.tz)}"
        out[label] = o.id
    return out


@on_intent("check_in")
async def check_in(ctx: Context) -> None:
    trainee = await bound_trainee(ctx)
    if trainee is None:
        return
    opens = get_attendance_config().check_in.opens_minutes_before
    open_sessions = await chk.open_sessions(reader(ctx), trainee.id, ctx.now, opens)
    if not open_sessions:
        await _say_next_session(ctx, trainee.id)
    elif len(open_sessions) == 1:
        await _check_in(ctx, trainee.id, open_sessions[0])
    else:
        await ctx.start_flow("check_in_pick", options=_pick_labels(open_sessions, ctx))


class CheckInPick(Flow):
    """A trainee in two classes whose windows overlap picks the one to check in to."""

    name = "check_in_pick"

    async def start(self, ctx: Context) -> None:
        options: dict[str, int] = ctx.data["options"]
        ctx.say_key(K + "check_in_pick", list(options), n=len(options))

    async def on_message(self, ctx: Context) -> bool:
        session_id = ctx.data.get("options", {}).get(ctx.text)
        if session_id is None:
            return False
        ctx.end_flow()
        trainee = await bound_trainee(ctx)
        if trainee is None:
            return True
        # The answer may come later: the window must still be open now.
        opens = get_attendance_config().check_in.opens_minutes_before
        still_open = [
            o for o in await chk.open_sessions(reader(ctx), trainee.id, ctx.now, opens) if o.id == session_id
        ]
        if still_open:
            await _check_in(ctx, trainee.id, still_open[0])
        else:
            await _say_next_session(ctx, trainee.id)
        return True

    async def reask(self, ctx: Context) -> None:
        ctx.say_key(K + "check_in_pick_reask", list(ctx.data.get("options", {})))


register_flow(CheckInPick())


# --- 我的出勤率 ----------------------------------------------------------


def _reach_line(ctx: Context, kind: str, can_miss: int | None, left: int, fields: dict[str, str]) -> str:
    if can_miss is None:
        return ctx.t(f"{K}{kind}_lost", **fields)
    if left == 0 or can_miss == left:
        return ctx.t(f"{K}{kind}_reached", **fields)
    if can_miss == 0:
        return ctx.t(f"{K}{kind}_no_miss", **fields)
    return ctx.t(f"{K}{kind}_can_miss", n=str(can_miss), **fields)


def attendance_summary(ctx: Context, klass: Any, a: att.TraineeAttendance) -> str:
    """`klass`: anything with the class's `name` (a TrainingClass, or a row)."""
    th = attendance_thresholds()
    fields = {
        "klass": klass.name,
        "attended": fmt.hours(a.attended_hours),
        "planned": fmt.hours(a.planned_hours),
        "rate": fmt.rate(a.rate),
        "left": str(a.sessions_left),
        "held": str(a.sessions_done),
        "present": str(a.sessions_attended),
        "best": fmt.rate(a.best_rate),
        "full_rate": percent(th.full),
        "exam_rate": percent(th.exam_min),
        "exam_article": th.exam_article,
        "share_article": th.share_article,
    }
    so_far = fmt.rate_so_far(a.sessions_attended, a.sessions_done)
    if so_far is None:
        # Before the first session there is no rate to speak of, only what the course allows.
        return ctx.t(K + "attendance_not_started", **fields)
    fields["so_far"] = fmt.rate(so_far)
    head = "attendance_finished_head" if a.sessions_left == 0 else "attendance_head"
    lines = [ctx.t(K + head, **fields)]
    if a.exam_reachable:
        lines.append(_reach_line(ctx, "full", a.can_miss_full, a.sessions_left, fields))
    lines.append(_reach_line(ctx, "exam", a.can_miss_exam, a.sessions_left, fields))
    if a.disagreements:
        lines.append(ctx.t(K + "disagreements", n=a.disagreements))
    return "\n".join(lines)


@on_intent("attendance_query")
async def attendance_query(ctx: Context) -> None:
    trainee = await bound_trainee(ctx)
    if trainee is None:
        return
    db = reader(ctx)
    classes = await chk.enrolled_classes(db, trainee.id, statuses=att.COUNTED_ENROLLMENTS)
    if not classes:
        ctx.say_key(K + "not_enrolled")
        return
    th = attendance_thresholds()
    parts = [
        attendance_summary(ctx, klass, await att.trainee_attendance(db, trainee.id, klass.id, ctx.now))
        for klass in classes
    ]
    parts.append(
        ctx.t(
            K + "attendance_rule",
            exam_rate=percent(th.exam_min),
            full_rate=percent(th.full),
            exam_article=th.exam_article,
            share_article=th.share_article,
        )
    )
    ctx.say("\n\n".join(parts), [ctx.t(K + "check_in_button")])


# --- 提醒设置 ------------------------------------------------------------


def _reminder_action(ctx: Context) -> tuple[str, time | None] | None:
    """What the words ask for: ("time", t), ("default"|"off"|"on", None), or None."""
    text = ctx.text
    for entity in ctx.services.nlu.extract_entities(text, ctx.today):
        if entity.type == "time":
            return "time", time.fromisoformat(str(entity.value))
    words = get_attendance_config().reminder_words
    labels = {
        ctx.t(K + "reminders_off_label"): "off",
        ctx.t(K + "reminders_on_label"): "on",
        ctx.t(K + "reminder_default_label"): "default",
    }
    if text in labels:
        return labels[text], None
    for action, vocab in (("default", words.default), ("off", words.turn_off), ("on", words.turn_on)):
        if any(w in text for w in vocab):
            return action, None
    return None


def _default_minutes(ctx: Context) -> int:
    return get_attendance_config().check_in.opens_minutes_before


async def _class_minutes(ctx: Context, trainee_id: int) -> int:
    classes = await chk.enrolled_classes(reader(ctx), trainee_id)
    return classes[0].reminder_minutes_before if classes else _default_minutes(ctx)


async def _apply(ctx: Context, trainee_id: int, action: str, at: time | None) -> None:
    user = ctx.user
    minutes = await _class_minutes(ctx, trainee_id)
    if action == "off":
        user.reminders_enabled = False
        ctx.say_key(K + "reminders_turned_off", [ctx.t(K + "reminders_on_label")])
    elif action == "on":
        user.reminders_enabled = True
        ctx.say_key(K + "reminders_turned_on")
        _say_status(ctx, minutes)
    elif action == "default":
        user.reminders_enabled = True
        user.reminder_time = None
        ctx.say_key(K + "reminder_time_reset", minutes=minutes)
    else:
        user.reminders_enabled = True
        user.reminder_time = at
        ctx.say_key(K + "reminder_time_set", time=at.strftime("%H:%M") if at else "", minutes=minutes)
    await ctx.db.flush()
    await refresh_user_reminders(ctx.db, ctx.services, user, ctx.now)


def _say_status(ctx: Context, minutes: int) -> None:
    user = ctx.user
    if not user.reminders_enabled:
        ctx.say_key(K + "reminder_status_off")
    elif user.reminder_time is not None:
        ctx.say_key(K + "reminder_status_on_time", time=user.reminder_time.strftime("%H:%M"))
    else:
        ctx.say_key(K + "reminder_status_on_default", minutes=minutes)


def _menu(ctx: Context) -> list[str]:
    labels = ["reminder_time_label", "reminder_default_label"]
    labels.insert(0, "reminders_off_label" if ctx.user.reminders_enabled else "reminders_on_label")
    return [ctx.t(K + label) for label in labels]


@on_intent("reminder_settings")
async def reminder_settings(ctx: Context) -> None:
    trainee = await bound_trainee(ctx)
    if trainee is None:
        return
    action = _reminder_action(ctx)
    if action is not None:
        await _apply(ctx, trainee.id, *action)
        return
    await ctx.start_flow("reminder_settings", trainee_id=trainee.id)


class ReminderSettings(Flow):
    """关闭提醒, 打开提醒, 改到几点, 恢复默认: one question, then maybe the time."""

    name = "reminder_settings"

    async def start(self, ctx: Context) -> None:
        ctx.goto("menu")
        _say_status(ctx, await _class_minutes(ctx, ctx.data["trainee_id"]))
        ctx.say_key(K + "reminder_menu", _menu(ctx))

    async def on_message(self, ctx: Context) -> bool:
        if ctx.state.step == "menu" and ctx.text == ctx.t(K + "reminder_time_label"):
            ctx.goto("time")
            ctx.say_key(K + "reminder_ask_time")
            return True
        action = _reminder_action(ctx)
        if action is None:
            return False
        trainee_id = ctx.data["trainee_id"]
        ctx.end_flow()
        await _apply(ctx, trainee_id, *action)
        return True

    async def reask(self, ctx: Context) -> None:
        if ctx.state.step == "time":
            ctx.say_key(K + "reminder_time_reask")
        else:
            ctx.say_key(K + "reminder_menu_reask", _menu(ctx))


register_flow(ReminderSettings())
