"""Writing publish outcomes: many queue items per transaction, one settle pass over their posts.

A ``Settlement`` is everything one item's outcome changes, decided before any SQL runs (by
``PublishingService``). ``SettlementWriter.write`` turns a batch of them into one org-scoped
transaction per org:

1. lock the affected posts (``SELECT ... FOR UPDATE``, ordered by id, so two writers that share
   posts always queue behind each other instead of deadlocking); the post row is the lock that
   lets the last item of a post to finish see all the others;
2. move the queue rows (only from the states each outcome may leave; on PostgreSQL one
   ``UPDATE ... FROM unnest(...) RETURNING`` says which rows really moved);
3. close the ``publish_attempts`` rows;
4. upsert ``platform_posts`` (a published row is never overwritten by a second success);
5. one settle pass: posts whose items are now all final become published,
   partially_published (with each failed network's message) or failed.

A batch whose transaction fails is written again one item per transaction, so one bad row
cannot take the others' outcomes with it; what still cannot be written is returned to the
caller (the worker retries it, and the lease-recovery net catches what is left).
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, bindparam, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from core.db.engine import Database
from core.db.models import PlatformPost, PublishAttempt, PublishingQueueItem, ScheduledPost
from core.domain.posts import (
    PostLifecycle,
    PostStatus,
    format_platform_errors,
    status_from_platform_results,
)
from core.platforms.base import PublishResult
from core.services.queue_store import ClaimedItem, in_values

log = logging.getLogger("herald.publishing")

Q: Table = PublishingQueueItem.__table__  # type: ignore[assignment]
P: Table = ScheduledPost.__table__  # type: ignore[assignment]
PP: Table = PlatformPost.__table__  # type: ignore[assignment]
A: Table = PublishAttempt.__table__  # type: ignore[assignment]

TERMINAL = ("completed", "failed", "cancelled")
# The states an item may be moved from: a row someone else settled meanwhile (cancelled by a
# user, recovered, reconciled) is only overwritten with the truth of a successful publish.
FROM_HELD = ("processing", "unconfirmed")
FROM_ANY_BUT_DONE = ("processing", "unconfirmed", "pending", "failed", "cancelled")


@dataclass(frozen=True)
class ItemOutcome:
    queue_id: uuid.UUID
    post_id: uuid.UUID
    platform: str
    outcome: str  # completed | retry | failed | unconfirmed | deferred | cancelled
    message: str = ""
    external_id: str | None = None
    url: str | None = None
    retry_at: datetime | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "completed"


@dataclass(frozen=True)
class AttemptRecord:
    """How the item's ``publish_attempts`` row (inserted in progress by the claim) closes."""

    outcome: str  # success | retryable | auth | permanent | unknown | cancelled | deferred | rate_limited
    error: str | None = None
    http_status: int | None = None
    duration_ms: int | None = None
    retry_after: datetime | None = None  # the network's own "not before" (its reset), if it gave one


@dataclass(frozen=True)
class Settlement:
    """One item's outcome, as the rows it changes."""

    item: ClaimedItem
    outcome: str  # ItemOutcome.outcome
    status: str  # the queue row's new status
    allowed: tuple[str, ...]  # the statuses the row may be moved from
    message: str | None  # the queue row's error_message
    finished_at: datetime
    next_attempt_at: datetime | None = None  # None: unchanged
    processed: bool = False  # set processed_at
    refund_attempt: bool = False  # a deferral gives the attempt back
    attempt: AttemptRecord | None = None  # None: no attempt row to close
    platform_post: str | None = None  # published | failed | unconfirmed: the platform_posts row
    result: PublishResult | None = None
    note: str | None = None  # said in the log and the outcome, not stored
    account_id: uuid.UUID | None = None  # the account it went out on (published rows record it)

    @property
    def touches_post(self) -> bool:
        return self.platform_post is not None or self.status in TERMINAL

    def item_outcome(self) -> ItemOutcome:
        return ItemOutcome(self.item.queue_id, self.item.post_id, self.item.platform, self.outcome,
                           self.message or self.note or "",
                           self.result.external_id if self.result else None,
                           self.result.url if self.result else None,
                           self.next_attempt_at if self.outcome in ("retry", "deferred") else None)


