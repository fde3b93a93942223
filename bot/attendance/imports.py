"""Importing classes, rosters, sessions and attendance from the real-name system's export.

All or nothing: every row of every section is validated first, then applied
in one transaction; a single bad row rejects the whole import with a report
naming each bad row and field, so an institution never ends up with half a
roster. The columns are documented in `docs/attendance.md`.

Sections are applied in the order classes → sessions → roster → attendance,
so one bundle can create a class and fill it. Institution attendance records
are authoritative (第十四条: face or fingerprint check-ins): they override
chat check-ins, leave an audit entry, and may trigger a warning at once.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.attendance.config import get_attendance_config
from bot.attendance.reminders import warn_class
from bot.attendance.schedule import (
    ExplicitSession,
    WeeklyPattern,
    explicit_sessions,
    sessions_from_pattern,
    sync_sessions,
)
from bot.audit import audit
from bot.auth import Principal
from bot.identity import hash_id_card, mask_id_card, normalize_id_card
from bot.policy import get_policy
from bot.services import Services
from models import (
    AttendanceRecord,
    ChatUser,
    ClassSession,
    Enrollment,
    Institution,
    OutboxMessage,
    Trainee,
    TrainingClass,
)
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


# Pydantic's error types, said in words an institution's clerk understands.
ERROR_TEXTS = {
    "missing": "缺少必填项",
    "date_parsing": "日期格式应为 YYYY-MM-DD",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "date_type": "日期格式应为 YYYY-MM-DD",
    "time_parsing": "时间格式应为 HH:MM",
    "time_type": "时间格式应为 HH:MM",
    "datetime_parsing": "时间格式应为 HH:MM 或 ISO 8601",
    "datetime_from_date_parsing": "时间格式应为 HH:MM 或 ISO 8601",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "decimal_parsing": "应为数字",
    "decimal_type": "应为数字",
    "bool_parsing": "应为 是/否（true/false）",
    "bool_type": "应为 是/否（true/false）",
    "string_too_long": "内容太长",
    "string_too_short": "不能为空",
    "greater_than": "应大于 0",
    "greater_than_equal": "不能为负数",
    "less_than_equal": "数值太大",
    "extra_forbidden": "不认识的列",
    "string_pattern_mismatch": "格式不对",
}
TRUE_WORDS = {"是", "有", "y", "yes", "true", "1"}
FALSE_WORDS = {"否", "无", "n", "no", "false", "0"}


class ImportRejected(Exception):
    """Rows failed validation; nothing was written. `report` names each row and field."""

    def __init__(self, report: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(report)} problems")
        self.report = report


def valid_id_card(v: str) -> str:
    number = normalize_id_card(v)
    if number is None:
        raise ValueError("身份证号不对（18位，最后一位校验码要对得上）")
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


# --- reading ------------------------------------------------------------


@dataclass
class Source:
    """Rows of one section with the number people will look for (CSV line, or JSON position)."""

    section: str
    rows: list[tuple[int, dict[str, Any]]]


def read_csv(section: str, text: str) -> Source:
    """A CSV export (UTF-8, BOM tolerated, a header row); empty cells are missing values."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = reader.fieldnames
    except csv.Error:
        header = None
    if not header:
        raise ImportRejected([{"section": section, "row": 1, "field": None, "message": "CSV 没有表头"}])
    rows = []
    try:
        for record in reader:
            if None in record:
                rows.append((reader.line_num, {"__extra__": record.pop(None)}))  # type: ignore[call-overload]
                continue
            values = {k.strip(): v for k, v in record.items() if k and v is not None and v.strip() != ""}
            rows.append((reader.line_num, values))
    except csv.Error as exc:
        raise ImportRejected(
            [{"section": section, "row": reader.line_num, "field": None, "message": f"CSV 格式错误：{exc}"}]
        ) from exc
    return Source(section, rows)


def read_json(section: str, items: Any) -> Source:
    if not isinstance(items, list):
        raise ImportRejected([{"section": section, "row": None, "field": None, "message": "应为一个数组"}])
    rows: list[tuple[int, dict[str, Any]]] = []
    for i, item in enumerate(items, 1):
        if not isinstance(item, dict):
            rows.append((i, {"__not_object__": True}))
        else:
            rows.append((i, {k: v for k, v in item.items() if v is not None and v != ""}))
    return Source(section, rows)


