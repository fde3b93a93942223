"""What a valid row of each import section is: the columns, their types and the rules between them.

The row models are pydantic, so CSV cells and JSON values are checked the
same way and every problem carries its field name for the report. Checks
that need the database (does the class exist, is it in scope) are the
appliers' job, not these models'.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.attendance.config import get_attendance_config
from bot.attendance.schedule import WeeklyPattern
from bot.identity import IdCardCheck, birth_date_text, check_id_card
from bot.policy import get_policy
from models.training import (
    ATTENDANCE_METHODS,
    CLASS_MODES,
    CLASS_STATUSES,
    ENROLLMENT_STATUSES,
    TRAINING_TYPES,
)

SECTIONS = ("classes", "sessions", "roster", "attendance")
# Dates an export may carry: anything else is a typo (and would overflow time-zone arithmetic).
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)


def offline_cap() -> int:
    """第十四条（一）: the most people an offline class takes unless the reviewing bureau approved more."""
    return get_policy().subsidies.classes.offline_max_size.value


TRUE_WORDS = {"是", "有", "y", "yes", "true", "1"}
FALSE_WORDS = {"否", "无", "n", "no", "false", "0"}


class ImportRejected(Exception):
    """Rows failed validation; nothing was written. `report` names each row and field."""

    def __init__(self, report: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(report)} problems")
        self.report = report


def valid_id_card(v: str) -> str:
    """The same check chat binding uses (`bot.identity`), said the way a clerk can act on it."""
    number = v.strip().upper().replace(" ", "")
    verdict = check_id_card(number)
    if verdict is IdCardCheck.WRONG_LENGTH:
        raise ValueError("身份证号应为18位（最后一位可以是X），请核对")
    if verdict is IdCardCheck.BAD_BIRTH_DATE:
        raise ValueError(f"身份证号里的出生日期 {birth_date_text(number)} 不存在，请核对号码")
    if verdict is IdCardCheck.BAD_CHECK_DIGIT:
        raise ValueError("身份证号最后一位校验码对不上，请核对号码")
    return number


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    @field_validator("*")
    @classmethod
    def _sane_dates(cls, v: Any) -> Any:
        if isinstance(v, date) and not EARLIEST <= (v.date() if isinstance(v, datetime) else v) <= LATEST:
            raise ValueError(f"日期应在 {EARLIEST.year} 年到 {LATEST.year} 年之间")
        return v

    @field_validator("*", mode="before")
    @classmethod
    def _yes_no(cls, v: Any, info: Any) -> Any:
        annotation = cls.model_fields[info.field_name].annotation
        if isinstance(v, str) and annotation in (bool, bool | None):
            word = v.strip().lower()
            if word in TRUE_WORDS:
                return True
            if word in FALSE_WORDS:
                return False
        return v


class ClassRow(_Row):
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    occupation: str = Field(min_length=1, max_length=100)
    level: str | None = Field(default=None, max_length=40)
    institution_code: str = Field(min_length=1, max_length=32)
    training_type: Literal[TRAINING_TYPES] = "key_group"  # type: ignore[valid-type]
    mode: Literal[CLASS_MODES] = "offline"  # type: ignore[valid-type]
    status: Literal[CLASS_STATUSES] = "approved"  # type: ignore[valid-type]
    start_date: date
    end_date: date
    planned_hours: Decimal | None = Field(default=None, gt=0, le=10000)
    capacity: int = Field(default_factory=offline_cap, gt=0, le=10000)
    capacity_approved: bool = False
    address: str | None = Field(default=None, max_length=300)
    teacher: str | None = Field(default=None, max_length=100)
    # The weekly pattern, ISO weekdays (1 = Monday … 7 = Sunday): "1,3,5" in CSV, [1, 3, 5] in JSON.
    weekdays: tuple[int, ...] | None = None
    start_time: time | None = None
    end_time: time | None = None
    hours_per_session: Decimal | None = Field(default=None, gt=0, le=24)
    include_non_working_days: bool = False
    reminder_minutes_before: int = Field(default=30, ge=0, le=24 * 60)

    @field_validator("weekdays", mode="before")
    @classmethod
    def _split(cls, v: Any) -> Any:
        if isinstance(v, str):
            parts = [
                p for p in v.replace("，", ",").replace("、", ",").replace(";", ",").split(",") if p.strip()
            ]
            try:
                return tuple(int(p) for p in parts)
            except ValueError as exc:
                raise ValueError("星期应写成 1-7 的数字，用逗号分开，如 1,3,5") from exc
        return v

    @model_validator(mode="after")
    def _consistent(self) -> ClassRow:
        if self.end_date < self.start_date:
            raise ValueError("end_date: 结业日期不能早于开班日期")
        longest = get_attendance_config().imports.max_class_days
        if (self.end_date - self.start_date).days > longest:
            raise ValueError(f"end_date: 一个班期不能超过 {longest} 天，请检查日期")
        if self.weekdays is not None:
            if any(d < 1 or d > 7 for d in self.weekdays):
                raise ValueError("weekdays: 星期应为 1（周一）到 7（周日）")
            if self.start_time is None or self.end_time is None:
                raise ValueError("start_time: 有每周上课日时，需要填写上课和下课时间")
            if self.end_time <= self.start_time:
                raise ValueError("end_time: 下课时间应晚于上课时间")
        cap = offline_cap()
        if self.mode == "offline" and self.capacity > cap and not self.capacity_approved:
            raise ValueError(f"capacity: 线下班每班不超过{cap}人，超过需经审核同意（第十四条）")
        return self

    def pattern(self) -> WeeklyPattern | None:
        if self.weekdays is None or self.start_time is None or self.end_time is None:
            return None
        return WeeklyPattern(
            weekdays=tuple(d - 1 for d in self.weekdays),
            start=self.start_time,
            end=self.end_time,
            hours=self.hours_per_session,
            include_non_working_days=self.include_non_working_days,
        )


class SessionRow(_Row):
    class_code: str = Field(min_length=1, max_length=40)
    date: date
    start_time: time
    end_time: time
    hours: Decimal | None = Field(default=None, gt=0, le=24)
    topic: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _times(self) -> SessionRow:
        if self.end_time <= self.start_time:
            raise ValueError("end_time: 下课时间应晚于上课时间")
        return self


class RosterRow(_Row):
    class_code: str = Field(min_length=1, max_length=40)
    id_card: str
    name: str = Field(min_length=1, max_length=100)
    phone: str | None = Field(default=None, pattern=r"^1[3-9]\d{9}$")
    region_code: str | None = Field(default=None, pattern=r"^\d{6}$")
    groups: tuple[str, ...] = ()
    household: Literal["rural", "urban"] | None = None
    status: Literal[ENROLLMENT_STATUSES] = "enrolled"  # type: ignore[valid-type]

    @field_validator("id_card")
    @classmethod
    def _id_card(cls, v: str) -> str:
        return valid_id_card(v)

    @field_validator("groups", mode="before")
    @classmethod
    def _split_groups(cls, v: Any) -> Any:
        if isinstance(v, str):
            return [p.strip() for p in v.replace("，", ";").replace(",", ";").split(";") if p.strip()]
        return v

    @field_validator("groups")
    @classmethod
    def _known_groups(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        known = set(get_policy().group_ids)
        unknown = [g for g in v if g not in known]
        if unknown:
            raise ValueError(f"不认识的人员类别：{'、'.join(unknown)}")
        return v


class AttendanceRow(_Row):
    class_code: str = Field(min_length=1, max_length=40)
    date: date
    start_time: time | None = None  # needed only when the class has two sessions that day
    id_card: str
    status: Literal["present", "absent"]
    checked_in_at: time | datetime | None = None
    method: Literal[ATTENDANCE_METHODS] | None = None  # type: ignore[valid-type]

    @field_validator("id_card")
    @classmethod
    def _id_card(cls, v: str) -> str:
        return valid_id_card(v)


ROW_MODELS: dict[str, type[_Row]] = {
    "classes": ClassRow,
    "sessions": SessionRow,
    "roster": RosterRow,
    "attendance": AttendanceRow,
}
