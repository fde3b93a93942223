"""outbox: delivery lanes, claim fencing (lease token, epoch), unknown outcomes

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 23:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("lane", sa.String(length=12), server_default="reminder", nullable=False)
        )
        batch_op.add_column(sa.Column("lease_token", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("claim_epoch", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("unknown_outcomes", sa.Integer(), server_default="0", nullable=False))
        batch_op.create_check_constraint("lane", "lane IN ('reply', 'reminder', 'broadcast')")
        batch_op.drop_index("ix_outbox_kind_due")
        batch_op.create_index("ix_outbox_lane_due", ["status", "lane", "due_at", "id"], unique=False)
    # Rows already queued keep the order they had: replies first, broadcasts last.
    op.execute("UPDATE outbox SET lane = 'reply' WHERE kind = 'reply'")
    op.execute("UPDATE outbox SET lane = 'broadcast' WHERE kind = 'broadcast'")


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_lane_due")
        batch_op.create_index("ix_outbox_kind_due", ["status", "kind", "due_at", "id"], unique=False)
        batch_op.drop_constraint(op.f("ck_outbox_lane"), type_="check")
        batch_op.drop_column("unknown_outcomes")
        batch_op.drop_column("claim_epoch")
        batch_op.drop_column("lease_token")
        batch_op.drop_column("lane")
