"""Importing classes, rosters, sessions and attendance from the real-name system's export.

All or nothing: every row of every section is validated first, then applied
in one transaction; a single bad row rejects the whole import with a report
naming each bad row and field, so an institution never ends up with half a
roster. The columns are documented in `docs/attendance.md`.

Sections are applied in the order classes → sessions → roster → attendance,
so one bundle can create a class and fill it. Institution attendance records
are authoritative (第十四条: face or fingerprint check-ins): they override
chat check-ins, leave an audit entry, and may trigger a warning at once.

Reading and validating rows is `import_reading` and `import_rows`; each
section is written by its own module (`import_classes`, `import_roster`,
`import_attendance`) on the shared `import_context`; this module orders the
sections and does what follows a successful import.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from bot.attendance.import_attendance import AttendanceSection
from bot.attendance.import_classes import ClassSections
from bot.attendance.import_context import ImportResult
from bot.attendance.import_roster import RosterSection
from bot.attendance.import_rows import ImportRejected
from bot.attendance.rate_warnings import warn_class
from models import ClassSession


class Importer(ClassSections, RosterSection, AttendanceSection):
    """Applies validated rows inside the caller's transaction; collects every problem before failing."""

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
