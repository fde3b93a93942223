"""One-time bind codes: how an institution or a bureau links a chat account to a record.

Only a keyed hash of the code is stored, so a leaked table gives no usable
codes; a code works once and only until it expires.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow

# trainee: the chat account becomes the trainee's (ChatUser.trainee_id);
# institution: an institution contact who gets its deadline reminders (ChatUser.institution_id);
# staff: the staff member's own chat account for overdue alerts (StaffAccount.chat_user_id).
BIND_CODE_KINDS = ("trainee", "institution", "staff")


class BindCode(Base):
    __tablename__ = "bind_codes"
    __table_args__ = (
        CheckConstraint(f"kind IN {BIND_CODE_KINDS}", name="kind"),
        CheckConstraint(
            "(kind = 'trainee' AND trainee_id IS NOT NULL)"
            " OR (kind = 'institution' AND institution_id IS NOT NULL)"
            " OR (kind = 'staff' AND staff_id IS NOT NULL)",
            name="target",
        ),
        Index("ix_bind_codes_trainee", "trainee_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    trainee_id: Mapped[int | None] = mapped_column(ForeignKey("trainees.id", ondelete="CASCADE"))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id", ondelete="CASCADE"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by: Mapped[int | None] = mapped_column(ForeignKey("chat_users.id", ondelete="SET NULL"))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