def _problems(section: str, row: int, exc: ValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        message = err["msg"].removeprefix("Value error, ")
        fld = loc[0] if loc else None
        if err["type"] == "value_error" and not loc and ": " in message:
            # Whole-row checks name their field first ("end_date: ...").
            fld, message = message.split(": ", 1)
        elif err["type"] == "literal_error":
            message = f"取值应为 {err['ctx'].get('expected')}"
        elif err["type"] in ERROR_TEXTS:
            message = ERROR_TEXTS[err["type"]]
        out.append({"section": section, "row": row, "field": fld, "message": message})
    return out


def parse(sources: Iterable[Source], max_rows: int) -> dict[str, list[tuple[int, Any]]]:
    """Validate every row of every section; ImportRejected with every problem found."""
    report: list[dict[str, Any]] = []
    parsed: dict[str, list[tuple[int, Any]]] = {s: [] for s in SECTIONS}
    total = 0
    for src in sources:
        model = ROW_MODELS[src.section]
        for line, values in src.rows:
            total += 1
            if "__extra__" in values:
                report.append(
                    {"section": src.section, "row": line, "field": None, "message": "这一行的列数比表头多"}
                )
                continue
            if "__not_object__" in values:
                report.append({"section": src.section, "row": line, "field": None, "message": "应为一个对象"})
                continue
            try:
                parsed[src.section].append((line, model.model_validate(values)))
            except ValidationError as exc:
                report.extend(_problems(src.section, line, exc))
    if total == 0:
        report.append({"section": None, "row": None, "field": None, "message": "没有要导入的数据"})
    if total > max_rows:
        report.append({"section": None, "row": None, "field": None, "message": f"一次最多导入 {max_rows} 行"})
    if report:
        raise ImportRejected(report)
    return parsed


# --- applying -----------------------------------------------------------


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0

    def bump(self, status: str) -> None:
        setattr(self, status, getattr(self, status) + 1)


@dataclass
class ImportResult:
    dry_run: bool
    summary: dict[str, Counts] = field(default_factory=lambda: {s: Counts() for s in SECTIONS})
    rows: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    warnings_queued: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": True,
            "dry_run": self.dry_run,
            "summary": {k: vars(v) for k, v in self.summary.items()},
            "rows": self.rows,
            "warnings": self.warnings,
            "attendance_warnings_queued": self.warnings_queued,
        }


