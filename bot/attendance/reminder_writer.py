"""What a check-in reminder says and when it is due, for each person who should get one.

Shared by the day's reminder run, the nudges and the preference changes
(关闭提醒 / 提醒改到七点), so a moved or re-enabled reminder reads and times
exactly like the one the morning run wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, func, select

from bot.attendance import formatting as fmt
from bot.attendance.config import AttendanceConfig
from bot.texts import Texts
from models import ChatUser, ClassSession, Enrollment, Institution, Trainee, TrainingClass

# WeChat templates used outside the 48-hour window (keys of config/wechat_templates.yaml).
REMINDER_TEMPLATE = "checkin_reminder"
# A cancelled class reminds nobody.
SILENT_CLASS_STATUSES = ("cancelled",)


def reminder_due(
    starts_at: datetime,
    minutes_before: int,
    personal: time | None,
    tz: Any,
    evening_at: time | None = None,
) -> datetime:
    """When one person's reminder for one session is due.

    A personal time applies when it falls before the session starts (提醒改到七点
    for an 08:30 class); for a class that starts earlier than that time, the
    class default is used, so nobody is reminded after the lesson began. The
    class default is the institution's: the evening before at `evening_at`
    when it set one, else N minutes before (`minutes_before`, the
    institution's figure or the class's; see `DEFAULT_MINUTES`).
    """
    default = starts_at - timedelta(minutes=minutes_before)
    if evening_at is not None:
        eve = starts_at.astimezone(tz).date() - timedelta(days=1)
        default = datetime.combine(eve, evening_at, tz)
    if personal is not None:
        local_day = starts_at.astimezone(tz).date()
        mine = datetime.combine(local_day, personal, tz)
        if mine < starts_at:
            return mine
    return default


class ReminderWriter:
    """Builds the texts of one run: what depends on the session is worked out once per session.

    The morning run writes one row per person (100,000 on a busy day), so
    formatting, time-zone conversion and the template fields are cached per
    session; only the name changes per row. The WeChat template rides along
    only for WeChat users (no other channel has a 48-hour window).
    """

    def __init__(self, texts: Texts, cfg: AttendanceConfig, tz: Any) -> None:
        self.texts, self.cfg, self.tz = texts, cfg, tz
        self.button = texts.get("attendance.check_in_button")
        self.pattern = texts.get("attendance.reminder")
        self._sessions: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}

    def _session(self, r: Any, today: date) -> tuple[dict[str, Any], dict[str, Any]]:
        cached = self._sessions.get(r.session_id)
        if cached is None:
            day = r.starts_at.astimezone(self.tz).date()
            fields = {
                "klass": r.klass_name,
                "day": fmt.day_words(self.texts, day, today),
                "start": fmt.hhmm(r.starts_at, self.tz),
                "end": fmt.hhmm(r.ends_at, self.tz),
                "place": r.address or self.texts.get("attendance.no_place"),
                "opens": self.cfg.check_in.opens_minutes_before,
            }
            template = {
                "template": REMINDER_TEMPLATE,
                "fields": {
                    "class_name": r.klass_name,
                    "starts_at": f"{day.isoformat()} {fields['start']}",
                    "address": fields["place"],
                },
            }
            cached = self._sessions[r.session_id] = (fields, template)
        return cached

    def reminder(self, r: Any, today: date) -> tuple[str, dict[str, Any] | None]:
        """Text and WeChat template of one recipient row of `RECIPIENTS`."""
        return self.for_person(r, r.name, r.channel, today)

    def for_person(
        self, session: Any, name: str, channel: str, today: date
    ) -> tuple[str, dict[str, Any] | None]:
        fields, template = self._session(session, today)
        return self.pattern.format(name=name, **fields), template if channel == "wechat" else None


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """What a reminder needs of its session and class (attribute names as in `RECIPIENTS`)."""

    session_id: int
    class_id: int
    starts_at: datetime
    ends_at: datetime
    klass_name: str
    address: str | None
    reminder_minutes_before: int
    reminder_evening_at: time | None = None


# A class's reminder default: the institution's minutes when it set them, else the class's own.
DEFAULT_MINUTES = func.coalesce(
    Institution.reminder_minutes_before, TrainingClass.reminder_minutes_before
).label("reminder_minutes_before")

RECIPIENTS = (
    select(
        ClassSession.id.label("session_id"),
        ClassSession.starts_at,
        ClassSession.ends_at,
        TrainingClass.name.label("klass_name"),
        TrainingClass.address,
        DEFAULT_MINUTES,
        Institution.reminder_evening_at,
        ChatUser.id.label("chat_user_id"),
        ChatUser.channel,
        ChatUser.reminder_time,
        Trainee.id.label("trainee_id"),
        Trainee.name,
    )
    .join(TrainingClass, TrainingClass.id == ClassSession.class_id)
    .join(Institution, Institution.id == TrainingClass.institution_id)
    .join(Enrollment, and_(Enrollment.class_id == ClassSession.class_id, Enrollment.status == "enrolled"))
    .join(ChatUser, ChatUser.trainee_id == Enrollment.trainee_id)
    .join(Trainee, Trainee.id == Enrollment.trainee_id)
    .where(
        ChatUser.reachable.is_(True),
        ChatUser.reminders_enabled.is_(True),
        TrainingClass.status.not_in(SILENT_CLASS_STATUSES),
    )
)
