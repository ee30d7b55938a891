"""publishing_queue.reconcile_checks

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("publishing_queue", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reconcile_checks", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("publishing_queue", schema=None) as batch_op:
        batch_op.drop_column("reconcile_checks")
