"""job_runs: when each of the daemons' periodic jobs last started and finished, so a job runs once
per interval across all daemons (not once per daemon, nor again at every daemon's start);
cluster-level like worker_heartbeats, so no org and no row-level security

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.config import get_settings
from core.db.types import UTCDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("job_name", sa.String(length=100), nullable=False),
        sa.Column("last_started_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_finished_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("worker_id", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("job_name", name=op.f("pk_job_runs")),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    role = get_settings().database_role
    if role:  # 0001's default privileges cover new tables too; said again so it never depends on them
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON job_runs TO {role}")


def downgrade() -> None:
    op.drop_table("job_runs")
