"""publish_attempts.retry_after: the time a network said it would take the call again (its
rate-limit reset, a ``Retry-After``), kept with the attempt it answered, so the history shows
why an item waited and that the next attempt did not start before it

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.db.types import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("publish_attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retry_after", UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("publish_attempts", schema=None) as batch_op:
        batch_op.drop_column("retry_after")
