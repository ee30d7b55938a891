"""Engine, sessions and the unit of work.

A unit of work is one transaction bound to one org: on PostgreSQL the org is written into the
transaction-local setting ``herald.org_id`` that the row-level-security policies read, so a
query that forgets its ``org_id`` filter still cannot see another org's rows. Nothing persists
without ``uow.commit()``; leaving the block otherwise rolls back.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
# A pooled PostgreSQL connection idle for longer than this is pinged before use (the server may
# have restarted meanwhile); one used more recently has just proven itself, and pinging it would
# cost a round trip per transaction on the daemon's hot path.
PING_AFTER_IDLE_SECONDS = 2.0


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
        # jit off: Herald's queries are short, and PostgreSQL's JIT compiles any plan whose cost
        # estimate is high (row-level-security predicates and planner switches inflate those),
        # which costs tens to hundreds of milliseconds of CPU each time.
        engine = create_engine(url, echo=echo, pool_size=10, max_overflow=20,
                               connect_args={"options": "-c jit=off"})
        if self.app_role:
            event.listen(engine, "connect", self._pg_set_role)
        _ping_idle_connections(engine)
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
        _set_scope(connection, session.info.get("org_id"), bool(session.info.get("system")))

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

    @contextmanager
    def transaction(
        self, org_id: uuid.UUID | None = None, *, system: bool = False, readonly: bool = False,
        settings: Mapping[str, str] | None = None,
    ) -> Iterator[Connection]:
        """The unit of work of the queue's hot path: the same scope and rules as
        ``unit_of_work`` (one org, or explicitly the system; nothing persists without
        ``commit()``), on a plain Core connection, without a Session and its identity map.

        ``settings`` are PostgreSQL settings for this transaction only (e.g. planner switches),
        set in the same round trip as the scope.
        """
        if org_id is None and not system:
            raise ValueError("a unit of work needs an org_id (or system=True)")
        conn = self.engine.connect()
        try:
            if self.is_sqlite:
                conn.execution_options(herald_sqlite_begin="DEFERRED" if readonly else "IMMEDIATE")
                conn.begin()
            else:
                conn.begin()
                _set_scope(conn, org_id, system, settings)
            yield conn
        finally:
            conn.close()  # rolls back whatever was not committed

    def dispose(self) -> None:
        self.engine.dispose()


_SCOPE_SQL: dict[int, Any] = {}


def _set_scope(connection: Any, org_id: uuid.UUID | None, system: bool,
               settings: Mapping[str, str] | None = None) -> None:
    """Write the transaction's org (or system) scope, which the RLS policies read, and any
    extra transaction-local settings: one statement, one round trip."""
    extra = list((settings or {}).items())
    sql = _SCOPE_SQL.get(len(extra))
    if sql is None:
        sql = _SCOPE_SQL[len(extra)] = text(
            "SELECT set_config('herald.org_id', :org, true), set_config('herald.system', :sys, true)"
            + "".join(f", set_config(:k{i}, :v{i}, true)" for i in range(len(extra))))
    params: dict[str, Any] = {"org": str(org_id) if org_id else "", "sys": "on" if system else "off"}
    for i, (key, value) in enumerate(extra):
        params[f"k{i}"], params[f"v{i}"] = key, value
    connection.execute(sql, params)


def _ping_idle_connections(engine: Engine) -> None:
    """``pool_pre_ping``, but only for connections that sat idle in the pool for a while."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info["herald_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("herald_idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return  # brand new, or in use moments ago
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception:  # noqa: BLE001 - any failure: replace the connection
            alive = False
        if not alive:
            # The pool discards this connection and checks out (or opens) another one.
            raise DisconnectionError("connection was closed while idle in the pool")


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
