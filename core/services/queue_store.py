"""The publishing queue's SQL: atomic claims with leases, renewals, recovery.

Claims are cross-org by nature (a daemon serves every org), so they run in the explicit system
scope; everything they return carries its ``org_id`` and later work on an item is org-scoped.

PostgreSQL: one statement picks due rows ``FOR UPDATE OF q SKIP LOCKED LIMIT n``, updates them
and opens their attempt rows, so any number of daemons claim disjoint batches. SQLite: the same
rows picked and updated inside one ``BEGIN IMMEDIATE`` transaction, which makes the whole claim
the only writer. These are the queue's hottest statements: they run on plain Core connections
(``Database.transaction``) with one statement text whatever the batch size.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    Text,
    and_,
    any_,
    bindparam,
    case,
    func,
    null,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects import postgresql

from core.db.engine import Database
from core.db.models import Org, PlatformPost, PublishAttempt, PublishingQueueItem, ScheduledPost
from core.services.queue_sql import (
    CLAIM_PLANNER,
    PG_CLAIM_TO_STAGE,
    PG_FINISH_STAGING,
    PG_FIRST_CLAIMS,
    pg_claim,
)

log = logging.getLogger("herald.publishing")

Q: Table = PublishingQueueItem.__table__  # type: ignore[assignment]
P: Table = ScheduledPost.__table__  # type: ignore[assignment]
ORGS: Table = Org.__table__  # type: ignore[assignment]
PP: Table = PlatformPost.__table__  # type: ignore[assignment]
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
    staged: dict[str, Any] | None = None  # what was staged ahead (core.services.staging)
    due_at: datetime | None = None  # when it may go out (claims of due items; armed ahead: later than now)
    unreadable: str | None = None  # why a corrupt row is failed instead of published (SQLite claims)


# An item's post may be published: scheduled or publishing, and approved unless its org needs no
# approval (over ``P`` joined to ``ORGS``).
_CLAIMABLE_POST = and_(P.c.status.in_(CLAIMABLE_POST_STATES),
                       or_(ORGS.c.approval_required.is_(False), P.c.approval_status == "approved"))


def _due_filter(due_by: datetime, exclude_platforms: Iterable[str], post_id: uuid.UUID | None) -> Any:
    conditions = [Q.c.status == "pending", Q.c.next_attempt_at <= due_by, _CLAIMABLE_POST]
    excluded = list(exclude_platforms)
    if excluded:
        conditions.append(Q.c.platform.not_in(excluded))
    if post_id is not None:
        conditions.append(Q.c.scheduled_post_id == post_id)
    return and_(*conditions)


def in_values(db: Database, column: Any, values: Iterable[Any]) -> Any:
    """``column IN (values)``; on PostgreSQL ``column = ANY(array)``: one statement text whatever
    the number of values, so SQLAlchemy compiles it once and PostgreSQL prepares and plans it once."""
    values = list(values)
    if db.is_sqlite:
        return column.in_(values)
    return column == any_(bindparam("values", values, type_=postgresql.ARRAY(column.type), unique=True))


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


# What the SQLite claim returns of each item (``ClaimedItem``'s fields, in order).
_SQLITE_CLAIMED = (Q.c.queue_id, Q.c.org_id, Q.c.scheduled_post_id, Q.c.platform, Q.c.attempts, Q.c.max_attempts,
                   Q.c.scheduled_for, Q.c.idempotency_key, Q.c.account_id, Q.c.staged, Q.c.next_attempt_at)
# What replaces a value of those that cannot be read (the others cannot be: integers and text come
# back as stored, and foreign keys keep the ids valid); ``None`` means the claim's ``now``.
_READABLE: dict[str, Any] = {"scheduled_for": None, "next_attempt_at": None, "staged": null(), "account_id": null()}


def _repair_unreadable(conn: Connection, ids: Sequence[uuid.UUID], now: datetime) -> dict[uuid.UUID, str]:
    """Find the picked rows with a value that does not convert, replace it with one that does
    (so the row can be claimed, shown on the Queue page and retried), and say why each of their
    items is failed. A value that cannot be replaced is raised, as before."""
    unreadable: dict[uuid.UUID, str] = {}
    for queue_id in ids:
        try:
            conn.execute(select(*_SQLITE_CLAIMED).where(Q.c.queue_id == queue_id)).all()
            continue
        except (ValueError, TypeError):
            pass
        problems = []
        for column in _SQLITE_CLAIMED:
            try:
                conn.execute(select(column).where(Q.c.queue_id == queue_id)).all()
            except (ValueError, TypeError) as exc:
                if column.name not in _READABLE:
                    raise
                raw = conn.execute(select(type_coerce(column, Text)).where(Q.c.queue_id == queue_id)).scalar()
                problems.append(f"{column.name} ({str(raw)[:40]!r}: {exc})")
                replacement = _READABLE[column.name]
                conn.execute(update(Q).where(Q.c.queue_id == queue_id)
                             .values({column.name: now if replacement is None else replacement}))
        unreadable[queue_id] = (f"Herald could not read this queue item's {', '.join(problems)}; the row was "
                                "corrupt, so it was not published. Reschedule the post, or retry the item on the "
                                "Queue page, if it should still go out")
        log.error("queue item %s: %s", queue_id, unreadable[queue_id])
    return unreadable


class QueueStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _in(self, column: Any, values: Iterable[Any]) -> Any:
        return in_values(self.db, column, values)

    def claim_due(
        self, worker_id: str, *, now: datetime, limit: int, lease_seconds: int = LEASE_SECONDS,
        exclude_platforms: Sequence[str] = (), post_id: uuid.UUID | None = None, due_by: datetime | None = None,
    ) -> list[ClaimedItem]:
        """Claim up to ``limit`` items due by ``due_by`` (default ``now``) for ``worker_id``:
        status processing, a lease, one more attempt, and an in-progress ``publish_attempts``
        row each, all in one transaction. Items are returned in due order, each with its
        ``due_at``: one claimed ahead of its time (armed, ``core.services.worker``) is held
        until then; its attempt starts at its time."""
        if limit <= 0:
            return []
        due_by = now if due_by is None or due_by < now else due_by
        lease_until = now + timedelta(seconds=lease_seconds)
        if not self.db.is_sqlite:
            return self._claim_due_pg(worker_id, now, due_by, limit, lease_until, list(exclude_platforms), post_id)
        try:
            return self._claim_due_sqlite(worker_id, now, due_by, limit, lease_until, exclude_platforms, post_id)
        except (ValueError, TypeError):
            # A value SQLite's loose typing let into a typed column (text in a timestamp, broken
            # JSON) failed to convert: the whole claim rolled back, and every claim after it would
            # fail the same way, stalling the queue. Once more, with such values replaced: their
            # items fail with the reason (``unreadable``), the others are published.
            return self._claim_due_sqlite(worker_id, now, due_by, limit, lease_until, exclude_platforms, post_id,
                                          repair=True)

    def _claim_due_sqlite(self, worker_id: str, now: datetime, due_by: datetime, limit: int, lease_until: datetime,
                          exclude_platforms: Sequence[str], post_id: uuid.UUID | None, *,
                          repair: bool = False) -> list[ClaimedItem]:
        source = Q.join(P, P.c.post_id == Q.c.scheduled_post_id).join(ORGS, ORGS.c.org_id == Q.c.org_id)
        pick = (select(Q.c.queue_id).select_from(source)
                .where(_due_filter(due_by, exclude_platforms, post_id))
                .order_by(Q.c.next_attempt_at).limit(limit))
        with self.db.transaction(system=True) as conn:
            # SQLite: BEGIN IMMEDIATE makes this transaction the only writer, so the picked
            # rows cannot be taken by anyone else before they are updated.
            ids = list(conn.execute(pick).scalars())
            if not ids:
                return []
            unreadable = _repair_unreadable(conn, ids, now) if repair else {}
            rows = conn.execute(
                update(Q).where(Q.c.queue_id.in_(ids), Q.c.status == "pending")
                .values(status="processing", locked_by=worker_id, locked_until=lease_until,
                        attempts=Q.c.attempts + 1, updated_at=now,
                        last_attempt_at=case((Q.c.next_attempt_at > now, Q.c.next_attempt_at), else_=now))
                .returning(*_SQLITE_CLAIMED)
            ).all()
            if not rows:
                return []
            claimed = sorted((ClaimedItem(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], uuid.uuid4(), r[9],
                                          _utc(r[10]), unreadable.get(r[0])) for r in rows),
                             key=lambda c: c.due_at or now)
            conn.execute(A.insert(), [
                {"attempt_id": c.attempt_id, "org_id": c.org_id, "queue_id": c.queue_id,
                 "attempt_no": c.attempt_no, "worker_id": worker_id, "started_at": max(now, c.due_at or now),
                 "outcome": "in_progress"} for c in claimed])
            conn.execute(update(P).where(P.c.post_id.in_({c.post_id for c in claimed}), P.c.status == "scheduled")
                         .values(status="publishing", updated_at=now))
            conn.commit()
        return claimed

    def _claim_due_pg(self, worker_id: str, now: datetime, due_by: datetime, limit: int, lease_until: datetime,
                      excluded: list[str], post_id: uuid.UUID | None) -> list[ClaimedItem]:
        params: dict[str, Any] = {"now": now, "due_by": due_by, "limit": limit, "worker": worker_id,
                                  "lease_until": lease_until}
        if excluded:
            params["excluded"] = excluded
        if post_id is not None:
            params["post_id"] = post_id
        # "Publish now" claims one post's items: its own index serves it better than the due order.
        settings = CLAIM_PLANNER if post_id is None else None
        with self.db.transaction(system=True, settings=settings) as conn:
            rows = sorted(conn.execute(pg_claim(bool(excluded), post_id is not None), params).all(),
                          key=lambda r: r[10])
            if not rows:
                return []
            claimed = [ClaimedItem(r[0], r[1], r[2], r[3], r[4], r[5], _utc(r[6]), r[7], r[8], r[9], r[11],
                                   _utc(r[10])) for r in rows]
            conn.execute(PG_FIRST_CLAIMS, {"now": now, "ids": sorted({c.post_id for c in claimed})})
            conn.commit()
        return claimed

    def claim_to_stage(self, *, now: datetime, soonest: datetime, horizon: datetime, platforms: Sequence[str],
                       limit: int, lease_seconds: int = LEASE_SECONDS) -> list[ClaimedItem]:
        """Take up to ``limit`` pending items due in ``(soonest, horizon]`` on ``platforms`` for
        staging: ``stage_state`` becomes ``staging`` until ``now + lease_seconds``. A staging cut
        short (the worker died) is not taken again: that item is published whole when due."""
        if limit <= 0 or not platforms:
            return []
        lease_until = now + timedelta(seconds=lease_seconds)
        if not self.db.is_sqlite:
            with self.db.transaction(system=True, settings=CLAIM_PLANNER) as conn:
                rows = conn.execute(PG_CLAIM_TO_STAGE, {
                    "soonest": soonest, "horizon": horizon, "platforms": list(platforms), "limit": limit,
                    "lease_until": lease_until}).all()
                conn.commit()
        else:
            source = Q.join(P, P.c.post_id == Q.c.scheduled_post_id).join(ORGS, ORGS.c.org_id == Q.c.org_id)
            pick = (select(Q.c.queue_id).select_from(source)
                    .where(Q.c.status == "pending", Q.c.stage_state.is_(None), Q.c.next_attempt_at > soonest,
                           Q.c.next_attempt_at <= horizon, Q.c.platform.in_(list(platforms)),
                           _CLAIMABLE_POST, func.json_array_length(P.c.media_urls) > 0)
                    .order_by(Q.c.next_attempt_at).limit(limit))
            with self.db.transaction(system=True) as conn:
                ids = list(conn.execute(pick).scalars())
                if not ids:
                    return []
                rows = conn.execute(
                    update(Q).where(Q.c.queue_id.in_(ids), Q.c.status == "pending", Q.c.stage_state.is_(None))
                    .values(stage_state="staging", stage_until=lease_until)
                    .returning(Q.c.queue_id, Q.c.org_id, Q.c.scheduled_post_id, Q.c.platform, Q.c.attempts,
                               Q.c.max_attempts, Q.c.scheduled_for, Q.c.idempotency_key, Q.c.account_id,
                               Q.c.next_attempt_at)).all()
                conn.commit()
        rows = sorted(rows, key=lambda r: _utc(r[9]))
        return [ClaimedItem(r[0], r[1], r[2], r[3], r[4], r[5], _utc(r[6]), r[7], r[8], uuid.uuid4()) for r in rows]

    def finish_staging(self, results: Sequence[tuple[uuid.UUID, str, dict[str, Any] | None]]) -> set[uuid.UUID]:
        """Record how stagings ended, ``(queue_id, state, staged)`` each (``staged`` with what
        was prepared, ``nothing`` or ``failed``), in one transaction. Only items still pending
        and still being staged are changed: one published, edited or cancelled meanwhile keeps
        what that did. Returns the ids recorded."""
        if not results:
            return set()
        with self.db.transaction(system=True) as conn:
            if self.db.is_sqlite:
                recorded = set()
                for queue_id, state, staged in results:
                    if conn.execute(update(Q).where(Q.c.queue_id == queue_id, Q.c.status == "pending",
                                                    Q.c.stage_state == "staging")
                                    .values(stage_state=state, stage_until=None, staged=staged)).rowcount:
                        recorded.add(queue_id)
            else:
                recorded = set(conn.execute(PG_FINISH_STAGING, {
                    "ids": [r[0] for r in results], "states": [r[1] for r in results],
                    "staged": [None if r[2] is None else json.dumps(r[2]) for r in results]}).scalars())
            conn.commit()
        return recorded

    def renew_leases(self, worker_id: str, queue_ids: Sequence[uuid.UUID], *, now: datetime,
                     lease_seconds: int = LEASE_SECONDS) -> int:
        """Extend the leases this worker still holds (it is alive and working on them)."""
        if not queue_ids:
            return 0
        with self.db.transaction(system=True) as conn:
            result = conn.execute(
                update(Q).where(self._in(Q.c.queue_id, queue_ids), Q.c.locked_by == worker_id,
                                Q.c.status == "processing")
                .values(locked_until=now + timedelta(seconds=lease_seconds)))
            conn.commit()
        return result.rowcount or 0

    def recover_expired_leases(self, *, now: datetime) -> list[ClaimedItem]:
        """Items whose worker stopped renewing (crashed, killed): the publish may or may not
        have reached the network, so they become ``unconfirmed`` for reconciliation, never
        pending. Their in-progress attempt rows are closed as ``unknown``."""
        with self.db.transaction(system=True) as conn:
            expired = select(Q.c.queue_id).where(Q.c.status == "processing", Q.c.locked_until < now)
            if self.db.is_sqlite:
                target = Q.c.queue_id.in_(expired.scalar_subquery())
            else:
                locked = expired.with_for_update(skip_locked=True).cte("expired").prefix_with("MATERIALIZED")
                target = Q.c.queue_id.in_(select(locked.c.queue_id))
            rows = conn.execute(
                update(Q).where(target, Q.c.status == "processing")
                .values(status="unconfirmed", locked_by=None, locked_until=None, updated_at=now,
                        next_attempt_at=now,
                        error_message="The worker stopped while publishing; checking whether the post went out")
                .returning(Q.c.queue_id, Q.c.org_id, Q.c.scheduled_post_id, Q.c.platform, Q.c.attempts,
                           Q.c.max_attempts, Q.c.scheduled_for, Q.c.idempotency_key, Q.c.account_id)
            ).all()
            if rows:
                conn.execute(update(A).where(self._in(A.c.queue_id, [r[0] for r in rows]), A.c.outcome == "in_progress")
                             .values(outcome="unknown", finished_at=now, error="worker stopped mid-attempt"))
            conn.commit()
        return [ClaimedItem(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], uuid.uuid4()) for r in rows]

    def claim_unconfirmed(self, worker_id: str, *, now: datetime, limit: int,
                          lease_seconds: int = LEASE_SECONDS) -> list[ClaimedItem]:
        """Claim unconfirmed items that are due for a reconciliation check. They stay
        ``unconfirmed`` (a lease marks who is checking), so a crash here changes nothing."""
        if limit <= 0:
            return []
        lease_until = now + timedelta(seconds=lease_seconds)
        pick = (select(Q.c.queue_id).where(
            Q.c.status == "unconfirmed", Q.c.next_attempt_at <= now,
            or_(Q.c.locked_until.is_(None), Q.c.locked_until < now))
            .order_by(Q.c.next_attempt_at).limit(limit))
        with self.db.transaction(system=True) as conn:
            if self.db.is_sqlite:
                ids = list(conn.execute(pick).scalars())
                if not ids:
                    return []
                target = Q.c.queue_id.in_(ids)
            else:
                # Materialized, like the claim of due items: the locking pick runs exactly once.
                picked = pick.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
                target = Q.c.queue_id.in_(select(picked.c.queue_id))
            rows = conn.execute(
                update(Q).where(target, Q.c.status == "unconfirmed")
                .values(locked_by=worker_id, locked_until=lease_until, updated_at=now)
                .returning(Q.c.queue_id, Q.c.org_id, Q.c.scheduled_post_id, Q.c.platform, Q.c.attempts,
                           Q.c.max_attempts, Q.c.scheduled_for, Q.c.idempotency_key, Q.c.account_id)
            ).all()
            conn.commit()
        return [ClaimedItem(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], uuid.uuid4()) for r in rows]

    def sent_in_window(self, org_id: uuid.UUID, account_id: uuid.UUID, platform: str,
                       since: datetime) -> tuple[int, datetime | None]:
        """How many of an account's posts on ``platform`` were published after ``since``, by any
        worker, and the earliest of those times: the per-account limit's cluster-wide count
        (``flow_control``), asked only when one daemon's share of the window is used up."""
        query = (select(func.count(), func.min(PP.c.published_at))
                 .where(PP.c.org_id == org_id, PP.c.platform == platform, PP.c.account_id == account_id,
                        PP.c.status == "published", PP.c.published_at > since))
        with self.db.transaction(org_id, readonly=True) as conn:
            count, oldest = conn.execute(query).one()
        return int(count), _utc(oldest) if oldest is not None else None

    def next_due_at(self, *, exclude_platforms: Sequence[str] = ()) -> datetime | None:
        """When the earliest claimable pending item becomes due (to sleep exactly until then).

        Items of posts that cannot be claimed (never approved, say) do not count: they would
        otherwise be "due" forever and keep an idle worker claiming nothing in a loop."""
        claimable = (select(_CLAIMABLE_POST)
                     .select_from(P.join(ORGS, ORGS.c.org_id == P.c.org_id))
                     .where(P.c.post_id == Q.c.scheduled_post_id).scalar_subquery())
        query = (select(Q.c.next_attempt_at).where(Q.c.status == "pending", claimable)
                 .order_by(Q.c.next_attempt_at).limit(1))
        if exclude_platforms:
            query = query.where(Q.c.platform.not_in(list(exclude_platforms)))
        # Like the claim: walk the due index in order, stop at the first claimable item.
        settings = None if self.db.is_sqlite else CLAIM_PLANNER
        with self.db.transaction(system=True, readonly=True, settings=settings) as conn:
            return conn.execute(query).scalar()
