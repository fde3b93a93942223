"""drop chat_users.handoff_requested_at (written on every hand-over, never read: the handovers table says it)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 05:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chat_users", schema=None) as batch_op:
        batch_op.drop_column("handoff_requested_at")


def downgrade() -> None:
    with op.batch_alter_table("chat_users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("handoff_requested_at", models.base.UTCDateTime(timezone=True), nullable=True)
        )
