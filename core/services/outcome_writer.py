"""The worker's outcome writer: a thread that writes finished items' outcomes in batches.

Publish threads hand it each item's ``Settlement`` as soon as the network call is decided; it
takes everything that finished meanwhile (up to ``MAX_WRITE_BATCH``) and writes it with
``PublishingService.write_settlements`` (one transaction per org). The publishes are done when
their outcomes arrive here, so waiting a little for a larger batch does not move their lateness;
fewer, larger transactions cost far less per item. An outcome that cannot be written (the
database is away) is retried with backoff, and only then left to lease recovery and
reconciliation, which never re-publishes blindly.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from core.services.publishing import PublishingService
from core.services.settlement import Settlement

log = logging.getLogger("herald.worker")

MAX_WRITE_BATCH = 500  # outcomes per write round
# The writer waits this long after the first outcome for more to join its batch ...
WRITE_LINGER_SECONDS = 0.1
# ... and, while a burst is still going out (``bursting``), up to this long: the burst's
# network calls get the CPU, and its outcomes are written together after it.
WRITE_DEFER_SECONDS = 1.0
WRITE_RETRY_SECONDS = (0.5, 1.0, 2.0, 4.0, 8.0)  # then the item is left to lease recovery


@dataclass
class _Retry:
    settlement: Settlement
    tries: int
    due: float  # time.monotonic()


class OutcomeWriter:
    """``put`` outcomes from any thread; ``close`` writes what is left (retries included) and
    stops. ``done(written, given_up)`` is told after each round which outcomes are written and
    which could not be written at all."""

    def __init__(self, publishing: PublishingService, worker_id: str, *,
                 done: Callable[[list[Settlement], list[Settlement]], None],
                 bursting: Callable[[], bool] = lambda: False) -> None:
        self.publishing = publishing
        self.worker_id = worker_id
        self._done = done
        self._bursting = bursting
        self._outcomes: queue.SimpleQueue[Settlement | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=f"settle-{self.worker_id}", daemon=True)
            self._thread.start()

    def put(self, settlement: Settlement) -> None:
        self._outcomes.put(settlement)

    def close(self) -> None:
        if self._thread is not None:
            self._outcomes.put(None)
            self._thread.join()
            self._thread = None

    def _loop(self) -> None:
        retries: list[_Retry] = []
        closing = False
        while not closing or retries:
            batch: list[Settlement] = []
            timeout = max(0.0, min(r.due for r in retries) - time.monotonic()) if retries else None
            if not closing:
                try:
                    first = self._outcomes.get(timeout=timeout)
                    if first is None:
                        closing = True
                    else:
                        batch.append(first)
                except queue.Empty:
                    pass
                closing = self._gather(batch) or closing
            elif timeout:
                time.sleep(timeout)
            now = time.monotonic()
            due = [r for r in retries if r.due <= now]
            retries = [r for r in retries if r.due > now]
            if batch or due:
                retries.extend(self._write(batch, due))

    def _gather(self, batch: list[Settlement]) -> bool:
        """Add what else finishes while the batch lingers; ``True`` when told to close."""
        first_at = time.monotonic()
        linger_until = first_at + WRITE_LINGER_SECONDS
        while batch and len(batch) < MAX_WRITE_BATCH:
            try:
                more = self._outcomes.get(timeout=max(0.0, linger_until - time.monotonic()))
            except queue.Empty:
                if time.monotonic() - first_at < WRITE_DEFER_SECONDS and self._bursting():
                    linger_until = time.monotonic() + WRITE_LINGER_SECONDS / 2
                    continue
                return False
            if more is None:
                return True
            batch.append(more)
        return False

    def _write(self, fresh: list[Settlement], due: list[_Retry]) -> list[_Retry]:
        tries = {id(s): 0 for s in fresh} | {id(r.settlement): r.tries for r in due}
        batch = fresh + [r.settlement for r in due]
        try:
            unwritten = self.publishing.write_settlements(batch)
        except Exception as crash:  # noqa: BLE001 - write_settlements reports; belt and braces
            unwritten = [(s, crash) for s in batch]
        failed = {id(s) for s, _ in unwritten}
        retry: list[_Retry] = []
        given_up: list[Settlement] = []
        for s, exc in unwritten:
            n = tries[id(s)]
            if n < len(WRITE_RETRY_SECONDS):
                retry.append(_Retry(s, n + 1, time.monotonic() + WRITE_RETRY_SECONDS[n]))
            else:
                given_up.append(s)
                log.error("worker %s: could not write the outcome of item %s (%s: %s); its lease will run "
                          "out and it will be reconciled with %s", self.worker_id, s.item.queue_id, s.outcome,
                          exc, s.item.platform)
        if retry:
            log.warning("worker %s: could not write %d outcomes (%s); retrying", self.worker_id, len(retry),
                        unwritten[0][1])
        self._done([s for s in batch if id(s) not in failed], given_up)
        return retry
