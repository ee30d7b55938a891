"""The queue worker: claims due items and publishes them on a thread pool.

One loop per daemon process (and one inside the dashboard in embedded mode):
- claims as many due items as it has free threads, skipping networks whose circuit is open;
- sleeps exactly until the next item is due, woken early by PostgreSQL NOTIFY (``herald_queue``)
  when items are added or moved, polling as the fallback;
- renews the leases of what it holds, so only a dead worker's items are ever recovered;
- on stop, claims nothing more and finishes the items in hand.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from core.services.flow_control import AccountRateLimiter, CircuitBreaker
from core.services.publishing import ItemOutcome, PublishingService
from core.services.queue_store import LEASE_SECONDS, ClaimedItem, QueueStore

log = logging.getLogger("herald.worker")

POLL_SECONDS = 1.0  # longest sleep when nothing says otherwise
NOTIFY_CHANNEL = "herald_queue"


@dataclass
class WorkerStats:
    processed: int = 0
    completed: int = 0
    failed: int = 0
    retried: int = 0
    unconfirmed: int = 0
    deferred: int = 0
    by_outcome: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: ItemOutcome) -> None:
        self.processed += 1
        self.by_outcome[outcome.outcome] = self.by_outcome.get(outcome.outcome, 0) + 1
        attr = {"completed": "completed", "failed": "failed", "retry": "retried",
                "unconfirmed": "unconfirmed", "deferred": "deferred"}.get(outcome.outcome)
        if attr:
            setattr(self, attr, getattr(self, attr) + 1)


class QueueWorker:
    def __init__(self, publishing: PublishingService, worker_id: str, *, concurrency: int = 8,
                 lease_seconds: int = LEASE_SECONDS, breaker: CircuitBreaker | None = None,
                 limiter: AccountRateLimiter | None = None, wakeup: Any = None) -> None:
        self.publishing = publishing
        self.queue: QueueStore = publishing.queue
        self.worker_id = worker_id
        self.concurrency = max(1, concurrency)
        self.lease_seconds = lease_seconds
        self.breaker = breaker or CircuitBreaker()
        self.limiter = limiter or AccountRateLimiter()
        self.wakeup = wakeup  # object with wait(timeout) -> None (PostgreSQL LISTEN); None: sleep
        self.stats = WorkerStats()
        self._in_flight: dict[Any, Future[ItemOutcome]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._work_done = threading.Event()
        self._executor = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix=f"publish-{worker_id}")

    # --- control -----------------------------------------------------------------------------
    def stop(self) -> None:
        """Claim nothing more; ``run`` returns once the items in hand are finished."""
        self._stop.set()
        self._work_done.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def held_ids(self) -> list[Any]:
        with self._lock:
            return list(self._in_flight)

    def renew_leases(self) -> int:
        return self.queue.renew_leases(self.worker_id, self.held_ids(), now=self.publishing.now(),
                                       lease_seconds=self.lease_seconds)

    # --- the loop ----------------------------------------------------------------------------
    def run(self) -> None:
        log.info("worker %s started with %d threads", self.worker_id, self.concurrency)
        try:
            while not self._stop.is_set():
                try:
                    claimed = self.run_once()
                except Exception:  # the database went away, say: log, wait, carry on
                    log.exception("worker %s: claiming failed; retrying shortly", self.worker_id)
                    self._stop.wait(POLL_SECONDS)
                    continue
                if not claimed:
                    self._sleep_until_due()
        finally:
            self._executor.shutdown(wait=True)  # finish the items in hand
            if self.wakeup is not None and hasattr(self.wakeup, "close"):
                self.wakeup.close()
            log.info("worker %s stopped after %d items", self.worker_id, self.stats.processed)

    def run_once(self) -> int:
        """Claim what fits in the free threads and start it. Returns how many were claimed."""
        free = self.concurrency - len(self.held_ids())
        if free <= 0:
            self._work_done.wait(POLL_SECONDS)
            self._work_done.clear()
            return 1  # busy: loop again without sleeping until due
        now = self.publishing.now()
        open_circuits = self.breaker.open_platforms(now)
        items = self.queue.claim_due(self.worker_id, now=now, limit=free, lease_seconds=self.lease_seconds,
                                     exclude_platforms=list(open_circuits))
        free -= len(items)
        checks = (self.queue.claim_unconfirmed(self.worker_id, now=now, limit=free, lease_seconds=self.lease_seconds)
                  if free > 0 else [])
        for item in items:
            self._submit(item, self._publish_one)
        for item in checks:
            self._submit(item, self._reconcile_one)
        return len(items) + len(checks)

    def drain(self, timeout: float = 60.0) -> None:
        """Process until nothing is due or in flight (tests and ``--once``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            claimed = self.run_once() if len(self.held_ids()) < self.concurrency else 0
            if not claimed and not self.held_ids():
                return
            if not claimed:
                self._work_done.wait(0.05)
                self._work_done.clear()

    def _submit(self, item: ClaimedItem, fn: Any) -> None:
        with self._lock:
            future = self._executor.submit(fn, item)
            self._in_flight[item.queue_id] = future
        queue_id = item.queue_id
        future.add_done_callback(lambda f: self._done(queue_id, f))

    def _done(self, queue_id: Any, future: Future[ItemOutcome]) -> None:
        with self._lock:
            self._in_flight.pop(queue_id, None)
        if not future.cancelled() and future.exception() is None:
            self.stats.add(future.result())
        elif future.exception() is not None:
            log.error("worker %s: item %s crashed: %s", self.worker_id, queue_id, future.exception())
        self._work_done.set()

    def _publish_one(self, item: ClaimedItem) -> ItemOutcome:
        now = self.publishing.now()
        open_until = self.breaker.open_platforms(now).get(item.platform)
        if open_until is not None:
            return self.publishing.defer_item(item, open_until, f"{item.platform} keeps failing; paused until {open_until.isoformat()}")
        account_key = f"{item.org_id}:{item.account_id or 'default'}"
        free_at = self.limiter.acquire(item.platform, account_key, now)
        if free_at is not None:
            return self.publishing.defer_item(item, free_at, f"{item.platform} publish limit for this account; next slot {free_at.isoformat()}")
        outcome = self.publishing.process_item(item, self.worker_id)
        if outcome.outcome == "retry":
            self.breaker.record_failure(item.platform, self.publishing.now(), outcome.message)
        elif outcome.outcome == "completed":
            self.breaker.record_success(item.platform)
        return outcome

    def _reconcile_one(self, item: ClaimedItem) -> ItemOutcome:
        return self.publishing.reconcile_item(item, self.worker_id)

    def _sleep_until_due(self) -> None:
        now = self.publishing.now()
        try:
            due = self.queue.next_due_at(exclude_platforms=list(self.breaker.open_platforms(now)))
        except Exception:
            due = None
        wait = POLL_SECONDS
        if due is not None:
            wait = max(0.0, min(POLL_SECONDS, (due - now).total_seconds()))
        if wait <= 0:
            return
        if self.wakeup is not None:
            self.wakeup.wait(wait)
        else:
            self._stop.wait(wait)


class PgWakeup:
    """LISTEN on ``herald_queue``: a trigger notifies when pending items are added or moved."""

    def __init__(self, url: str) -> None:
        import psycopg

        self._url = url.replace("postgresql+psycopg://", "postgresql://")
        self._psycopg = psycopg
        self._conn: Any = None

    def _connect(self) -> Any:
        if self._conn is None or self._conn.closed:
            self._conn = self._psycopg.connect(self._url, autocommit=True)
            self._conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        return self._conn

    def wait(self, timeout: float) -> None:
        try:
            for _ in self._connect().notifies(timeout=timeout, stop_after=1):
                break
        except Exception:  # connection lost: fall back to a plain sleep this time
            self._conn = None
            time.sleep(timeout)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

