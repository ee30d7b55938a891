"""NOTIFY herald_queue when pending queue items are added or moved (PostgreSQL only)

Idle daemons LISTEN on the channel, so a post scheduled for "now" is picked up at once instead of
at the next poll. Statement-level: one notification per statement, however many rows it touched.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("""
CREATE OR REPLACE FUNCTION herald_queue_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Only statements that leave pending rows matter (a claim moves rows away from pending).
    IF EXISTS (SELECT 1 FROM new_rows WHERE status = 'pending') THEN
        PERFORM pg_notify('herald_queue', '');
    END IF;
    RETURN NULL;
END
$$""")
    for event in ("INSERT", "UPDATE"):
        op.execute(f"""
CREATE TRIGGER publishing_queue_notify_{event.lower()}
AFTER {event} ON publishing_queue REFERENCING NEW TABLE AS new_rows
FOR EACH STATEMENT EXECUTE FUNCTION herald_queue_notify()""")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for event in ("insert", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS publishing_queue_notify_{event} ON publishing_queue")
    op.execute("DROP FUNCTION IF EXISTS herald_queue_notify()")
