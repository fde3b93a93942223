"""outbox deadlines (earliest deadline first), institution reminder defaults, delivery counters, reminder plans

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deadline_at", models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.drop_index("ix_outbox_lane_due")
        batch_op.create_index(
            "ix_outbox_lane_deadline", ["status", "lane", "deadline_at", "due_at", "id"], unique=False
        )
    # Reminders already queued get their class start as deadline (their key names the session).
    op.execute(
        "UPDATE outbox SET deadline_at = (SELECT s.starts_at FROM class_sessions s"
        " WHERE 'reminder:' || s.id || ':' || outbox.chat_user_id = outbox.idempotency_key)"
        " WHERE kind = 'reminder' AND status = 'pending'"
    )
    with op.batch_alter_table("institutions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminder_evening_at", sa.Time(), nullable=True))
        batch_op.add_column(sa.Column("reminder_minutes_before", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            "reminder", "reminder_minutes_before IS NULL OR reminder_minutes_before >= 0"
        )
    op.create_table(
        "delivery_counts",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("counter", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "day", "counter", name=op.f("pk_delivery_counts")),
    )
    op.create_table(
        "reminder_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.Column("moved", sa.Integer(), nullable=False),
        sa.Column("capacity_per_minute", sa.Float(), nullable=False),
        sa.Column("first_due_at", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("templates_needed", sa.Integer(), nullable=False),
        sa.Column("templates_left", sa.Integer(), nullable=True),
        sa.Column("alerts", models.base.JSONType, nullable=False),
        sa.Column("planned_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_plans")),
        sa.UniqueConstraint("day", "channel", name=op.f("uq_reminder_plans_day_channel")),
    )


def downgrade() -> None:
    op.drop_table("reminder_plans")
    op.drop_table("delivery_counts")
    with op.batch_alter_table("institutions", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_institutions_reminder"), type_="check")
        batch_op.drop_column("reminder_minutes_before")
        batch_op.drop_column("reminder_evening_at")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_lane_deadline")
        batch_op.create_index("ix_outbox_lane_due", ["status", "lane", "due_at", "id"], unique=False)
        batch_op.drop_column("deadline_at")
