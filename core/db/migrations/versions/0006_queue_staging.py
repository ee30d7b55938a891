"""publishing_queue.stage_state, stage_until, staged: media staged ahead of the scheduled time,
and the index the staging claim walks

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.db.types import JSONType, UTCDateTime

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNSTAGED = "status = 'pending' AND stage_state IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("publishing_queue", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stage_state", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("stage_until", UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("staged", JSONType, nullable=True))
        batch_op.create_index("idx_publishing_queue_to_stage", ["next_attempt_at"], unique=False,
                              postgresql_where=sa.text(UNSTAGED), sqlite_where=sa.text(UNSTAGED))


def downgrade() -> None:
    with op.batch_alter_table("publishing_queue", schema=None) as batch_op:
        batch_op.drop_index("idx_publishing_queue_to_stage")
        batch_op.drop_column("staged")
        batch_op.drop_column("stage_until")
        batch_op.drop_column("stage_state")
