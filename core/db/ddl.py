"""DDL that the models cannot express: the seed's views, and PostgreSQL row-level security.

Used by the Alembic migrations (and only there), so the migrated schema is the one source of truth.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

# The seed's views, written so that the same SQL runs on SQLite and PostgreSQL.
V_PUBLISHING_PERFORMANCE = """
CREATE VIEW v_publishing_performance {options} AS
SELECT
    sp.org_id,
    sp.post_id,
    sp.title,
    sp.post_type,
    sp.scheduled_at,
    sp.published_at,
    sp.status,
    COUNT(pp.platform_post_id) AS platform_count,
    COALESCE(SUM(pp.likes), 0) AS total_likes,
    COALESCE(SUM(pp.comments), 0) AS total_comments,
    COALESCE(SUM(pp.shares), 0) AS total_shares,
    COALESCE(SUM(pp.views), 0) AS total_views,
    COALESCE(SUM(pp.engagement), 0) AS total_engagement,
    COALESCE(AVG(pp.engagement_rate), 0) AS avg_engagement_rate
FROM scheduled_posts sp
LEFT JOIN platform_posts pp ON sp.post_id = pp.scheduled_post_id
WHERE sp.status IN ('published', 'partially_published')
GROUP BY sp.org_id, sp.post_id, sp.title, sp.post_type, sp.scheduled_at, sp.published_at, sp.status
"""

V_CONTENT_CALENDAR = """
CREATE VIEW v_content_calendar {options} AS
SELECT
    sp.post_id,
    sp.org_id,
    sp.title,
    sp.content,
    sp.post_type,
    sp.platforms,
    sp.status,
    sp.approval_status,
    sp.scheduled_at,
    sp.published_at,
    sp.created_by,
    u.name AS creator_name,
    COUNT(pp.platform_post_id) AS platform_count,
    COALESCE(SUM(pp.engagement), 0) AS total_engagement
FROM scheduled_posts sp
LEFT JOIN users u ON sp.created_by = u.user_id
LEFT JOIN platform_posts pp ON sp.post_id = pp.scheduled_post_id
GROUP BY sp.post_id, sp.org_id, sp.title, sp.content, sp.post_type, sp.platforms, sp.status,
         sp.approval_status, sp.scheduled_at, sp.published_at, sp.created_by, u.name
"""

VIEWS = {"v_publishing_performance": V_PUBLISHING_PERFORMANCE, "v_content_calendar": V_CONTENT_CALENDAR}


def create_view_sql(name: str, dialect: str) -> str:
    # security_invoker: the view runs with the caller's rights, so RLS on the base tables applies
    # (a plain view runs as its owner and would leak every org's rows).
    options = "WITH (security_invoker = true)" if dialect == "postgresql" else ""
    return VIEWS[name].format(options=options)


# A row is visible when it belongs to the org set for this transaction, or when the transaction
# runs in the explicit system scope (login lookup, token lookup, the daemon's cross-org claim).
ORG_VISIBLE = (
    "(current_setting('herald.system', true) = 'on' "
    "OR {column} = NULLIF(current_setting('herald.org_id', true), '')::uuid)"
)


def rls_statements(table: str, column: str = "org_id") -> list[str]:
    check = ORG_VISIBLE.format(column=column)
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        # FORCE: the owner is bound too (only superusers and BYPASSRLS roles escape).
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"DROP POLICY IF EXISTS org_isolation ON {table}",
        f"CREATE POLICY org_isolation ON {table} USING {check} WITH CHECK {check}",
    ]


def app_role_statements(role: str) -> list[str]:
    """Create the app's role (no BYPASSRLS) and grant it data access, not DDL."""
    return [
        f"""
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
        CREATE ROLE {role} NOLOGIN NOSUPERUSER NOBYPASSRLS;
    END IF;
END
$$""",
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        f"REVOKE ALL ON TABLE alembic_version FROM {role}",
    ]


# --- data versions (data_versions): what the dashboard's caches are keyed by -----------------
DATA_VERSION_SLOTS = 256  # version rows per org on PostgreSQL (see core.db.models.DataVersion)

