"""publishing_queue.stage_state, stage_until, staged: media staged ahead of the scheduled time,
and the index the staging claim walks; the queue's NOTIFY on UPDATE only for rows that became
pending or fell due earlier (staging updates pending rows in place, and must not wake every idle
daemon each time)

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


    if op.get_bind().dialect.name == "postgresql":
        op.execute("""
CREATE OR REPLACE FUNCTION herald_queue_notify_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- A worker sleeps until the earliest due item: wake it only when a row became pending (a
    -- retry, "publish now") or falls due earlier than before, not for changes to other columns.
    IF EXISTS (SELECT 1 FROM new_rows AS n JOIN old_rows AS o ON o.queue_id = n.queue_id
                WHERE n.status = 'pending'
                  AND (o.status <> 'pending' OR n.next_attempt_at < o.next_attempt_at)) THEN
        PERFORM pg_notify('herald_queue', '');
    END IF;
    RETURN NULL;
END
$$""")
        op.execute("DROP TRIGGER IF EXISTS publishing_queue_notify_update ON publishing_queue")
        op.execute("""
CREATE TRIGGER publishing_queue_notify_update
AFTER UPDATE ON publishing_queue REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION herald_queue_notify_moved()""")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS publishing_queue_notify_update ON publishing_queue")
        op.execute("""
CREATE TRIGGER publishing_queue_notify_update
AFTER UPDATE ON publishing_queue REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION herald_queue_notify()""")
        op.execute("DROP FUNCTION IF EXISTS herald_queue_notify_moved()")
    with op.batch_alter_table("publishing_queue", schema=None) as batch_op:
        batch_op.drop_index("idx_publishing_queue_to_stage")
        batch_op.drop_column("staged")
        batch_op.drop_column("stage_until")
        batch_op.drop_column("stage_state")
