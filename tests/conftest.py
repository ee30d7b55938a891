"""Test databases: every database test runs on SQLite, and on PostgreSQL when configured.

- ``HERALD_TEST_DATABASE_URL`` (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres) names
  a server; the tests create their own database on it, migrate it once per session, empty it
  after each test and drop it at the end.
- ``HERALD_REQUIRE_POSTGRES=1`` turns a missing or unreachable PostgreSQL into a failed run
  (CI sets it), instead of quietly running on SQLite only.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core.clock import FixedClock
from core.config import Settings
from core.db.engine import Database
from core.db.migrate import upgrade
from core.db.models import Base
from core.platforms.sandbox import Sandbox
from core.services.connectors import ConnectorPool
from core.services.container import Herald
from core.services.context import Actor

PG_ENV = "HERALD_TEST_DATABASE_URL"
REQUIRE_ENV = "HERALD_REQUIRE_POSTGRES"
# Tuesday 24 November 2026, 09:00 UTC: a fixed "now" for every service test.
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
SECRET_KEY = Fernet.generate_key().decode()


def _pg_server_url() -> str | None:
    url = os.environ.get(PG_ENV, "").strip()
    if not url:
        return None
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _pg_problem() -> str | None:
    url = _pg_server_url()
    if url is None:
        return f"{PG_ENV} is not set"
    try:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "unreachable"
        return f"PostgreSQL at {make_url(url).render_as_string(hide_password=True)} is unreachable: {exc}"
    return None


_PG_PROBLEM: str | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _PG_PROBLEM
    _PG_PROBLEM = _pg_problem()
    if _PG_PROBLEM and os.environ.get(REQUIRE_ENV) == "1":
        raise pytest.UsageError(f"{REQUIRE_ENV}=1 but {_PG_PROBLEM}")


def pytest_report_header(config: pytest.Config) -> str:
    if _PG_PROBLEM:
        return f"databases: SQLite only ({_PG_PROBLEM}); set {PG_ENV} to also run on PostgreSQL"
    return "databases: SQLite and PostgreSQL"


def backends() -> list[str]:
    return ["sqlite"] if _PG_PROBLEM else ["sqlite", "postgresql"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        names = backends()
        if metafunc.definition.get_closest_marker("postgres_only"):
            names = [n for n in names if n == "postgresql"]
        metafunc.parametrize("backend", names, scope="session")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In a SQLite-only run, skip every ``postgres_only`` test with the reason: the ones that
    take ``backend`` would be left with no parameter anyway, and one that takes no ``backend``
    (it starts a PostgreSQL of its own, say) would otherwise run. With ``HERALD_REQUIRE_POSTGRES=1``
    there is no SQLite-only run: ``pytest_configure`` has already failed it."""
    if not _PG_PROBLEM:
        return
    skip = pytest.mark.skip(reason=f"PostgreSQL only, and {_PG_PROBLEM}")
    for item in items:
        if item.get_closest_marker("postgres_only"):
            item.add_marker(skip, append=False)


# --- PostgreSQL: one migrated database per test session (per xdist worker) ------------------

class PgTestDatabase:
    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.name = f"herald_test_{uuid.uuid4().hex[:12]}"
        self.url = make_url(server_url).set(database=self.name).render_as_string(hide_password=False)
        self._admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        upgrade(self.url)
        self.owner = create_engine(self.url, isolation_level="AUTOCOMMIT")
        self.tables = [t.name for t in Base.metadata.sorted_tables]

    def clean(self) -> None:
        with self.owner.connect() as conn:
            conn.execute(text(f"TRUNCATE {', '.join(self.tables)} CASCADE"))

    def drop(self) -> None:
        self.owner.dispose()
        with self._admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self._admin.dispose()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[PgTestDatabase]:
    url = _pg_server_url()
    assert url is not None
    database = PgTestDatabase(url)
    yield database
    database.drop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "herald.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "herald.db"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    pg: PgTestDatabase = request.getfixturevalue("pg_database")
    pg.clean()
    yield pg.url
    pg.clean()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def sandbox(clock: FixedClock) -> Sandbox:
    """A fresh platform simulator per test, on the test's clock."""
    return Sandbox(clock=clock)


@pytest.fixture
def herald(database_url: str, clock: FixedClock, sandbox: Sandbox, tmp_path: Path) -> Iterator[Herald]:
    settings = Settings(database_url=database_url, database_role="herald_app", secret_key=SECRET_KEY,
                        data_dir=tmp_path / "data", platform_mode="sandbox", sandbox_url=None)
    db = Database(database_url, app_role="herald_app")
    # Waiting for the networks' async processing moves the fake clock instead of sleeping.
    connectors = ConnectorPool(settings, clock=clock, sandbox=sandbox,
                               sleep=lambda seconds: clock.advance(timedelta(seconds=seconds)))
    app = Herald.create(settings, clock=clock, db=db, hasher=FAST_HASHER, connectors=connectors)
    yield app
    app.close()


# --- a ready org with one user per role ---------------------------------------------------

class Team:
    def __init__(self, herald: Herald, timezone: str = "Europe/London", **org_settings: object) -> None:
        self.org = herald.orgs.create_org("Acme", timezone, **org_settings)
        self.actors: dict[str, Actor] = {}
        for role in ("admin", "manager", "editor", "viewer"):
            user = herald.users.create_user(
                None, org_id=self.org.org_id, email=f"{role}.{uuid.uuid4().hex[:6]}@acme.test",
                name=f"{role.title()} User", role=role, password="correct horse battery")
            self.actors[role] = user.actor()
        self.admin = self.actors["admin"]
        self.manager = self.actors["manager"]
        self.editor = self.actors["editor"]
        self.viewer = self.actors["viewer"]

    def add_user(self, herald: Herald, role: str) -> Actor:
        user = herald.users.create_user(
            None, org_id=self.org.org_id, email=f"{role}.{uuid.uuid4().hex[:6]}@acme.test",
            name=f"Another {role}", role=role, password="correct horse battery")
        return user.actor()


def connect_sandbox_account(herald: Herald, sandbox: Sandbox, team: Team, platform: str, *,
                            refresh: bool = True, expires_in: timedelta | None = None) -> str:
    """An account on the sandbox network, connected to the team's org. Returns its id there."""
    # Numeric ids, as the networks use (the simulated Graph API routes on them); Snapchat's
    # public profile ids are UUIDs.
    external = str(uuid.uuid4()) if platform == "snapchat" else str(10**14 + uuid.uuid4().int % 10**14)
    token, refresh_token = f"tok-{uuid.uuid4().hex}", (f"ref-{uuid.uuid4().hex}" if refresh else None)
    expires_at = herald.clock.now() + expires_in if expires_in else None
    account = sandbox.register_account(platform, external, f"acme_{platform}", token, refresh_token, expires_at)
    herald.accounts.connect(None, org_id=team.org.org_id, platform=platform, external_account_id=external,
                            username=account.username, access_token=token, refresh_token=refresh_token,
                            expires_at=expires_at, extra=dict(account.extra))
    return external


@pytest.fixture
def team(herald: Herald) -> Team:
    return Team(herald)


@pytest.fixture
def other_team(herald: Herald) -> Team:
    return Team(herald, "America/New_York")