# --- the post's final status (shared with the ORM paths of the ops actions) ---------------------

@dataclass
class _PostState(PostLifecycle):
    status: str
    published_at: datetime | None
    error_message: str | None


def settled_post_state(published_at: datetime | None, error_message: str | None,
                       states: Mapping[str, str], failed_errors: Mapping[str, str | None],
                       now: datetime) -> _PostState | None:
    """The post's status once every live (not cancelled) item is final; None while some are not.

    ``states``: platform -> queue status of every item of the post; ``failed_errors``:
    platform -> error of its failed ``platform_posts`` rows."""
    live = {p: st for p, st in states.items() if st != "cancelled"}
    if not live or any(st not in TERMINAL for st in live.values()):
        return None
    # e.g. a late success after a manual retry: the post is publishing again before it settles
    post = _PostState(PostStatus.PUBLISHING.value, published_at, error_message)
    results = {p: st == "completed" for p, st in live.items()}
    final = status_from_platform_results(results)
    if final == PostStatus.PUBLISHED:
        post.mark_published(now)
    elif final == PostStatus.PARTIALLY_PUBLISHED:
        post.mark_partially_published(now, {p: failed_errors.get(p) or "failed"
                                            for p, ok in results.items() if not ok})
    else:
        post.mark_failed(format_platform_errors({p: failed_errors.get(p) or "failed" for p in results}))
    return post


# --- the writer ----------------------------------------------------------------------------------

_PG_UPDATE_QUEUE = text("""
UPDATE publishing_queue AS q
   SET status = v.status, error_message = v.message, locked_by = NULL, locked_until = NULL,
       updated_at = :now,
       next_attempt_at = COALESCE(v.next_at, q.next_attempt_at),
       processed_at = CASE WHEN v.processed THEN v.finished_at ELSE q.processed_at END,
       attempts = q.attempts - v.refund
  FROM unnest(CAST(:ids AS uuid[]), CAST(:statuses AS text[]), CAST(:messages AS text[]),
              CAST(:next_at AS timestamptz[]), CAST(:processed AS boolean[]),
              CAST(:finished AS timestamptz[]), CAST(:refund AS int[]), CAST(:allowed AS text[]))
       AS v(queue_id, status, message, next_at, processed, finished_at, refund, allowed)
 WHERE q.queue_id = v.queue_id AND q.status = ANY(string_to_array(v.allowed, ','))
RETURNING q.queue_id""")

_PG_CLOSE_ATTEMPTS = text("""
UPDATE publish_attempts AS a
   SET finished_at = v.finished_at, duration_ms = v.duration_ms, http_status = v.http_status,
       error = v.error, outcome = v.outcome, retry_after = v.retry_after
  FROM unnest(CAST(:ids AS uuid[]), CAST(:finished AS timestamptz[]), CAST(:durations AS int[]),
              CAST(:statuses AS int[]), CAST(:errors AS text[]), CAST(:outcomes AS text[]),
              CAST(:retry_after AS timestamptz[]))
       AS v(attempt_id, finished_at, duration_ms, http_status, error, outcome, retry_after)
 WHERE a.attempt_id = v.attempt_id""")

_PG_SETTLE_POSTS = text("""
UPDATE scheduled_posts AS p
   SET status = v.status, published_at = v.published_at, error_message = v.error_message,
       updated_at = :now
  FROM unnest(CAST(:ids AS uuid[]), CAST(:statuses AS text[]), CAST(:published AS timestamptz[]),
              CAST(:errors AS text[]))
       AS v(post_id, status, published_at, error_message)
 WHERE p.post_id = v.post_id""")


