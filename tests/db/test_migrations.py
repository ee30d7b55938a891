"""`alembic upgrade head` on an empty database gives exactly the models' schema, on both databases."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from core.db.engine import admin_engine
from core.db.migrate import downgrade, upgrade
from core.db.models import Base
from tests.conftest import _pg_server_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server = _pg_server_url()
    assert server
    name = f"herald_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(server).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _diff(url: str) -> list:
    engine = admin_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    return diff


def test_alembic_upgrade_head_matches_the_models(empty_database_url: str) -> None:
    # The real CLI, as ops would run it.
    env = {"HERALD_DATABASE_URL": empty_database_url, "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert _diff(empty_database_url) == []
    engine = admin_engine(empty_database_url)
    with engine.connect() as conn:
        inspector = inspect(conn)
        assert set(inspector.get_view_names()) >= {"v_publishing_performance", "v_content_calendar"}
        tables = set(inspector.get_table_names())
        for name in ("scheduled_posts", "platform_posts", "content_library", "publishing_queue",
                     "best_time_recommendations", "orgs", "users", "social_accounts", "approvals",
                     "audit_events", "publish_attempts", "api_tokens", "worker_heartbeats"):
            assert name in tables
        indexes = {ix["name"] for t in tables for ix in inspector.get_indexes(t)}
        for seed_index in ("idx_scheduled_posts_org_status", "idx_scheduled_posts_scheduled_at",
                           "idx_platform_posts_org_platform", "idx_publishing_queue_scheduled_for",
                           "idx_best_times_org_platform_day"):
            assert seed_index in indexes
        # The seed's column names are kept.
        queue_cols = {c["name"] for c in inspector.get_columns("publishing_queue")}
        assert {"queue_id", "scheduled_post_id", "scheduled_for", "attempts", "max_attempts",
                "last_attempt_at", "error_message", "processed_at"} <= queue_cols
    engine.dispose()


def test_migrations_downgrade_to_empty_and_back(empty_database_url: str) -> None:
    upgrade(empty_database_url)
    downgrade(empty_database_url, "base")
    engine = admin_engine(empty_database_url)
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
        assert inspect(conn).get_view_names() == []
    engine.dispose()
    upgrade(empty_database_url)
    assert _diff(empty_database_url) == []


def test_python_m_core_migrate_builds_an_empty_database(empty_database_url: str) -> None:
    env = {"HERALD_DATABASE_URL": empty_database_url, "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "core", "migrate"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "migrated to head" in done.stdout
    assert _diff(empty_database_url) == []
