"""idempotency_keys: the API's Idempotency-Key, stored so a retry in any process replays the first
response instead of creating again; org-scoped by row-level security like every org table.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import core.db.types
from core.config import get_settings
from core.db import ddl

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('idempotency_keys',
    sa.Column('idempotency_id', sa.Uuid(), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('request_fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('locked_until', core.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', core.db.types.UTCDateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('completed_at', core.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['org_id'], ['orgs.org_id'], name=op.f('fk_idempotency_keys_org_id_orgs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.user_id'], name=op.f('fk_idempotency_keys_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('idempotency_id', name=op.f('pk_idempotency_keys')),
    sa.UniqueConstraint('org_id', 'key', name='uq_idempotency_keys_org_key')
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in ddl.rls_statements("idempotency_keys"):
        op.execute(statement)
    role = get_settings().database_role
    if role:  # 0001's default privileges cover new tables too; said again so it never depends on them
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO {role}")


def downgrade() -> None:
    op.drop_table('idempotency_keys')