# A write to an area's table changes the org's version of that area in the same transaction, by
# trigger, so every writer (services, the daemon's Core hot path, the API, raw SQL) is covered.
#
# PostgreSQL: one statement-level trigger per table and event, with transition tables, writes
# the writing transaction's id (xid8: it only grows) as the version, in the row of the org and of
# this connection's slot (backend pid modulo DATA_VERSION_SLOTS; see DataVersion for why), orgs
# in id order, so writers that do share a slot lock rows in the same order. Within a transaction
# the second and later writes find the version already equal to their own id and change nothing
# (the WHERE of the upsert), so a batch of single-row statements costs one row update, not one
# per statement. The reader folds the slots into one number (core.services.data_versions): a
# transaction's id is written only by it, so every committed write yields a combination of slot
# values never seen before (a slot can go down when two writers share it, never come back).
# The function pins its own planner settings: it runs inside the queue's claim transaction, whose
# enable_sort = off (see queue_sql.CLAIM_PLANNER) made this 16-row sort "cost" 1e10, which
# switched on JIT compilation: 160 ms of CPU per claim.
# SQLite: row-level triggers count in slot 0 (one writer at a time: nothing to contend on).
_PG_DATA_VERSION_FUNCTION = """
CREATE OR REPLACE FUNCTION herald_data_changed_{area}() RETURNS trigger LANGUAGE plpgsql
SET enable_sort = on SET jit = off AS $$
DECLARE
    tx bigint := pg_current_xact_id()::text::bigint;
    my_slot smallint := pg_backend_pid() % {slots};
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO data_versions AS v (org_id, slot, {area})
        SELECT DISTINCT org_id, my_slot, tx FROM old_rows ORDER BY org_id
        ON CONFLICT (org_id, slot) DO UPDATE SET {area} = excluded.{area}
        WHERE v.{area} <> excluded.{area};
    ELSE
        INSERT INTO data_versions AS v (org_id, slot, {area})
        SELECT DISTINCT org_id, my_slot, tx FROM new_rows ORDER BY org_id
        ON CONFLICT (org_id, slot) DO UPDATE SET {area} = excluded.{area}
        WHERE v.{area} <> excluded.{area};
    END IF;
    RETURN NULL;
END
$$"""
_SQLITE_DATA_VERSION_TRIGGER = """
CREATE TRIGGER {table}_data_changed_{event} AFTER {EVENT} ON {table} FOR EACH ROW
BEGIN
    INSERT INTO data_versions (org_id, slot, {area}) VALUES ({row}.org_id, 0, 1)
    ON CONFLICT (org_id, slot) DO UPDATE SET {area} = {area} + 1;
END"""
_EVENTS = ("insert", "update", "delete")


def data_version_statements(areas: Mapping[str, Sequence[str]], dialect: str) -> list[str]:
    """The triggers (and, on PostgreSQL, their functions) that keep data_versions current."""
    statements = []
    for area, tables in areas.items():
        if dialect == "postgresql":
            statements.append(_PG_DATA_VERSION_FUNCTION.format(area=area, slots=DATA_VERSION_SLOTS))
        for table in tables:
            for event in _EVENTS:
                if dialect == "postgresql":
                    rows = "OLD TABLE AS old_rows" if event == "delete" else "NEW TABLE AS new_rows"
                    statements.append(
                        f"CREATE TRIGGER {table}_data_changed_{event} AFTER {event.upper()} ON {table} "
                        f"REFERENCING {rows} FOR EACH STATEMENT EXECUTE FUNCTION herald_data_changed_{area}()")
                else:
                    statements.append(_SQLITE_DATA_VERSION_TRIGGER.format(
                        table=table, event=event, EVENT=event.upper(), area=area,
                        row="OLD" if event == "delete" else "NEW"))
    return statements


def drop_data_version_statements(areas: Mapping[str, Sequence[str]], dialect: str) -> list[str]:
    statements = []
    for area, tables in areas.items():
        for table in tables:
            for event in _EVENTS:
                on = f" ON {table}" if dialect == "postgresql" else ""
                statements.append(f"DROP TRIGGER IF EXISTS {table}_data_changed_{event}{on}")
        if dialect == "postgresql":
            statements.append(f"DROP FUNCTION IF EXISTS herald_data_changed_{area}()")
    return statements
