"""What ops need: worker heartbeats, cluster-wide job locks, and the queue at a glance."""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from core.db.engine import Database
from core.db.models import PublishingQueueItem, ScheduledPost, WorkerHeartbeat
from core.services.base import Service
from core.services.context import Actor

STALE_AFTER = timedelta(seconds=30)
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


@contextmanager
def cluster_lock(db: Database, name: str) -> Iterator[bool]:
    """A PostgreSQL advisory lock, so a periodic job runs once across all daemons. Yields
    whether this process got it (it never waits). SQLite has one daemon: always True."""
    if db.is_sqlite:
        yield True
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


class OpsService(Service):
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
