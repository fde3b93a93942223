"""Applying the roster section: trainees by hashed ID card, their enrollments, and the class size limit.

Only a hash and a masked ID-card number are stored. A withdrawn trainee's
pending reminders for the class are cancelled in the same transaction.
"""

from __future__ import annotations

from sqlalchemy import func, select, update

from bot.attendance.import_context import ImportContext
from bot.attendance.import_rows import RosterRow
from bot.identity import hash_id_card, mask_id_card
from models import ChatUser, ClassSession, Enrollment, OutboxMessage, Trainee


class RosterSection(ImportContext):
    """The roster section of an import."""

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
