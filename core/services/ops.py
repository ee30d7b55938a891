"""What ops need: worker heartbeats, cluster-wide periodic jobs, and the queue at a glance."""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from core.db.engine import Database
from core.db.models import JobRun, PublishingQueueItem, ScheduledPost, WorkerHeartbeat
from core.services.base import Service
from core.services.context import Actor

STALE_AFTER = timedelta(seconds=30)
# A periodic job is due again once its interval less this share of it has passed since its last
# run started: the daemons' timers fire a little late (the lock, the clock read), and a run that
# started a few seconds after its time must not make the next one, exactly an interval later,
# look early and be skipped. Weekly: 8.4 hours; hourly: 3 minutes; every 10 minutes: 30 seconds.
RUN_SLACK = 0.05
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HeartbeatView:
    worker_id: str
    host: str
    pid: int
    started_at: datetime
    last_seen_at: datetime
    items_processed: int
    info: dict[str, Any]
    alive: bool


@dataclass(frozen=True)
class JobRunView:
    job_name: str
    last_started_at: datetime
    last_finished_at: datetime | None  # None: running, or it did not finish (it is due again)
    worker_id: str


@dataclass(frozen=True)
class QueueItemView:
    """One queue item as ops read it: which post, which network, where it stands and why."""

    queue_id: uuid.UUID
    post_id: uuid.UUID
    title: str
    platform: str
    status: str
    scheduled_for: datetime
    next_attempt_at: datetime
    attempts: int
    max_attempts: int
    last_attempt_at: datetime | None
    error_message: str | None  # the network's own message for failures
    stage_state: str | None = None  # media staged ahead of time: staging | staged | nothing | failed


def circuit_states(heartbeats: list[HeartbeatView]) -> list[dict[str, Any]]:
    """Every worker's circuit breakers (from its heartbeat), one row per worker x network."""
    return [{"worker_id": h.worker_id, "platform": platform, "alive": h.alive, **dict(state)}
            for h in heartbeats for platform, state in sorted((h.info.get("circuits") or {}).items())]


_LOCAL_LOCKS: dict[str, threading.Lock] = {}
_LOCAL_LOCKS_GUARD = threading.Lock()


@contextmanager
def cluster_lock(db: Database, name: str) -> Iterator[bool]:
    """A PostgreSQL advisory lock (session level, on a connection of its own), so no two daemons
    run the job ``name`` at the same time. Yields whether this process got it (it never waits).
    It is released when the block ends, or by PostgreSQL when the daemon dies. SQLite has one
    daemon: a lock of this process only. On its own it does not make a job run once per
    interval (each daemon's timer would run it in turn): see ``OpsService.periodic_run``."""
    if db.is_sqlite:
        with _LOCAL_LOCKS_GUARD:
            local = _LOCAL_LOCKS.setdefault(f"{db.url}|{name}", threading.Lock())
        got = local.acquire(blocking=False)
        try:
            yield got
        finally:
            if got:
                local.release()
        return
    key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
    with db.engine.connect() as conn:
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
        try:
            yield got
        finally:
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()


@dataclass(frozen=True)
class Health:
    """What a load balancer or uptime check asks: is the database there, are daemons alive."""

    database_ok: bool
    last_heartbeat: datetime | None
    daemons_alive: int
    checked_at: datetime


def run_is_due(run: JobRun | None, every: timedelta, now: datetime) -> bool:
    """A periodic job is due when it never ran, when its last run did not finish (it failed,
    was cut short by a shutdown, or its daemon died: nobody is running it, since the caller holds
    its lock), or when most of ``every`` (all but ``RUN_SLACK`` of it) has passed since that run
    started, on whichever daemon."""
    if run is None or run.last_finished_at is None:
        return True
    return run.last_started_at <= now - every * (1 - RUN_SLACK)


