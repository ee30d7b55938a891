"""DDL that the models cannot express: the seed's views, and PostgreSQL row-level security.

Used by the Alembic migrations (and only there), so the migrated schema is the one source of truth.
"""

from __future__ import annotations

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
