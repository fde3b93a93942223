"""Console uploads between the dry run and the import: shared by every serve process.

Behind nginx the confirm POST may reach another process than the one that
checked the file, so the checked upload lives here, not in memory. The file
itself (rosters carry full ID-card numbers) is kept only AES-GCM encrypted in
`blob` and only while it may still be imported; it is set to NULL once the
upload is imported, failed or expired. `report` and `problems` are what staff
read and carry masked numbers only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

# checking: the dry run is running; checked: it passed and may be imported once;
# importing: confirmed, the import is running; imported: done; failed: rejected rows
# (`problems`), a conflict or an error (`message`), or expired before it was used.
UPLOAD_STATES = ("checking", "checked", "importing", "imported", "failed")
LIVE_STATES = ("checking", "checked", "importing")


class ImportUpload(Base):
    __tablename__ = "import_uploads"
    __table_args__ = (
        CheckConstraint(f"state IN {UPLOAD_STATES}", name="state"),
        Index("ix_import_uploads_expires", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The random token in the page's URL; only its owner may use it.
    token: Mapped[str] = mapped_column(String(32), unique=True)
    # `Principal.actor` and `Principal.scope()` of whoever checked it; a confirm needs both unchanged.
    owner: Mapped[str] = mapped_column(String(40))
    scope: Mapped[dict[str, Any]]
    kind: Mapped[str] = mapped_column(String(12))
    # The file's name as shown (personal numbers masked); the real one is inside the blob.
    filename: Mapped[str] = mapped_column(String(200))
    blob: Mapped[bytes | None] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(10), default="checking")
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    # The dry run's (then the import's) result: summary and per-row actions.
    report: Mapped[dict[str, Any] | None]
    # The rows that stopped it: [{section, row, field, message}].
    problems: Mapped[list[Any] | None]
    message: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
