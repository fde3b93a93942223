"""The state every import section shares: the caller's scope, the class cache, the report and the result.

One `ImportContext` lives for one import inside the caller's transaction; the
section appliers (`import_classes`, `import_roster`, `import_attendance`)
extend it, so they all report problems, count rows and look classes up the
same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.attendance.import_rows import SECTIONS
from bot.auth import Principal
from bot.services import Services
from models import TrainingClass


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


class ImportContext:
    """Scope, caches and the growing report of one import; problems are collected, never raised here."""

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
        # Called once per row applied or refused, so a console page can show how far a long import is.
        self.progress: Callable[[], None] | None = None

    def problem(self, section: str, row: int, fld: str | None, message: str) -> None:
        self.report.append({"section": section, "row": row, "field": fld, "message": message})
        if self.progress is not None:
            self.progress()

    def done(self, section: str, row: int, status: str, key: str, **extra: Any) -> None:
        self.result.summary[section].bump(status)
        self.result.rows.append({"section": section, "row": row, "status": status, "key": key, **extra})
        if self.progress is not None:
            self.progress()

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
