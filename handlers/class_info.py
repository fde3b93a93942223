"""我的班级: the class card, "明天有课吗" for one day, and a class that just ended.

A trainee asking about a day wants yes or no, the time and the place, not
the whole card; a trainee whose class ended last week still thinks of it as
their class (the claim is filed and reviewed after the end, 第十六条), so
for a while it answers, marked 已结业, instead of "没有查到您正在参加的培训班".
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from bot.attendance import formatting as fmt
from bot.attendance import service as att
from bot.attendance.config import get_attendance_config
from bot.attendance.schedule import WeeklyPattern
from bot.policy import get_policy
from bot.policy.attendance import attendance_thresholds
from bot.policy.params import percent
from handlers.attendance import _session_fields
from handlers.base import Context, on_intent
from handlers.common import bound_trainee
from models import ClassSession, Enrollment, Institution, TrainingClass

K = "attendance."
C = "class_info."


async def trainee_classes(ctx: Context, trainee_id: int) -> tuple[list[TrainingClass], list[TrainingClass]]:
    """The classes the trainee attends now, and those that ended within the configured days."""
    window = get_attendance_config().class_info.ended_within_days
    rows = await ctx.db.execute(
        select(TrainingClass, Enrollment.status)
        .join(Enrollment, Enrollment.class_id == TrainingClass.id)
        .where(
            Enrollment.trainee_id == trainee_id,
            Enrollment.status.in_(att.COUNTED_ENROLLMENTS),
            TrainingClass.status != "cancelled",
        )
        .order_by(TrainingClass.start_date, TrainingClass.id)
    )
    current: list[TrainingClass] = []
    ended: list[TrainingClass] = []
    for klass, status in rows.all():
        if status == "enrolled" and klass.end_date >= ctx.today:
            current.append(klass)
        elif klass.end_date >= ctx.today - timedelta(days=window):
            ended.append(klass)
    return current, ended


def _clock(at: datetime, ctx: Context) -> str:
    """8:30, as people write it."""
    local = at.astimezone(ctx.services.clock.tz)
    return f"{local.hour}:{local.minute:02d}"


def _place(ctx: Context, klass: TrainingClass, institution: Institution | None) -> str:
    return klass.address or (institution.address if institution else None) or ctx.t(K + "no_place")


def asked_part(ctx: Context) -> tuple[str, time, time] | None:
    """The part of the day the message names (下午), with its hours."""
    parts = get_attendance_config().class_info.day_parts
    for word in sorted(parts, key=len, reverse=True):
        if word in ctx.text:
            start, end = parts[word]
            last = time(23, 59, 59) if end == "24:00" else time.fromisoformat(end)
            return word, time.fromisoformat(start), last
    return None


def asked_day(ctx: Context) -> date | None:
    """The day asked about: a date in the message, or today when only a part of the day is named."""
    entity = ctx.parse.entity("date")
    if entity is None:
        return ctx.today if asked_part(ctx) is not None else None
    try:
        return date.fromisoformat(str(entity.value))
    except ValueError:
        return None


async def _sessions_on(ctx: Context, classes: list[TrainingClass], day: date) -> list[ClassSession]:
    rows = await ctx.db.execute(
        select(ClassSession)
        .where(ClassSession.class_id.in_([k.id for k in classes]), ClassSession.session_date == day)
        .order_by(ClassSession.starts_at)
    )
    return list(rows.scalars())


async def _next_after(ctx: Context, classes: list[TrainingClass], day: date) -> ClassSession | None:
    rows = await ctx.db.execute(
        select(ClassSession)
        .where(ClassSession.class_id.in_([k.id for k in classes]), ClassSession.session_date > day)
        .order_by(ClassSession.starts_at)
        .limit(1)
    )
    return rows.scalars().first()


async def say_day(ctx: Context, day: date, current: list[TrainingClass], ended: list[TrainingClass]) -> None:
    """有课 or 没有课 on one day, with the time and the place; the next session when none."""
    day_words = fmt.day_words(ctx.services.texts, day, ctx.today)
    part = asked_part(ctx)
    part_word = part[0] if part else ""
    # A class that ended still answers for the days it ran ("昨天有课吗" on its last day).
    classes = current + [k for k in ended if day <= k.end_date]
    if not classes:
        last = ended[-1]
        ctx.say_key(
            C + "day_ended",
            [ctx.t(C + "claim_button")],
            day=day_words,
            klass=last.name,
            end=_date(last.end_date),
        )
        return
    by_id = {k.id: k for k in classes}
    all_day = await _sessions_on(ctx, classes, day)
    tz = ctx.services.clock.tz
    asked = [s for s in all_day if part is None or part[1] <= s.starts_at.astimezone(tz).time() < part[2]]
    choices = [ctx.t(K + "check_in_button")]
    if asked:
        institutions = {k.id: await ctx.db.get(Institution, k.institution_id) for k in classes}
        fields = [
            {
                "start": _clock(s.starts_at, ctx),
                "end": _clock(s.ends_at, ctx),
                "klass": by_id[s.class_id].name,
                "place": _place(ctx, by_id[s.class_id], institutions[s.class_id]),
            }
            for s in asked
        ]
        if len(asked) == 1:
            key = "day_yes" if len(classes) == 1 else "day_yes_named"
            lines = [ctx.t(C + key, day=day_words, part=part_word, **fields[0])]
        else:
            lines = [ctx.t(C + "day_yes_many", day=day_words, part=part_word, n=len(asked))]
            lines += [ctx.t(C + "day_yes_item", **f) for f in fields]
        if any(s.ends_at > ctx.now for s in asked) and day == ctx.today:
            lines.append(ctx.t(C + "check_in_hint"))
        ctx.say("\n".join(lines), choices)
        return
    if all_day:
        times = str(ctx.t(C + "time_join")).join(
            f"{_clock(s.starts_at, ctx)}–{_clock(s.ends_at, ctx)}" for s in all_day
        )
        ctx.say_key(C + "day_no_but", choices, day=day_words, part=part_word, times=times)
        return
    lines = [ctx.t(C + "day_no", day=day_words, part=part_word)]
    nxt = await _next_after(ctx, classes, day)
    if nxt is None:
        lines.append(ctx.t(C + "day_no_more"))
    else:
        next_day = fmt.day_words(ctx.services.texts, nxt.session_date, ctx.today)
        lines.append(
            ctx.t(
                C + "day_next", day=next_day, start=_clock(nxt.starts_at, ctx), end=_clock(nxt.ends_at, ctx)
            )
        )
    ctx.say("\n".join(lines), choices)


def _date(d: date) -> str:
    return d.isoformat()


def _pattern_text(ctx: Context, klass: TrainingClass) -> str:
    try:
        pattern = WeeklyPattern.model_validate(klass.schedule or {})
    except ValueError:
        return ctx.t(K + "class_pattern_explicit")
    names = ctx.services.texts.raw(K + "weekdays")
    days = ctx.t(K + "class_pattern_weekday_join").join(names[d].removeprefix("周") for d in pattern.weekdays)
    return ctx.t(
        K + "class_pattern",
        days=days,
        start=pattern.start.strftime("%H:%M"),
        end=pattern.end.strftime("%H:%M"),
    )


async def current_card(ctx: Context, klass: TrainingClass) -> str:
    institution = await ctx.db.get(Institution, klass.institution_id)
    lines = [
        ctx.t(
            K + "class_head",
            klass=klass.name,
            institution=institution.name if institution else "",
            place=klass.address or ctx.t(K + "no_place"),
            teacher=klass.teacher or ctx.t(K + "no_teacher"),
            pattern=_pattern_text(ctx, klass),
        ),
        ctx.t(
            K + "class_dates",
            start=_date(klass.start_date),
            end=_date(klass.end_date),
            hours=fmt.hours(klass.planned_hours),
        ),
    ]
    limit = get_attendance_config().class_info.upcoming_sessions
    upcoming = await att.upcoming_sessions(ctx.db, klass.id, ctx.now, limit)
    if upcoming:
        lines.append(ctx.t(K + "class_next_head"))
        lines += [ctx.t(K + "class_next_item", **_session_fields(ctx, s)) for s in upcoming]
    else:
        lines.append(ctx.t(K + "class_no_next"))
    return "\n".join(lines)


async def ended_card(ctx: Context, trainee_id: int, klass: TrainingClass) -> str:
    """已结业: the attendance the law measured, what it allows, and who files the claim by when."""
    institution = await ctx.db.get(Institution, klass.institution_id)
    a = await att.trainee_attendance(ctx.db, trainee_id, klass.id, ctx.now)
    th = attendance_thresholds()
    lines = [
        ctx.t(
            C + "ended_head",
            klass=klass.name,
            institution=institution.name if institution else "",
            start=_date(klass.start_date),
            end=_date(klass.end_date),
            hours=fmt.hours(klass.planned_hours),
        ),
        ctx.t(
            C + "ended_attendance",
            present=a.sessions_attended,
            held=a.sessions_done,
            attended=fmt.hours(a.attended_hours),
            planned=fmt.hours(a.planned_hours),
            rate=fmt.rate(a.rate),
        ),
    ]
    rates = {
        "full_rate": percent(th.full),
        "exam_rate": percent(th.exam_min),
        "exam_article": th.exam_article,
        "share_article": th.share_article,
    }
    if th.reaches(a.attended_hours, a.planned_hours, th.full):
        lines.append(ctx.t(C + "ended_full", **rates))
    elif th.reaches(a.attended_hours, a.planned_hours, th.exam_min):
        lines.append(ctx.t(C + "ended_share", **rates))
    else:
        lines.append(ctx.t(C + "ended_exam_lost", **rates))
    deadline = get_policy().deadlines["claim_submission"]
    lines.append(ctx.t(C + "ended_claim", days=deadline.count, article=deadline.article))
    return "\n".join(lines)


@on_intent("class_info")
async def class_info(ctx: Context) -> None:
    trainee = await bound_trainee(ctx)
    if trainee is None:
        return
    current, ended = await trainee_classes(ctx, trainee.id)
    if not current and not ended:
        ctx.say_key(K + "not_enrolled")
        return
    day = asked_day(ctx)
    if day is not None:
        await say_day(ctx, day, current, ended)
        return
    parts = [await current_card(ctx, k) for k in current]
    parts += [await ended_card(ctx, trainee.id, k) for k in ended]
    if current:
        choices = [ctx.t(K + "check_in_button"), ctx.t(K + "attendance_button")]
    else:
        choices = [ctx.t(C + "claim_button"), ctx.t(K + "attendance_button")]
    ctx.say("\n\n".join(parts), choices)