class Importer:
    """Applies validated rows inside the caller's transaction; collects every problem before failing."""

    def __init__(self, db: AsyncSession, services: Services, principal: Principal, now: datetime) -> None:
        self.db, self.services, self.principal, self.now = db, services, principal, now
        self.tz = services.clock.tz
        self.key = services.settings.hash_key()
        self.report: list[dict[str, Any]] = []
        self.classes: dict[str, TrainingClass | None] = {}
        self.result = ImportResult(dry_run=False)
        self.explicit: set[str] = set()
        self.touched_classes: set[int] = set()
        self.attendance_classes: set[int] = set()

    def problem(self, section: str, row: int, fld: str | None, message: str) -> None:
        self.report.append({"section": section, "row": row, "field": fld, "message": message})

    def done(self, section: str, row: int, status: str, key: str, **extra: Any) -> None:
        self.result.summary[section].bump(status)
        self.result.rows.append({"section": section, "row": row, "status": status, "key": key, **extra})

    async def klass(self, code: str) -> TrainingClass | None:
        """A class the caller may touch, else None (unknown and out of scope look the same)."""
        if code not in self.classes:
            found = (
                await self.db.execute(select(TrainingClass).where(TrainingClass.code == code))
            ).scalar_one_or_none()
            if found is not None and not self.principal.covers(
                region_code=found.region_code, institution_id=found.institution_id
            ):
                found = None
            self.classes[code] = found
        return self.classes[code]

    async def run(self, parsed: dict[str, list[tuple[int, Any]]]) -> ImportResult:
        await self.apply_classes(parsed["classes"])
        await self.apply_sessions(parsed["sessions"])
        await self.apply_roster(parsed["roster"])
        await self.apply_attendance(parsed["attendance"])
        if self.report:
            raise ImportRejected(self.report)
        await self.replan_today()
        for class_id in sorted(self.attendance_classes):
            self.result.warnings_queued += await warn_class(self.db, self.services, class_id, self.now)
        return self.result

    # classes ------------------------------------------------------------
    async def apply_classes(self, rows: list[tuple[int, ClassRow]]) -> None:
        seen: dict[str, int] = {}
        institutions: dict[str, Institution | None] = {}
        for line, row in rows:
            if row.code in seen:
                self.problem("classes", line, "code", f"班级编号与第 {seen[row.code]} 行重复")
                continue
            seen[row.code] = line
            if row.institution_code not in institutions:
                inst = (
                    await self.db.execute(select(Institution).where(Institution.code == row.institution_code))
                ).scalar_one_or_none()
                if inst is not None and not self.principal.covers(
                    region_code=inst.region_code, institution_id=inst.id
                ):
                    inst = None
                institutions[row.institution_code] = inst
            inst = institutions[row.institution_code]
            if inst is None:
                self.problem("classes", line, "institution_code", "没有这个培训机构，或不在您的管辖范围内")
                continue
            if inst.status != "active":
                self.problem("classes", line, "institution_code", "该培训机构已暂停或取消定点资格")
                continue
            existing = (
                await self.db.execute(select(TrainingClass).where(TrainingClass.code == row.code))
            ).scalar_one_or_none()
            if existing is not None and existing.institution_id != inst.id:
                self.problem("classes", line, "code", "这个班级编号已被其他机构使用")
                continue
            values = {
                "name": row.name,
                "occupation": row.occupation,
                "level": row.level,
                "institution_id": inst.id,
                "region_code": inst.region_code,
                "training_type": row.training_type,
                "mode": row.mode,
                "status": row.status,
                "start_date": row.start_date,
                "end_date": row.end_date,
                "capacity": row.capacity,
                "capacity_approved": row.capacity_approved,
                "address": row.address,
                "teacher": row.teacher,
                "reminder_minutes_before": row.reminder_minutes_before,
            }
            pattern = row.pattern()
            if pattern is not None:
                values["schedule"] = pattern.to_json()
            planned = pattern and sessions_from_pattern(pattern, row.start_date, row.end_date, tz=self.tz)
            hours = row.planned_hours or (planned.total_hours if planned else None)
            if existing is None:
                if hours is None:
                    self.problem("classes", line, "planned_hours", "没有每周上课安排时，需要填写备案课时")
                    continue
                existing = TrainingClass(code=row.code, planned_hours=hours, **values)
                self.db.add(existing)
                await self.db.flush()
                status = "created"
            else:
                if hours is not None:
                    values["planned_hours"] = hours
                changed = {k: v for k, v in values.items() if getattr(existing, k) != v}
                for k, v in changed.items():
                    setattr(existing, k, v)
                status = "updated" if changed else "unchanged"
            self.classes[row.code] = existing
            self.touched_classes.add(existing.id)
            extra: dict[str, Any] = {}
            if planned is not None:
                if not planned.calendar_certain:
                    self.result.warnings.append(
                        {
                            "section": "classes",
                            "row": line,
                            "message": "部分日期所在年份的法定节假日安排尚未发布，暂按周末计算",
                        }
                    )
                if planned.total_hours != hours:
                    self.result.warnings.append(
                        {
                            "section": "classes",
                            "row": line,
                            "message": f"排课合计 {planned.total_hours} 课时，与备案课时 {hours} 不一致",
                        }
                    )
                sync = await sync_sessions(self.db, existing, planned.sessions, self.now)
                if sync.blocked:
                    self._blocked("classes", line, sync.blocked)
                extra["sessions"] = len(planned.sessions)
                self.result.summary["sessions"].created += sync.added
                self.result.summary["sessions"].updated += sync.updated
                self.result.summary["sessions"].removed += sync.removed
            self.done("classes", line, status, row.code, **extra)

    def _blocked(self, section: str, line: int, blocked: list[datetime]) -> None:
        when = "、".join(b.astimezone(self.tz).strftime("%Y-%m-%d %H:%M") for b in blocked[:5])
        self.problem(section, line, None, f"这些课已经开始或已有考勤记录，不能删除：{when}")

    # sessions -----------------------------------------------------------
    async def apply_sessions(self, rows: list[tuple[int, SessionRow]]) -> None:
        by_class: dict[str, list[tuple[int, SessionRow]]] = defaultdict(list)
        for line, row in rows:
            by_class[row.class_code].append((line, row))
        for code, items in by_class.items():
            klass = await self.klass(code)
            if klass is None:
                for line, _ in items:
                    self.problem("sessions", line, "class_code", "没有这个班级，或不在您的管辖范围内")
                continue
            first = items[0][0]
            outside = [(line, r) for line, r in items if not klass.start_date <= r.date <= klass.end_date]
            for line, _ in outside:
                self.problem("sessions", line, "date", "上课日期不在开班和结业日期之间")
            try:
                plan = explicit_sessions(
                    (
                        ExplicitSession(
                            date=r.date, start=r.start_time, end=r.end_time, hours=r.hours, topic=r.topic
                        )
                        for _, r in items
                    ),
                    tz=self.tz,
                )
            except ValueError:
                self.problem("sessions", first, "start_time", f"班级 {code} 的课时间有重叠")
                continue
            if outside:
                continue
            sync = await sync_sessions(self.db, klass, plan.sessions, self.now)
            if sync.blocked:
                self._blocked("sessions", first, sync.blocked)
            klass.schedule = {}  # the explicit list is now the timetable
            self.explicit.add(code)
            self.touched_classes.add(klass.id)
            counts = self.result.summary["sessions"]
            counts.created += sync.added
            counts.updated += sync.updated
            counts.removed += sync.removed
            counts.unchanged += len(plan.sessions) - sync.added - sync.updated
            self.result.rows.append(
                {
                    "section": "sessions",
                    "row": first,
                    "status": "synced",
                    "key": code,
                    "sessions": len(plan.sessions),
                }
            )

    # roster -------------------------------------------------------------
    async def apply_roster(self, rows: list[tuple[int, RosterRow]]) -> None:
        seen: dict[tuple[str, str], int] = {}
        withdrawn: list[tuple[int, int]] = []
        for line, row in rows:
            pair = (row.class_code, row.id_card)
            if pair in seen:
                self.problem("roster", line, "id_card", f"与第 {seen[pair]} 行是同一个人")
                continue
            seen[pair] = line
            klass = await self.klass(row.class_code)
            if klass is None:
                self.problem("roster", line, "class_code", "没有这个班级，或不在您的管辖范围内")
                continue
            digest = hash_id_card(row.id_card, self.key)
            person = (
                await self.db.execute(select(Trainee).where(Trainee.id_card_hash == digest))
            ).scalar_one_or_none()
            values = {
                "name": row.name,
                "phone": row.phone,
                "region_code": row.region_code or klass.region_code,
                "household": row.household,
            }
            if row.groups:
                values["groups"] = list(row.groups)
            status = "unchanged"
            if person is None:
                person = Trainee(id_card_hash=digest, id_card_masked=mask_id_card(row.id_card), **values)
                self.db.add(person)
                await self.db.flush()
                status = "created"
            else:
                changed = {k: v for k, v in values.items() if v is not None and getattr(person, k) != v}
                for k, v in changed.items():
                    setattr(person, k, v)
                status = "updated" if changed else status
            enrollment = (
                await self.db.execute(
                    select(Enrollment).where(
                        Enrollment.class_id == klass.id, Enrollment.trainee_id == person.id
                    )
                )
            ).scalar_one_or_none()
            if enrollment is None:
                self.db.add(
                    Enrollment(
                        class_id=klass.id, trainee_id=person.id, status=row.status, enrolled_at=self.now
                    )
                )
                status = "created" if status == "created" else "updated"
            elif enrollment.status != row.status:
                enrollment.status = row.status
                status = "updated"
            if row.status == "withdrawn":
                withdrawn.append((klass.id, person.id))
            self.touched_classes.add(klass.id)
            self.done("roster", line, status, mask_id_card(row.id_card), class_code=row.class_code)
        await self.db.flush()
        await self._check_capacity(rows)
        await self._cancel_withdrawn(withdrawn)

    async def _check_capacity(self, rows: list[tuple[int, RosterRow]]) -> None:
        last_line: dict[str, int] = {}
        for line, row in rows:
            last_line[row.class_code] = line
        for code, line in last_line.items():
            klass = self.classes.get(code)
            if klass is None:
                continue
            count = (
                await self.db.execute(
                    select(func.count(Enrollment.id)).where(
                        Enrollment.class_id == klass.id, Enrollment.status == "enrolled"
                    )
                )
            ).scalar_one()
            if count > klass.capacity:
                self.problem(
                    "roster", line, "class_code", f"班级 {code} 在读 {count} 人，超过班额 {klass.capacity} 人"
                )

    async def _cancel_withdrawn(self, pairs: list[tuple[int, int]]) -> None:
        """A trainee who left gets no more reminders for that class."""
        for class_id, trainee_id in pairs:
            sessions = select(ClassSession.id).where(
                ClassSession.class_id == class_id, ClassSession.ends_at > self.now
            )
            users = select(ChatUser.id).where(ChatUser.trainee_id == trainee_id)
            keys = [
                f"{kind}:{sid}:{uid}"
                for sid in (await self.db.execute(sessions)).scalars()
                for uid in (await self.db.execute(users)).scalars()
                for kind in ("reminder", "nudge")
            ]
            if keys:
                await self.db.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.idempotency_key.in_(keys), OutboxMessage.status == "pending")
                    .values(status="cancelled", last_error="withdrawn from the class")
                )

    # attendance ---------------------------------------------------------
    async def apply_attendance(self, rows: list[tuple[int, AttendanceRow]]) -> None:
        seen: dict[tuple[Any, ...], int] = {}
        for line, row in rows:
            klass = await self.klass(row.class_code)
            if klass is None:
                self.problem("attendance", line, "class_code", "没有这个班级，或不在您的管辖范围内")
                continue
            query = select(ClassSession).where(
                ClassSession.class_id == klass.id, ClassSession.session_date == row.date
            )
            sessions = list((await self.db.execute(query.order_by(ClassSession.starts_at))).scalars())
            if row.start_time is not None:
                sessions = [s for s in sessions if s.starts_at.astimezone(self.tz).time() == row.start_time]
            if not sessions:
                self.problem("attendance", line, "date", "这个班在这一天（这个时间）没有课")
                continue
            if len(sessions) > 1:
                self.problem("attendance", line, "start_time", "这一天有多节课，请填写上课时间 start_time")
                continue
            session = sessions[0]
            if session.starts_at > self.now:
                self.problem("attendance", line, "date", "这节课还没开始，不能录入考勤")
                continue
            digest = hash_id_card(row.id_card, self.key)
            person = (
                await self.db.execute(
                    select(Trainee)
                    .join(Enrollment, Enrollment.trainee_id == Trainee.id)
                    .where(Trainee.id_card_hash == digest, Enrollment.class_id == klass.id)
                )
            ).scalar_one_or_none()
            if person is None:
                self.problem("attendance", line, "id_card", "这个人不在该班名单里")
                continue
            key = (session.id, person.id)
            if key in seen:
                self.problem("attendance", line, "id_card", f"与第 {seen[key]} 行是同一节课的同一个人")
                continue
            seen[key] = line
            checked = self._checked_in_at(row, session)
            status = await self._upsert_record(session, person, row, checked)
            self.attendance_classes.add(klass.id)
            self.done(
                "attendance",
                line,
                status,
                f"{row.class_code}:{row.date.isoformat()}:{mask_id_card(row.id_card)}",
            )

    def _checked_in_at(self, row: AttendanceRow, session: ClassSession) -> datetime | None:
        value = row.checked_in_at
        if value is None:
            return None
        if isinstance(value, time):
            return datetime.combine(row.date, value, self.tz)
        return value if value.tzinfo else value.replace(tzinfo=self.tz)

    async def _upsert_record(
        self, session: ClassSession, person: Trainee, row: AttendanceRow, checked: datetime | None
    ) -> str:
        records = {
            r.source: r
            for r in (
                await self.db.execute(
                    select(AttendanceRecord).where(
                        AttendanceRecord.session_id == session.id, AttendanceRecord.trainee_id == person.id
                    )
                )
            ).scalars()
        }
        current = records.get("institution")
        chat = records.get("chat")
        actor = self.principal.actor
        before = None if current is None else {"status": current.status, "method": current.method}
        if current is None:
            current = AttendanceRecord(
                session_id=session.id,
                trainee_id=person.id,
                source="institution",
                status=row.status,
                checked_in_at=checked,
                method=row.method,
                recorded_by=actor,
                created_at=self.now,
            )
            self.db.add(current)
            await self.db.flush()
            outcome = "created"
        elif (current.status, current.method, current.checked_in_at) == (row.status, row.method, checked):
            return "unchanged"
        else:
            current.status, current.method, current.checked_in_at = row.status, row.method, checked
            current.recorded_by, current.updated_at = actor, self.now
            outcome = "updated"
        await audit(
            self.db,
            actor,
            "attendance.institution_record",
            "attendance_record",
            current.id,
            session_id=session.id,
            trainee_id=person.id,
            before=before,
            after={"status": row.status, "method": row.method},
            chat_status=chat.status if chat else None,
            overrides_chat=bool(chat and chat.status != row.status),
        )
        return outcome

    async def replan_today(self) -> None:
        """Today's sessions of changed classes get their reminders planned again (new trainees, new times)."""
        if not self.touched_classes:
            return
        await self.db.execute(
            update(ClassSession)
            .where(
                ClassSession.class_id.in_(sorted(self.touched_classes)),
                ClassSession.session_date == self.now.date(),
                ClassSession.ends_at > self.now,
            )
            .values(reminders_created_at=None)
        )