class OpsService(Service):
    @contextmanager
    def periodic_run(self, name: str, *, every: timedelta | None, worker_id: str) -> Iterator[bool]:
        """Whether this daemon runs the periodic job ``name`` now; run it inside the block.

        Holding the job's ``cluster_lock`` (so nobody else is running it), and with ``every``,
        only if the job is due cluster-wide (``run_is_due``, from ``job_runs``): the start is
        recorded before the block runs, and the finish when it ends without an exception. So
        with N daemons, each with its own timer (and its first run soon after it starts), a job
        runs once per interval across them all, and a daemon started (or restarted) the day after
        a weekly run does not run it again. ``every=None``: the lock only, for jobs whose
        repetition is harmless (each daemon's timer runs them, one at a time)."""
        with cluster_lock(self.db, f"herald:{name}") as got:
            started = got and (every is None or self._start_run(name, every, worker_id))
            yield bool(started)
            if started and every is not None:
                self._finish_run(name)

    def _start_run(self, name: str, every: timedelta, worker_id: str) -> bool:
        now = self.now()
        with self.db.unit_of_work(system=True) as uow:
            run = uow.session.get(JobRun, name, with_for_update=True)
            if not run_is_due(run, every, now):
                return False
            if run is None:
                run = JobRun(job_name=name)
                uow.session.add(run)
            run.last_started_at, run.last_finished_at, run.worker_id = now, None, worker_id
            uow.commit()
        return True

    def _finish_run(self, name: str) -> None:
        with self.db.unit_of_work(system=True) as uow:
            run = uow.session.get(JobRun, name, with_for_update=True)
            if run is not None:
                run.last_finished_at = self.now()
                uow.commit()

    def job_runs(self) -> dict[str, JobRunView]:
        """When each periodic job (run once per interval) last started and finished, and where."""
        with self.db.unit_of_work(system=True, readonly=True) as uow:
            return {r.job_name: JobRunView(r.job_name, r.last_started_at, r.last_finished_at, r.worker_id)
                    for r in uow.session.scalars(select(JobRun))}

    def health(self) -> Health:
        """One read of the heartbeats; a database that cannot answer is reported, not raised."""
        now = self.now()
        try:
            beats = self.heartbeats()
        except (SQLAlchemyError, RuntimeError):  # RuntimeError: the app role is missing
            log.warning("health check: the database did not answer", exc_info=True)
            return Health(False, None, 0, now)
        return Health(True, max((h.last_seen_at for h in beats), default=None),
                      sum(h.alive for h in beats), now)

    def beat(self, worker_id: str, *, started_at: datetime, processed: int, info: dict[str, Any]) -> None:
        now = self.now()
        with self.db.unit_of_work(system=True) as uow:
            row = uow.session.get(WorkerHeartbeat, worker_id)
            if row is None:
                row = WorkerHeartbeat(worker_id=worker_id, host=socket.gethostname(), pid=os.getpid(),
                                      started_at=started_at, last_seen_at=now)
                uow.session.add(row)
            row.last_seen_at = now
            row.items_processed = processed
            row.info = info
            uow.commit()

    def forget(self, worker_id: str) -> None:
        with self.db.unit_of_work(system=True) as uow:
            uow.session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.worker_id == worker_id))
            uow.commit()

    def heartbeats(self) -> list[HeartbeatView]:
        now = self.now()
        with self.db.unit_of_work(system=True, readonly=True) as uow:
            return [HeartbeatView(h.worker_id, h.host, h.pid, h.started_at, h.last_seen_at, h.items_processed,
                                  dict(h.info or {}), now - h.last_seen_at < STALE_AFTER)
                    for h in uow.session.scalars(select(WorkerHeartbeat).order_by(WorkerHeartbeat.worker_id))]

    def last_heartbeat(self) -> datetime | None:
        with self.db.unit_of_work(system=True, readonly=True) as uow:
            value = uow.session.scalar(select(func.max(WorkerHeartbeat.last_seen_at)))
        if value is not None and value.tzinfo is None:
            from datetime import UTC
            value = value.replace(tzinfo=UTC)
        return value

    def queue_items(self, actor: Actor, *, statuses: tuple[str, ...], limit: int = 50,
                    newest_first: bool = True) -> list[QueueItemView]:
        """The org's items in ``statuses``: by last attempt, newest first (failures), or by due
        time, oldest first (``newest_first=False``: what is waiting longest)."""
        q = PublishingQueueItem
        order = ((func.coalesce(q.last_attempt_at, q.next_attempt_at).desc(),) if newest_first
                 else (q.next_attempt_at.asc(),))
        with self.uow(actor, readonly=True) as uow:
            rows = uow.session.execute(
                select(q, ScheduledPost.title, ScheduledPost.content)
                .join(ScheduledPost, ScheduledPost.post_id == q.scheduled_post_id)
                .where(q.org_id == actor.org_id, q.status.in_(statuses))
                .order_by(*order, q.queue_id).limit(limit))
            return [QueueItemView(i.queue_id, i.scheduled_post_id, title or (content or "")[:60], i.platform,
                                  i.status, i.scheduled_for, i.next_attempt_at, i.attempts, i.max_attempts,
                                  i.last_attempt_at, i.error_message, i.stage_state)
                    for i, title, content in rows]

    def queue_overview(self, actor: Actor) -> dict[str, Any]:
        """Depth by status and network, the oldest due item, and lateness, for the org."""
        now = self.now()
        with self.uow(actor, readonly=True) as uow:
            s = uow.session
            depth = [
                {"status": status, "platform": platform, "count": count}
                for status, platform, count in s.execute(
                    select(PublishingQueueItem.status, PublishingQueueItem.platform, func.count())
                    .where(PublishingQueueItem.org_id == actor.org_id)
                    .group_by(PublishingQueueItem.status, PublishingQueueItem.platform))
            ]
            oldest = s.scalar(select(func.min(PublishingQueueItem.next_attempt_at)).where(
                PublishingQueueItem.org_id == actor.org_id, PublishingQueueItem.status == "pending",
                PublishingQueueItem.next_attempt_at <= now))
            if oldest is not None and oldest.tzinfo is None:
                from datetime import UTC
                oldest = oldest.replace(tzinfo=UTC)
            unconfirmed = [
                {"queue_id": str(q.queue_id), "post_id": str(q.scheduled_post_id), "platform": q.platform,
                 "title": title or (content or "")[:60], "error": q.error_message, "scheduled_for": q.scheduled_for}
                for q, title, content in s.execute(
                    select(PublishingQueueItem, ScheduledPost.title, ScheduledPost.content)
                    .join(ScheduledPost, ScheduledPost.post_id == PublishingQueueItem.scheduled_post_id)
                    .where(PublishingQueueItem.org_id == actor.org_id, PublishingQueueItem.status == "unconfirmed"))
            ]
        return {"depth": depth, "oldest_due": oldest,
                "max_lateness_s": (now - oldest).total_seconds() if oldest else 0.0,
                "unconfirmed": unconfirmed}


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:4]}"
