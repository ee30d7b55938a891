"""The publishing queue's SQL: atomic claims with leases, renewals, recovery, deferrals.

Claims are cross-org by nature (a daemon serves every org), so they run in the explicit system
scope; everything they return carries its ``org_id`` and later work on an item is org-scoped.

PostgreSQL: ``UPDATE ... WHERE queue_id IN (SELECT ... FOR UPDATE OF q SKIP LOCKED LIMIT n)``, so
any number of daemons claim disjoint batches. SQLite: the same rows picked and updated inside one
``BEGIN IMMEDIATE`` transaction, which makes the whole claim the only writer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, and_, func, or_, select, update

from core.db.engine import Database
from core.db.models import Org, PublishAttempt, PublishingQueueItem, ScheduledPost

Q: Table = PublishingQueueItem.__table__  # type: ignore[assignment]
P: Table = ScheduledPost.__table__  # type: ignore[assignment]
ORGS: Table = Org.__table__  # type: ignore[assignment]
A: Table = PublishAttempt.__table__  # type: ignore[assignment]

LEASE_SECONDS = 60
# Only posts in these states may have items claimed (the first claim moves scheduled -> publishing).
CLAIMABLE_POST_STATES = ("scheduled", "publishing")


@dataclass(frozen=True)
class ClaimedItem:
    queue_id: uuid.UUID
    org_id: uuid.UUID
    post_id: uuid.UUID
    platform: str
    attempt_no: int
    max_attempts: int
    scheduled_for: datetime
    idempotency_key: str
    account_id: uuid.UUID | None
    attempt_id: uuid.UUID


def _due_filter(now: datetime, exclude_platforms: Iterable[str], post_id: uuid.UUID | None) -> Any:
    conditions = [
        Q.c.status == "pending",
        Q.c.next_attempt_at <= now,
        P.c.status.in_(CLAIMABLE_POST_STATES),
        or_(ORGS.c.approval_required.is_(False), P.c.approval_status == "approved"),
    ]
    excluded = list(exclude_platforms)
    if excluded:
        conditions.append(Q.c.platform.not_in(excluded))
    if post_id is not None:
        conditions.append(Q.c.scheduled_post_id == post_id)
    return and_(*conditions)


class QueueStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def claim_due(
        self, worker_id: str, *, now: datetime, limit: int, lease_seconds: int = LEASE_SECONDS,
        exclude_platforms: Sequence[str] = (), post_id: uuid.UUID | None = None,
    ) -> list[ClaimedItem]:
        """Claim up to ``limit`` due items for ``worker_id``: status processing, a lease, one
        more attempt, and an in-progress ``publish_attempts`` row each, all in one transaction."""
        lease_until = now + timedelta(seconds=lease_seconds)
        source = Q.join(P, P.c.post_id == Q.c.scheduled_post_id).join(ORGS, ORGS.c.org_id == Q.c.org_id)
        pick = (select(Q.c.queue_id).select_from(source)
                .where(_due_filter(now, exclude_platforms, post_id))
                .order_by(Q.c.next_attempt_at).limit(limit))
        with self.db.unit_of_work(system=True) as uow:
            conn = uow.session.connection()
            if self.db.is_sqlite:
                ids = list(conn.execute(pick).scalars())
                if not ids:
                    return []
                target = Q.c.queue_id.in_(ids)
            else:
                # A materialized CTE runs the locking pick exactly once; a plain IN (subquery)
                # may be re-evaluated by the planner and claim more than ``limit`` rows.
                picked = pick.with_for_update(of=Q, skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
                target = Q.c.queue_id.in_(select(picked.c.queue_id))
            rows = conn.execute(
                update(Q).where(target, Q.c.status == "pending")
                .values(status="processing", locked_by=worker_id, locked_until=lease_until,
                        attempts=Q.c.attempts + 1, last_attempt_at=now, updated_at=now)
                .returning(Q.c.queue_id, Q.c.org_id, Q.c.scheduled_post_id, Q.c.platform, Q.c.attempts,
                           Q.c.max_attempts, Q.c.scheduled_for, Q.c.idempotency_key, Q.c.account_id)
            ).all()
            if not rows:
                return []
            claimed = [ClaimedItem(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], uuid.uuid4()) for r in rows]
            conn.execute(A.insert(), [
                {"attempt_id": c.attempt_id, "org_id": c.org_id, "queue_id": c.queue_id,
                 "attempt_no": c.attempt_no, "worker_id": worker_id, "started_at": now,
                 "outcome": "in_progress"} for c in claimed])
            conn.execute(update(P).where(P.c.post_id.in_({c.post_id for c in claimed}),
                                         P.c.status == "scheduled")
                         .values(status="publishing", updated_at=now))
            uow.commit()
        return claimed

    def renew_leases(self, worker_id: str, queue_ids: Sequence[uuid.UUID], *, now: datetime,
                     lease_seconds: int = LEASE_SECONDS) -> int:
        """Extend the leases this worker still holds (it is alive and working on them)."""
        if not queue_ids:
            return 0
        with self.db.unit_of_work(system=True) as uow:
            result = uow.session.connection().execute(
                update(Q).where(Q.c.queue_id.in_(list(queue_ids)), Q.c.locked_by == worker_id,
                                Q.c.status == "processing")
                .values(locked_until=now + timedelta(seconds=lease_seconds)))
            uow.commit()
        return result.rowcount or 0

    def recover_expired_leases(self, *, now: datetime) -> list[ClaimedItem]:
        """Items whose worker stopped renewing (crashed, killed): the publish may or may not
        have reached the network, so they become ``unconfirmed`` for reconciliation, never
        pending. Their in-progress attempt rows are closed as ``unknown``."""
        with self.db.unit_of_work(system=True) as uow:
            conn = uow.session.connection()
            expired = select(Q.c.queue_id).where(Q.c.status == "processing", Q.c.locked_until < now)
            if not self.db.is_sqlite:
                expired = expired.with_for_update(skip_locked=True)
            rows = conn.execute(
                update(Q).where(Q.c.queue_id.in_(expired.scalar_subquery()), Q.c.status == "processing")
                .values(status="unconfirmed", locked_by=None, locked_until=None, updated_at=now,
                        next_attempt_at=now,
                        error_message="The worker stopped while publishing; checking whether the post went out")
                .returning(Q.c.queue_id, Q.c.org_id, Q.c.scheduled_post_id, Q.c.platform, Q.c.attempts,
                           Q.c.max_attempts, Q.c.scheduled_for, Q.c.idempotency_key, Q.c.account_id)
            ).all()
            if rows:
                conn.execute(update(A).where(A.c.queue_id.in_([r[0] for r in rows]), A.c.outcome == "in_progress")
                             .values(outcome="unknown", finished_at=now, error="worker stopped mid-attempt"))
            uow.commit()
        return [ClaimedItem(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], uuid.uuid4()) for r in rows]

    def claim_unconfirmed(self, worker_id: str, *, now: datetime, limit: int,
                          lease_seconds: int = LEASE_SECONDS) -> list[ClaimedItem]:
        """Claim unconfirmed items that are due for a reconciliation check. They stay
        ``unconfirmed`` (a lease marks who is checking), so a crash here changes nothing."""
        lease_until = now + timedelta(seconds=lease_seconds)
        pick = (select(Q.c.queue_id).where(
            Q.c.status == "unconfirmed", Q.c.next_attempt_at <= now,
            or_(Q.c.locked_until.is_(None), Q.c.locked_until < now))
            .order_by(Q.c.next_attempt_at).limit(limit))
        with self.db.unit_of_work(system=True) as uow:
            conn = uow.session.connection()
            if self.db.is_sqlite:
                ids = list(conn.execute(pick).scalars())
                target = Q.c.queue_id.in_(ids)
            else:
                target = Q.c.queue_id.in_(pick.with_for_update(skip_locked=True).scalar_subquery())
            rows = conn.execute(
                update(Q).where(target, Q.c.status == "unconfirmed")
                .values(locked_by=worker_id, locked_until=lease_until, updated_at=now)
                .returning(Q.c.queue_id, Q.c.org_id, Q.c.scheduled_post_id, Q.c.platform, Q.c.attempts,
                           Q.c.max_attempts, Q.c.scheduled_for, Q.c.idempotency_key, Q.c.account_id)
            ).all()
            uow.commit()
        return [ClaimedItem(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], uuid.uuid4()) for r in rows]

    def next_due_at(self, *, exclude_platforms: Sequence[str] = ()) -> datetime | None:
        """When the earliest pending item becomes due (to sleep exactly until then)."""
        query = select(func.min(Q.c.next_attempt_at)).where(Q.c.status == "pending")
        if exclude_platforms:
            query = query.where(Q.c.platform.not_in(list(exclude_platforms)))
        with self.db.unit_of_work(system=True, readonly=True) as uow:
            value = uow.session.execute(query).scalar()
        if value is not None and value.tzinfo is None:  # aggregates skip the column's type on SQLite
            from datetime import UTC
            value = value.replace(tzinfo=UTC)
        return value
