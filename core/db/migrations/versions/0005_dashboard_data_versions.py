"""data_versions (per org, slot and area, changed by triggers in the writing transaction) for the
dashboard's cache keys; an index on scheduled_posts (org_id, published_at) for the date-window
reads of the calendar and the performance page

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.config import get_settings
from core.db import ddl

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As of this revision (core.db.models.DATA_AREAS may grow; a later revision adds its triggers).
AREAS = {
    "posts": ("scheduled_posts",),
    "metrics": ("platform_posts",),
    "best_times": ("best_time_recommendations",),
    "library": ("content_library",),
    "accounts": ("social_accounts",),
    "settings": ("orgs",),
}


def upgrade() -> None:
    with op.batch_alter_table("scheduled_posts", schema=None) as batch_op:
        batch_op.create_index("idx_scheduled_posts_org_published_at", ["org_id", "published_at"], unique=False)
    op.create_table(
        "data_versions",
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("slot", sa.SmallInteger(), server_default="0", nullable=False),
        *(sa.Column(area, sa.BigInteger(), server_default="0", nullable=False) for area in AREAS),
        sa.PrimaryKeyConstraint("org_id", "slot", name=op.f("pk_data_versions")),
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for statement in ddl.rls_statements("data_versions"):
            op.execute(statement)
        role = get_settings().database_role
        if role:  # the triggers run as the writer, i.e. this role
            op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON data_versions TO {role}")
    for statement in ddl.data_version_statements(AREAS, dialect):
        op.execute(statement)


def downgrade() -> None:
    for statement in ddl.drop_data_version_statements(AREAS, op.get_bind().dialect.name):
        op.execute(statement)
    op.drop_table("data_versions")
    with op.batch_alter_table("scheduled_posts", schema=None) as batch_op:
        batch_op.drop_index("idx_scheduled_posts_org_published_at")
