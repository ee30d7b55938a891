"""The queue worker: claims due items in batches and publishes them on a thread pool.

One loop per daemon process (and one inside the dashboard in embedded mode):
- claims due items in batches, as many as it has free publish threads, skipping networks whose
  circuit is open; loads the whole batch in one unit of work per org (``PublishingService.prepare``)
  and hands each item to a thread for its network call;
- arms what falls due within the next ``arm_ahead`` seconds (2 by default): claims and loads it
  ahead of its time, and a dispatcher thread hands each item to a publish thread at its time (never
  before). A thousand posts due in the same second then cost only their network calls in that
  second: their claims and loads were done in the seconds before. An armed item is claimed, so its
  post is publishing (no longer editable) from up to ``arm_ahead`` seconds before its time;
- a writer thread writes finished items' outcomes in batches (one transaction per org for
  everything that finished meanwhile; while a burst of armed items is still going out, for up to
  a second, after it); an outcome that cannot be written is retried with backoff, and only then
  left to lease recovery and reconciliation;
- sleeps exactly until the next item is due, woken early by PostgreSQL NOTIFY (``herald_queue``)
  when items are added or moved, polling as the fallback; while items trickle in (or every thread
  is busy) it claims at most every ``claim_interval`` seconds, so a claim takes a batch rather
  than one item at a time;
- renews the leases of what it holds (claimed and not yet written), so only a dead worker's items
  are ever recovered;
- on stop, claims nothing more, finishes the items in hand and writes their outcomes.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from core.domain.platforms import platform_name
from core.services.flow_control import AccountRateLimiter, CircuitBreaker
from core.services.outcome_writer import OutcomeWriter
from core.services.publishing import ItemOutcome, PublishingService, PublishJob, Settlement
from core.services.queue_store import LEASE_SECONDS, ClaimedItem, QueueStore
from core.services.staging import DEFAULT_THREADS as DEFAULT_STAGE_THREADS
from core.services.staging import Stager

log = logging.getLogger("herald.worker")

POLL_SECONDS = 1.0  # longest sleep when nothing says otherwise
DEFAULT_CONCURRENCY = 64  # publishes in flight at once (threads; they mostly wait on the network)
# While items trickle in (or every thread is busy), claim at most this often: each claim then
# takes the batch that fell due meanwhile instead of one item per transaction.
CLAIM_INTERVAL_SECONDS = 0.1
RECONCILE_CLAIM_SECONDS = 1.0  # how often to look for unconfirmed items due for a check
MAX_WRITE_BACKLOG = 2000  # stop claiming while this many outcomes wait to be written
# Claim and load items this long before they fall due; they go out at their time. Two seconds
# covers loading a burst of a thousand (about half a second of CPU on two cores) with room to spare.
ARM_AHEAD_SECONDS = 2.0
ARMED_PER_THREAD = 8  # items armed at most, per publish thread


@dataclass
class WorkerStats:
    processed: int = 0
    completed: int = 0
    failed: int = 0
    retried: int = 0
    unconfirmed: int = 0
    deferred: int = 0
    by_outcome: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, outcome: ItemOutcome) -> None:
        with self._lock:
            self.processed += 1
            self.by_outcome[outcome.outcome] = self.by_outcome.get(outcome.outcome, 0) + 1
            attr = {"completed": "completed", "failed": "failed", "retry": "retried",
                    "unconfirmed": "unconfirmed", "deferred": "deferred"}.get(outcome.outcome)
            if attr:
                setattr(self, attr, getattr(self, attr) + 1)


@dataclass(order=True)
class _Armed:
    due: datetime
    seq: int  # ties keep claim order
    job: PublishJob = field(compare=False)


class QueueWorker:
    def __init__(self, publishing: PublishingService, worker_id: str, *, concurrency: int = DEFAULT_CONCURRENCY,
                 lease_seconds: int = LEASE_SECONDS, breaker: CircuitBreaker | None = None,
                 limiter: AccountRateLimiter | None = None, wakeup: Any = None,
                 claim_interval: float = CLAIM_INTERVAL_SECONDS, stage_ahead_seconds: float = 0,
                 stage_threads: int = DEFAULT_STAGE_THREADS, arm_ahead_seconds: float = ARM_AHEAD_SECONDS) -> None:
        self.publishing = publishing
        self.queue: QueueStore = publishing.queue
        self.worker_id = worker_id
        self.concurrency = max(1, concurrency)
        self.lease_seconds = lease_seconds
        self.breaker = breaker or CircuitBreaker()
        self.limiter = limiter or AccountRateLimiter()
        self.wakeup = wakeup  # object with wait(timeout) -> None (PostgreSQL LISTEN); None: sleep
        self.claim_interval = claim_interval
        self.stats = WorkerStats()
        # Claimed and not yet written (their leases are renewed) ...
        self._held: dict[Any, ClaimedItem] = {}
        # ... of which these are armed, waiting for their time (a heap, soonest first) ...
        self._armed: list[_Armed] = []
        # ... and this many are on a thread, before or in their network call (at most ``concurrency``).
        self._busy = 0
        self._lock = threading.Lock()
        self.arm_ahead = timedelta(seconds=max(0.0, arm_ahead_seconds))
        self.max_armed = ARMED_PER_THREAD * self.concurrency
        self._seq = itertools.count()
        self._dispatch = threading.Condition(self._lock)  # armed items, a free thread, or stopping
        self._dispatcher: threading.Thread | None = None
        self._dispatcher_closing = False
        self._stop = threading.Event()
        self._work_done = threading.Event()
        self._executor = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix=f"publish-{worker_id}")
        self._writer = OutcomeWriter(publishing, worker_id, done=self._written, bursting=self._due_armed_waiting)
        self._last_claim = 0.0  # time.monotonic() of the last claim of due items
        self._last_check = 0.0  # ... and of unconfirmed items
        # Media of items due soon is staged ahead on threads of its own (core.services.staging).
        self.stager = (Stager(publishing, worker_id, ahead_seconds=stage_ahead_seconds, threads=stage_threads,
                              lease_seconds=lease_seconds) if stage_ahead_seconds > 0 else None)

    # --- control -----------------------------------------------------------------------------
    def stop(self) -> None:
        """Claim nothing more; ``run`` returns once the items in hand (armed ones at their time)
        are finished and written."""
        self._stop.set()
        self._work_done.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def held_ids(self) -> list[Any]:
        with self._lock:
            return list(self._held)

    def renew_leases(self) -> int:
        return self.queue.renew_leases(self.worker_id, self.held_ids(), now=self.publishing.now(),
                                       lease_seconds=self.lease_seconds)

    def free_slots(self) -> int:
        """Publish threads free for items due now (armed items already due count as taking one)."""
        now = self.publishing.now()
        with self._lock:
            if len(self._held) - len(self._armed) - self._busy >= MAX_WRITE_BACKLOG:
                return 0  # the writer is behind (the database is slow or away): let it catch up
            waiting = sum(1 for a in self._armed if a.due <= now)
            return self.concurrency - self._busy - waiting

    def armed_count(self) -> int:
        with self._lock:
            return len(self._armed)

    def _arm_room(self) -> int:
        if not self.arm_ahead or self._stop.is_set():
            return 0
        with self._lock:
            return self.max_armed - len(self._armed)

    # --- the loop ----------------------------------------------------------------------------
    def run(self) -> None:
        log.info("worker %s started with %d threads", self.worker_id, self.concurrency)
        floor = max(1, self.concurrency // 4)
        if self.stager is not None:
            self.stager.start()
        try:
            while not self._stop.is_set():
                free = self.free_slots()
                since = time.monotonic() - self._last_claim
                if free <= 0 or (free < floor and since < self.claim_interval):
                    # Busy: wait for publishes to finish rather than claim one item at a time.
                    self._work_done.wait(POLL_SECONDS if free <= 0 else self.claim_interval - since)
                    self._work_done.clear()
                    continue
                try:
                    claimed = self._claim(free, reconcile=time.monotonic() - self._last_check >= RECONCILE_CLAIM_SECONDS)
                except Exception:  # the database went away, say: log, wait, carry on
                    log.exception("worker %s: claiming failed; retrying shortly", self.worker_id)
                    self._stop.wait(POLL_SECONDS)
                    continue
                if not claimed:
                    self._sleep_until_due()
                elif claimed < free:  # caught up with what is due: let the next batch gather
                    self._stop.wait(self.claim_interval)
        finally:
            if self.stager is not None:
                self.stager.stop()  # a staging cut short only means publishing that item whole
            self._close_dispatcher()  # armed items go out at their time ...
            self._executor.shutdown(wait=True)  # ... the items in hand are finished ...
            self._writer.close()  # ... and their outcomes written
            if self.wakeup is not None and hasattr(self.wakeup, "close"):
                self.wakeup.close()
            log.info("worker %s stopped after %d items", self.worker_id, self.stats.processed)

    def run_once(self) -> int:
        """Claim what fits in the free threads and start it. Returns how many were claimed."""
        free = self.free_slots()
        if free <= 0:
            self._work_done.wait(POLL_SECONDS)
            self._work_done.clear()
            return 1  # busy: loop again without sleeping until due
        return self._claim(free, reconcile=True, arm=False)

    def drain(self, timeout: float = 60.0) -> None:
        """Process until nothing is due or in flight (tests and ``--once``). After ``stop``,
        claims nothing more and returns once the items in hand are finished and written."""
        deadline = time.monotonic() + timeout
        renewed = time.monotonic()
        while time.monotonic() < deadline:
            claimed = self.run_once() if self.free_slots() > 0 and not self.stopping else 0
            if not claimed and not self.held_ids():
                return
            if time.monotonic() - renewed >= self.lease_seconds / 3:
                # No heartbeat job renews them here (``--once``): a call longer than the lease
                # must not let another daemon recover the item while it is still being sent.
                renewed = time.monotonic()
                try:
                    self.renew_leases()
                except Exception:  # noqa: BLE001 - the database went away: the lease runs on
                    log.warning("worker %s: renewing leases failed", self.worker_id, exc_info=True)
            if not claimed:
                self._work_done.wait(0.05)
                self._work_done.clear()

    def close(self) -> None:
        """Finish what is in hand and stop the threads (after ``drain``)."""
        self._close_dispatcher()
        self._executor.shutdown(wait=True)
        self._writer.close()

    # --- claiming ------------------------------------------------------------------------------
    def _claim(self, limit: int, *, reconcile: bool, arm: bool = True) -> int:
        now = self.publishing.now()
        self._last_claim = time.monotonic()
        excluded = list(self.breaker.open_platforms(now))
        items = self.queue.claim_due(self.worker_id, now=now, limit=limit, lease_seconds=self.lease_seconds,
                                     exclude_platforms=excluded)
        checks: list[ClaimedItem] = []
        if reconcile and len(items) < limit:
            self._last_check = time.monotonic()
            checks = self.queue.claim_unconfirmed(self.worker_id, now=now, limit=limit - len(items),
                                                  lease_seconds=self.lease_seconds)
        if items or checks:
            self._hold(items + checks, busy=True)
        if items:
            self._start(items)
        for item in checks:
            self._executor.submit(self._reconcile_one, item)
        armed = self._arm(now, excluded) if arm and len(items) < limit else 0
        return len(items) + len(checks) + armed

    def _arm(self, now: datetime, excluded: list[str]) -> int:
        """Claim and load what falls due within ``arm_ahead``; it goes out at its time."""
        room = self._arm_room()
        if room <= 0:
            return 0
        items = self.queue.claim_due(self.worker_id, now=now, due_by=now + self.arm_ahead, limit=room,
                                     lease_seconds=self.lease_seconds, exclude_platforms=excluded)
        if items:
            self._hold(items, busy=False)
            self._start(items, armed=True)
        return len(items)

    def _hold(self, items: list[ClaimedItem], *, busy: bool) -> None:
        with self._lock:
            for item in items:
                self._held[item.queue_id] = item
            if busy:
                self._busy += len(items)

    def _start(self, items: list[ClaimedItem], *, armed: bool = False) -> None:
        """Load ``items`` and publish each: on a thread now, or (``armed``) at its time."""
        self._writer.start()
        try:
            jobs = self.publishing.prepare(items)
        except Exception as exc:  # prepare handles database trouble itself; this is a bug
            log.exception("worker %s: preparing %d items failed", self.worker_id, len(items))
            until = self.publishing.now() + timedelta(seconds=5)
            jobs = [PublishJob(i, decided=self.publishing.deferral(i, until, f"Herald could not prepare it: {exc}"))
                    for i in items]
        ready: list[PublishJob] = []
        for job in jobs:
            if job.decided is not None:
                self._finished(job.item, job.decided, on_thread=not armed)
            else:
                ready.append(job)
        if not armed:
            for job in ready:
                self._executor.submit(self._publish_one, job)
        elif ready:
            self._ensure_dispatcher()
            with self._lock:
                for job in ready:
                    heapq.heappush(self._armed, _Armed(job.item.due_at or self.publishing.now(), next(self._seq), job))
                self._dispatch.notify()

    # --- dispatching armed items ------------------------------------------------------------------
    def _ensure_dispatcher(self) -> None:
        if self._dispatcher is None:
            self._dispatcher = threading.Thread(target=self._dispatch_loop, name=f"dispatch-{self.worker_id}",
                                                daemon=True)
            self._dispatcher.start()

    def _close_dispatcher(self) -> None:
        if self._dispatcher is not None:
            with self._lock:
                self._dispatcher_closing = True
                self._dispatch.notify()
            self._dispatcher.join()
            self._dispatcher = None

    def _dispatch_loop(self) -> None:
        """Hand each armed item to a publish thread at its time (never before), as threads free."""
        while True:
            with self._lock:
                while True:
                    if not self._armed and self._dispatcher_closing:
                        return
                    now = self.publishing.now()
                    if self._armed and self._armed[0].due <= now and self._busy < self.concurrency:
                        job = heapq.heappop(self._armed).job
                        self._busy += 1
                        break
                    timeout = None
                    if self._armed and self._busy < self.concurrency:
                        timeout = (self._armed[0].due - now).total_seconds()
                    self._dispatch.wait(timeout)
            self._executor.submit(self._publish_one, job)

    # --- on the threads --------------------------------------------------------------------------
    def _publish_one(self, job: PublishJob) -> None:
        item, settlement = job.item, None
        try:
            now = self.publishing.now()
            open_until = self.breaker.open_platforms(now).get(item.platform)
            free_at = None
            if open_until is None:
                account_id = job.context.account_id if job.context is not None else item.account_id
                free_at = self.limiter.acquire(
                    item.platform, f"{item.org_id}:{account_id or 'default'}", now,
                    cluster=None if account_id is None else partial(
                        self.queue.sent_in_window, item.org_id, account_id, item.platform))
            if open_until is not None:
                settlement = self.publishing.deferral(
                    item, open_until, f"{platform_name(item.platform)} keeps failing; Herald pauses it and "
                    "tries again when the pause ends")
            elif free_at is not None:
                settlement = self.publishing.deferral(
                    item, free_at, f"this account is at {platform_name(item.platform)}'s publishing limit; "
                    "the next try is at its next free slot")
            else:
                settlement = self.publishing.publish_job(job)
                refused = settlement.attempt is not None and settlement.attempt.outcome == "rate_limited"
                if settlement.outcome == "retry" or refused:
                    self.breaker.record_failure(item.platform, self.publishing.now(), settlement.message or "")
                elif settlement.outcome == "completed":
                    self.breaker.record_success(item.platform)
        except Exception:  # publish_job decides every outcome itself; this is a bug
            log.exception("worker %s: item %s crashed; its lease will run out and it will be reconciled",
                          self.worker_id, item.queue_id)
        finally:
            self._finished(item, settlement)

    def _finished(self, item: ClaimedItem, settlement: Settlement | None, *, on_thread: bool = True) -> None:
        with self._lock:
            if on_thread:
                self._busy -= 1
                self._dispatch.notify()
            if settlement is None:
                self._held.pop(item.queue_id, None)
        if settlement is not None:
            self._writer.put(settlement)
        self._work_done.set()

    def _reconcile_one(self, item: ClaimedItem) -> None:
        outcome = None
        try:
            outcome = self.publishing.reconcile_item(item, self.worker_id)
        except Exception as exc:  # the item stays unconfirmed and is checked again later
            log.error("worker %s: checking item %s failed: %s", self.worker_id, item.queue_id, exc)
        finally:
            with self._lock:
                self._busy -= 1
                self._held.pop(item.queue_id, None)
                self._dispatch.notify()
            if outcome is not None:
                self.stats.add(outcome)
            self._work_done.set()

    # --- writing outcomes (core.services.outcome_writer) ------------------------------------------
    def _due_armed_waiting(self) -> bool:
        """Armed items are due and waiting for a publish thread: a burst is under way."""
        now = self.publishing.now()
        with self._lock:
            return bool(self._armed) and self._armed[0].due <= now

    def _written(self, written: list[Settlement], given_up: list[Settlement]) -> None:
        with self._lock:
            for s in written + given_up:
                self._held.pop(s.item.queue_id, None)
        for s in written:
            self.stats.add(s.item_outcome())
        self._work_done.set()

    # --- idle ------------------------------------------------------------------------------------
    def _sleep_until_due(self) -> None:
        now = self.publishing.now()
        try:
            due = self.queue.next_due_at(exclude_platforms=list(self.breaker.open_platforms(now)))
        except Exception:
            due = None
        wait = POLL_SECONDS
        if due is not None:
            ahead = self.arm_ahead if self._arm_room() > 0 else timedelta(0)  # armed: claim that much sooner
            wait = max(0.0, min(POLL_SECONDS, (due - ahead - now).total_seconds()))
        # Never claim again sooner than the claim interval: what falls due meanwhile is one batch.
        wait = max(wait, self.claim_interval - (time.monotonic() - self._last_claim))
        if wait <= 0:
            return
        if self.wakeup is not None:
            self.wakeup.wait(wait)
        else:
            self._stop.wait(wait)
