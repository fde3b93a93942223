"""Applying the classes and sessions sections: creating classes and syncing their timetables.

A class row may carry a weekly pattern that becomes sessions on the official
calendar; a sessions section replaces the timetable with an explicit list.
Both go through `sync_sessions`, which refuses to remove a session already
started or attended.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot.attendance.import_context import ImportContext
from bot.attendance.import_rows import ClassRow, SessionRow
from bot.attendance.schedule import ExplicitSession, explicit_sessions, sessions_from_pattern, sync_sessions
from models import Institution, TrainingClass


class ClassSections(ImportContext):
    """The classes and sessions sections of an import."""

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
