"""Applying the attendance section: the institution's own records, authoritative over chat check-ins.

第十四条: attendance is checked by face or fingerprint at the institution, so
an imported record overrides a chat check-in for the same session and
leaves an audit entry saying whether it did.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import select

from bot.attendance.import_context import ImportContext
from bot.attendance.import_rows import AttendanceRow
from bot.audit import audit
from bot.identity import hash_id_card, mask_id_card
from models import AttendanceRecord, ClassSession, Enrollment, Trainee


class AttendanceSection(ImportContext):
    """The attendance section of an import."""

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
