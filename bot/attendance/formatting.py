"""How dates, times, hours and rates read in attendance messages.

One place so the chat answers and the outbox messages say a session's time
the same way (今天 08:30–11:30, 11月24日（周二）…).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal
from zoneinfo import ZoneInfo

from bot.clock import LOCAL_TZ
from bot.texts import Texts

KEY = "attendance"


def hhmm(at: datetime, tz: ZoneInfo = LOCAL_TZ) -> str:
    """Database times come back in UTC; people read them in local time."""
    return at.astimezone(tz).strftime("%H:%M")


def day_words(texts: Texts, day: date, today: date) -> str:
    """今天 / 明天 / 11月24日（周二）."""
    if day == today:
        return texts.get(f"{KEY}.today")
    if (day - today).days == 1:
        return texts.get(f"{KEY}.tomorrow")
    weekday = texts.raw(f"{KEY}.weekdays")[day.weekday()]
    return texts.get(f"{KEY}.day", month=day.month, day=day.day, weekday=weekday)


def hours(value: Decimal) -> str:
    """27 / 27.5 — hours as people write them."""
    return f"{value.normalize():f}"


def rate(value: Decimal) -> str:
    """0.8333 -> 83.3%; rounded down so a rate shown as 90% has really reached 90 %."""
    pct = (value * 100).quantize(Decimal("0.1"), rounding=ROUND_DOWN)
    text = f"{pct.normalize():f}"
    return f"{text}%"


def rate_so_far(attended_sessions: int, held_sessions: int) -> Decimal | None:
    """Attended ÷ sessions held so far; None before the first session (there is no rate yet).

    What a trainee who never missed a session expects to see (100 %), unlike
    the law's rate against the whole course's filed hours (第十四条), which
    only reaches its final value at the end.
    """
    if held_sessions <= 0:
        return None
    return Decimal(attended_sessions) / Decimal(held_sessions)