def _upsert_platform_posts(dialect: str, published: bool) -> Any:
    """INSERT ... ON CONFLICT (post, platform) DO UPDATE, executed with many rows at once."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(PP)
    new = stmt.excluded
    if published:
        return stmt.on_conflict_do_update(
            index_elements=[PP.c.scheduled_post_id, PP.c.platform],
            set_={"status": new.status, "platform_post_id_external": new.platform_post_id_external,
                  "post_url": new.post_url, "published_at": new.published_at, "error_message": None,
                  "account_id": new.account_id,
                  "platform_response": new.platform_response, "updated_at": new.updated_at},
            where=PP.c.status != "published")  # the first success stays the one on record
    return stmt.on_conflict_do_update(
        index_elements=[PP.c.scheduled_post_id, PP.c.platform],
        set_={"status": new.status, "error_message": new.error_message, "updated_at": new.updated_at})


class SettlementWriter:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._pg = not db.is_sqlite
        self._upsert = {flag: _upsert_platform_posts(db.dialect, flag) for flag in (True, False)}

    def write(self, settlements: Sequence[Settlement], now: datetime) -> list[tuple[Settlement, Exception]]:
        """Write every settlement: one transaction per org, falling back to one transaction per
        item when a batch fails. Returns the settlements that could not be written."""
        by_org: dict[uuid.UUID, list[Settlement]] = defaultdict(list)
        for s in settlements:
            by_org[s.item.org_id].append(s)
        unwritten: list[tuple[Settlement, Exception]] = []
        for org_id, group in by_org.items():
            try:
                self._write_batch(org_id, group, now)
                continue
            except Exception as exc:  # noqa: BLE001 - fall back below, item by item
                if len(group) == 1:
                    unwritten.append((group[0], exc))
                    continue
                log.warning("writing %d outcomes in one transaction failed (%s); writing them one by one",
                            len(group), exc)
            for s in group:
                try:
                    self._write_batch(org_id, [s], now)
                except Exception as exc:  # noqa: BLE001 - reported to the caller
                    unwritten.append((s, exc))
        return unwritten

    def _write_batch(self, org_id: uuid.UUID, group: Sequence[Settlement], now: datetime) -> None:
        with self.db.transaction(org_id) as conn:
            posts = self._lock_posts(conn, sorted({s.item.post_id for s in group if s.touches_post}))
            moved = self._move_queue_rows(conn, group, now)
            self._close_attempts(conn, [s for s in group if s.attempt is not None])
            done = [s for s in group if s.item.queue_id in moved and s.item.post_id in posts]
            self._record_platform_posts(conn, [s for s in done if s.platform_post], now)
            settling = {s.item.post_id for s in done if s.status in TERMINAL}
            if settling:
                self._settle_posts(conn, {pid: posts[pid] for pid in settling}, now)
            conn.commit()

    def _lock_posts(self, conn: Connection, post_ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
        if not post_ids:
            return {}
        query = (select(P.c.post_id, P.c.status, P.c.published_at, P.c.error_message)
                 .where(in_values(self.db, P.c.post_id, post_ids)).order_by(P.c.post_id))
        if self._pg:
            query = query.with_for_update()
        return {row.post_id: row for row in conn.execute(query)}

    def _move_queue_rows(self, conn: Connection, group: Sequence[Settlement], now: datetime) -> set[uuid.UUID]:
        if self._pg:
            rows = conn.execute(_PG_UPDATE_QUEUE, {
                "now": now, "ids": [s.item.queue_id for s in group], "statuses": [s.status for s in group],
                "messages": [s.message for s in group], "next_at": [s.next_attempt_at for s in group],
                "processed": [s.processed for s in group], "finished": [s.finished_at for s in group],
                "refund": [1 if s.refund_attempt else 0 for s in group],
                "allowed": [",".join(s.allowed) for s in group]})
            return {r[0] for r in rows}
        moved: set[uuid.UUID] = set()
        for s in group:  # SQLite: in-process statements, one per row
            values: dict[str, Any] = {"status": s.status, "error_message": s.message, "locked_by": None,
                                      "locked_until": None, "updated_at": now}
            if s.next_attempt_at is not None:
                values["next_attempt_at"] = s.next_attempt_at
            if s.processed:
                values["processed_at"] = s.finished_at
            if s.refund_attempt:
                values["attempts"] = Q.c.attempts - 1
            result = conn.execute(update(Q).where(Q.c.queue_id == s.item.queue_id, Q.c.status.in_(s.allowed))
                                  .values(**values))
            if result.rowcount:
                moved.add(s.item.queue_id)
        return moved

    def _close_attempts(self, conn: Connection, group: Sequence[Settlement]) -> None:
        if not group:
            return
        records = [(s, s.attempt) for s in group if s.attempt is not None]
        if self._pg:
            conn.execute(_PG_CLOSE_ATTEMPTS, {
                "ids": [s.item.attempt_id for s, _ in records], "finished": [s.finished_at for s, _ in records],
                "durations": [a.duration_ms for _, a in records], "statuses": [a.http_status for _, a in records],
                "errors": [a.error for _, a in records], "outcomes": [a.outcome for _, a in records],
                "retry_after": [a.retry_after for _, a in records]})
            return
        conn.execute(update(A).where(A.c.attempt_id == bindparam("b_id")).values(
            finished_at=bindparam("b_finished"), duration_ms=bindparam("b_duration"),
            http_status=bindparam("b_status"), error=bindparam("b_error"), outcome=bindparam("b_outcome"),
            retry_after=bindparam("b_retry_after")),
            [{"b_id": s.item.attempt_id, "b_finished": s.finished_at, "b_duration": a.duration_ms,
              "b_status": a.http_status, "b_error": a.error, "b_outcome": a.outcome,
              "b_retry_after": a.retry_after} for s, a in records])

    def _record_platform_posts(self, conn: Connection, group: Sequence[Settlement], now: datetime) -> None:
        published = [s for s in group if s.platform_post == "published" and s.result is not None]
        other = [s for s in group if s.platform_post in ("failed", "unconfirmed")]
        if published:
            conn.execute(self._upsert[True], [
                {"platform_post_id": uuid.uuid4(), "org_id": s.item.org_id, "scheduled_post_id": s.item.post_id,
                 "platform": s.item.platform, "status": "published",
                 "platform_post_id_external": s.result.external_id, "post_url": s.result.url,
                 "published_at": s.finished_at, "error_message": None, "account_id": s.account_id,
                 "platform_response": s.result.raw or None, "updated_at": now}
                for s in published if s.result is not None])
        if other:
            conn.execute(self._upsert[False], [
                {"platform_post_id": uuid.uuid4(), "org_id": s.item.org_id, "scheduled_post_id": s.item.post_id,
                 "platform": s.item.platform, "status": s.platform_post,
                 "platform_post_id_external": None, "post_url": None, "published_at": None, "account_id": None,
                 "error_message": s.message or ("failed" if s.platform_post == "failed" else None),
                 "platform_response": None, "updated_at": now}
                for s in other])

    def _settle_posts(self, conn: Connection, posts: Mapping[uuid.UUID, Any], now: datetime) -> None:
        states: dict[uuid.UUID, dict[str, str]] = defaultdict(dict)
        for post_id, platform, status in conn.execute(
                select(Q.c.scheduled_post_id, Q.c.platform, Q.c.status)
                .where(in_values(self.db, Q.c.scheduled_post_id, posts))):
            states[post_id][platform] = status
        final = {pid: st for pid, st in states.items()
                 if all(s in TERMINAL for s in st.values())}
        if not final:
            return
        errors: dict[uuid.UUID, dict[str, str | None]] = defaultdict(dict)
        mixed = [pid for pid, st in final.items() if any(s == "failed" for s in st.values())]
        if mixed:
            for post_id, platform, error in conn.execute(
                    select(PP.c.scheduled_post_id, PP.c.platform, PP.c.error_message)
                    .where(in_values(self.db, PP.c.scheduled_post_id, mixed), PP.c.status == "failed")):
                errors[post_id][platform] = error
        changes = []
        for pid, st in final.items():
            row = posts[pid]
            settled = settled_post_state(row.published_at, row.error_message, st, errors[pid], now)
            if settled is not None:
                changes.append((pid, settled))
        if not changes:
            return
        if self._pg:
            conn.execute(_PG_SETTLE_POSTS, {
                "now": now, "ids": [pid for pid, _ in changes], "statuses": [s.status for _, s in changes],
                "published": [s.published_at for _, s in changes],
                "errors": [s.error_message for _, s in changes]})
            return
        conn.execute(update(P).where(P.c.post_id == bindparam("b_id")).values(
            status=bindparam("b_status"), published_at=bindparam("b_published"),
            error_message=bindparam("b_error"), updated_at=now),
            [{"b_id": pid, "b_status": s.status, "b_published": s.published_at, "b_error": s.error_message}
             for pid, s in changes])
