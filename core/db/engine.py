"""Engine, sessions and the unit of work.

A unit of work is one transaction bound to one org: on PostgreSQL the org is written into the
transaction-local setting ``herald.org_id`` that the row-level-security policies read, so a
query that forgets its ``org_id`` filter still cannot see another org's rows. Nothing persists
without ``uow.commit()``; leaving the block otherwise rolls back.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000


class UnitOfWork:
    """One transaction, one org. ``session`` is a plain SQLAlchemy session."""

    def __init__(self, session: Session, org_id: uuid.UUID | None, system: bool) -> None:
        self.session = session
        self.org_id = org_id
        self.system = system
        self._committed = False

    def commit(self) -> None:
        self.session.commit()
        self._committed = True

    def flush(self) -> None:
        self.session.flush()


class Database:
    def __init__(self, url: str, *, app_role: str | None = None, echo: bool = False) -> None:
        self.url = url
        self.dialect = make_url(url).get_backend_name()
        self.app_role = app_role if self.dialect == "postgresql" else None
        self.engine = self._create_engine(url, echo)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=True)
        event.listen(self._sessions, "after_begin", self._scope_transaction)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def _create_engine(self, url: str, echo: bool) -> Engine:
        if self.dialect == "sqlite":
            path = make_url(url).database
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(
                url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}
            )
            event.listen(engine, "connect", _sqlite_on_connect)
            event.listen(engine, "begin", _sqlite_on_begin)
            return engine
        engine = create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)
        if self.app_role:
            event.listen(engine, "connect", self._pg_set_role)
        return engine

    def _pg_set_role(self, dbapi_conn: Any, _record: Any) -> None:
        # Runs as the login user once per new connection; from then on every statement runs as
        # the app role, which has no BYPASSRLS and owns nothing.
        autocommit = dbapi_conn.autocommit
        dbapi_conn.autocommit = True
        try:
            with dbapi_conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (self.app_role,))
                if cur.fetchone() is None:
                    raise RuntimeError(
                        f"PostgreSQL role '{self.app_role}' does not exist: "
                        "run `python -m core migrate` first"
                    )
                cur.execute(f'SET ROLE "{self.app_role}"')
        finally:
            dbapi_conn.autocommit = autocommit

    def _scope_transaction(self, session: Session, _tx: Any, connection: Any) -> None:
        if self.dialect != "postgresql":
            return
        org_id = session.info.get("org_id")
        connection.execute(
            text("SELECT set_config('herald.org_id', :org, true), set_config('herald.system', :sys, true)"),
            {"org": str(org_id) if org_id else "", "sys": "on" if session.info.get("system") else "off"},
        )

    @contextmanager
    def unit_of_work(
        self, org_id: uuid.UUID | None = None, *, system: bool = False, readonly: bool = False
    ) -> Iterator[UnitOfWork]:
        """Open a transaction scoped to ``org_id`` (or, explicitly, to the whole system).

        ``system=True`` is for the few cross-org paths (login, API-token lookup, the queue
        daemon, admin commands); everything else must name its org.
        """
        if org_id is None and not system:
            raise ValueError("a unit of work needs an org_id (or system=True)")
        session = self._sessions()
        session.info["org_id"] = org_id
        session.info["system"] = system
        uow = UnitOfWork(session, org_id, system)
        try:
            if self.is_sqlite:
                session.connection(
                    execution_options={"herald_sqlite_begin": "DEFERRED" if readonly else "IMMEDIATE"}
                )
            yield uow
        finally:
            if not uow._committed:
                session.rollback()
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own handling is broken for
    # SAVEPOINT and defers the write lock, which turns concurrent writers into SQLITE_BUSY).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys = ON")
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cur.close()


def _sqlite_on_begin(conn: Any) -> None:
    # Writers take the lock up front (BEGIN IMMEDIATE): one writer transaction at a time, and
    # waiting on busy_timeout instead of failing midway when two writers meet.
    mode = conn.get_execution_options().get("herald_sqlite_begin", "IMMEDIATE")
    conn.exec_driver_sql(f"BEGIN {mode}")


def admin_engine(url: str) -> Engine:
    """An engine for migrations and admin DDL: the login user, no role switch, no pooling."""
    if make_url(url).get_backend_name() == "sqlite":
        engine = create_engine(url, poolclass=NullPool)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    return create_engine(url, poolclass=NullPool)
