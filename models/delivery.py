"""What the platforms allow per day, counted where every process sees it, and the day's reminder plans.

The platforms count per account and per day (WeChat's template quota resets
at midnight Beijing time), while the bot runs several processes: so the
counters are rows, incremented in the same database by whoever sends, and
the morning plan reads them before the wave starts instead of learning the
quota from the 45009 of the message that crossed it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JSONType, utcnow


class DeliveryCount(Base):
    """How many messages of one kind (`counter`: "message", "template") a channel sent on a local day."""

    __tablename__ = "delivery_counts"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    counter: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class ReminderPlan(Base):
    """The plan of one day's check-in reminders on one channel, as the last planning run left it.

    `alerts` are what staff must see before the wave goes out: a list of
    {"kind": "capacity" | "template_quota" | "service_quota", "needed": n,
    "available": m, "classes": [{"id", "name", "reminders"}]}; empty when the day fits.
    """

    __tablename__ = "reminder_plans"
    __table_args__ = (UniqueConstraint("day", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(16))
    reminders: Mapped[int] = mapped_column(Integer, default=0)
    moved: Mapped[int] = mapped_column(Integer, default=0)
    capacity_per_minute: Mapped[float] = mapped_column(Float, default=0.0)
    first_due_at: Mapped[datetime | None]
    templates_needed: Mapped[int] = mapped_column(Integer, default=0)
    templates_left: Mapped[int | None] = mapped_column(Integer)
    alerts: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    planned_at: Mapped[datetime] = mapped_column(default=utcnow)
