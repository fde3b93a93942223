"""privacy and hardening (issue 12): bind throttles, WeChat nonces, security_notice outbox kind

Revision ID: 0002
Revises: 0004
Create Date: 2026-12-01 23:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.base

revision: str = "0002"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = (
    "kind IN ('reply', 'reminder', 'nudge', 'attendance_warning', 'claim_update', "
    "'institution_reminder', 'staff_alert', 'broadcast')"
)
NEW_KINDS = (
    "kind IN ('reply', 'reminder', 'nudge', 'attendance_warning', 'claim_update', "
    "'institution_reminder', 'staff_alert', 'broadcast', 'security_notice')"
)


def upgrade() -> None:
    op.create_table(
        "bind_throttles",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_until", models.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_bind_throttles")),
    )
    with op.batch_alter_table("bind_throttles", schema=None) as batch_op:
        batch_op.create_index("ix_bind_throttles_window", ["window_started_at"], unique=False)
    op.create_table(
        "wechat_nonces",
        sa.Column("nonce", sa.String(length=96), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("seen_at", models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("nonce", name=op.f("pk_wechat_nonces")),
    )
    with op.batch_alter_table("wechat_nonces", schema=None) as batch_op:
        batch_op.create_index("ix_wechat_nonces_seen", ["seen_at"], unique=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbox_kind"), NEW_KINDS)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_outbox_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_outbox_kind"), OLD_KINDS)
    op.drop_table("wechat_nonces")
    op.drop_table("bind_throttles")
