"""Staging: the slow, invisible part of a publish done before the scheduled time.

On Instagram a post is a container that must be created and processed before it can be
published; on Snapchat the media is encrypted, uploaded in parts and processed; on X media is
uploaded first. Done when the post falls due, that work makes the post late (Instagram's and
Snapchat's processing can take minutes) and crowds out the posts due at the same moment. So a
queue item due within ``HERALD_STAGE_AHEAD_SECONDS`` is staged: ``Connector.stage`` does that
work and returns handles (a container id, a media id, an upload session), stored on the item
encrypted like tokens (some are capabilities); when the item falls due, ``publish`` starts with
the publishing call.

Staging never decides an item's fate. It leaves the item ``pending``; publishing claims it when
due whatever its stage state; and whatever goes wrong while staging (a network error, a worker
that dies, an edit or a reschedule meanwhile) only means the item is published whole, as without
staging. What was staged is used only for the request it was made for (a fingerprint of the
request and the account) and only while the network keeps it (``Connector.staging_ttl``). If
the network refuses it anyway, the connector raises ``StagedMediaGone`` and the publish starts
over from the uploads. Nothing staged is visible to anyone: an unused container or media
expires on the network by itself.
"""

from __future__ import annotations

import hashlib
import json
import logging
import queue
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from core.errors import PlatformError
from core.platforms.base import PublishRequest
from core.platforms.registry import staging_platforms
from core.services.queue_store import LEASE_SECONDS, ClaimedItem
from core.services.secrets import InvalidToken, TokenCipher

if TYPE_CHECKING:
    from core.services.publishing import PublishingService, PublishJob

log = logging.getLogger("herald.staging")

CLAIM_INTERVAL_SECONDS = 1.0
# An item due sooner than this is left to publishing: staging it would race its publish.
SOONEST_SECONDS = 5.0
DEFAULT_THREADS = 16
# What was staged is not used in its last minutes on the network (a publish takes a while).
MIN_REMAINING_LIFE = timedelta(minutes=5)


def fingerprint(request: PublishRequest, account_id: uuid.UUID) -> str:
    """What a staging depends on: the request as the network sees it, and the account."""
    content = {
        "account": str(account_id), "platform": request.platform, "post_type": request.post_type,
        "text": request.text, "title": request.title, "media": list(request.media_urls),
        "kinds": dict(request.media_kinds), "options": request.options,
    }
    encoded = json.dumps(content, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()


def staging_record(handles: Mapping[str, Any], request: PublishRequest, account_id: uuid.UUID,
                   now: datetime, ttl: timedelta, cipher: TokenCipher) -> dict[str, Any]:
    """The JSON stored on the queue item. The handles are encrypted like tokens: some are
    capabilities (a YouTube or TikTok upload URL lets whoever holds it finish the upload)."""
    return {"sealed": cipher.encrypt(json.dumps(dict(handles))), "fingerprint": fingerprint(request, account_id),
            "staged_at": now.isoformat(), "expires_at": (now + ttl).isoformat()}


def usable_staging(record: Mapping[str, Any], request: PublishRequest, account_id: uuid.UUID,
                   now: datetime, cipher: TokenCipher) -> dict[str, Any] | None:
    """The handles of ``record`` if they were staged for this very request and account and the
    network still keeps them for a while; else ``None`` (publish whole)."""
    try:
        expires_at = datetime.fromisoformat(str(record["expires_at"]))
        if record["fingerprint"] != fingerprint(request, account_id) or expires_at - now < MIN_REMAINING_LIFE:
            return None
        handles = json.loads(cipher.decrypt(str(record["sealed"])))
    except (KeyError, TypeError, ValueError, InvalidToken):
        log.warning("ignoring an unreadable staging record for %s post %s", request.platform, request.post_id)
        return None
    return handles if isinstance(handles, dict) else None


class Stager:
    """Stages the items falling due within ``ahead_seconds`` on a few threads of its own.

    Its threads are daemon threads: a process stopping does not wait for a staging (whose media
    processing may take minutes); the item is then simply published whole."""

    def __init__(self, publishing: PublishingService, worker_id: str, *, ahead_seconds: float,
                 threads: int = DEFAULT_THREADS, lease_seconds: int = LEASE_SECONDS) -> None:
        self.publishing = publishing
        self.worker_id = worker_id
        self.ahead = timedelta(seconds=ahead_seconds)
        self.threads = max(1, threads)
        self.lease_seconds = lease_seconds
        self.counts: Counter[str] = Counter()
        self._busy = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._freed = threading.Event()
        self._work: queue.Queue[PublishJob | None] = queue.Queue()
        self._finished: list[tuple[ClaimedItem, str, dict[str, Any] | None]] = []  # to record
        self._started: list[threading.Thread] = []

    # --- running -------------------------------------------------------------------------------
    def start(self) -> None:
        self._started = [threading.Thread(target=self._loop, name=f"stage-claim-{self.worker_id}", daemon=True)]
        self._started += [threading.Thread(target=self._serve, name=f"stage-{self.worker_id}-{n}", daemon=True)
                          for n in range(self.threads)]
        for thread in self._started:
            thread.start()
        log.info("worker %s stages media up to %s ahead on %d threads", self.worker_id, self.ahead, self.threads)

    def stop(self, grace_seconds: float = 2.0) -> None:
        """Stop claiming, and give the stagings in hand a moment to finish (not longer: one
        waiting for media processing could take minutes, and its item is published whole)."""
        self._stop.set()
        self._freed.set()
        for _ in range(self.threads):
            self._work.put(None)
        deadline = time.monotonic() + grace_seconds
        for thread in self._started:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._record_finished()  # what finished after the claiming thread stopped

    def run_once(self) -> dict[str, int]:
        """Claim what is due for staging and stage it here, one after the other (tests, ``--once``)."""
        outcomes: Counter[str] = Counter()
        for job in self.publishing.prepare(self._claim(self.threads)):
            outcomes[self.stage(job.item, job)] += 1
        return dict(outcomes)

    def _loop(self) -> None:
        """Record finished stagings and claim more, in batches: a claim when a quarter of the
        threads are free (or a second has passed), the outcomes of all that finished meanwhile
        in one transaction."""
        floor = max(1, self.threads // 4)
        next_claim = 0.0  # time.monotonic() before which only a quarter of free threads claims
        while not self._stop.is_set():
            self._record_finished()
            with self._lock:
                free = self.threads - self._busy
            if free and (free >= floor or time.monotonic() >= next_claim):
                items: list[ClaimedItem] = []
                try:
                    items = self._claim(free)
                    jobs = self.publishing.prepare(items)  # one load for the batch
                except Exception:  # the database went away, say: staging waits, publishing is unaffected
                    log.exception("worker %s: claiming items to stage failed; retrying shortly", self.worker_id)
                    jobs = []
                for job in jobs:
                    with self._lock:
                        self._busy += 1
                    self._work.put(job)
                # Caught up: wait a second before claiming for fewer than a quarter of the threads.
                next_claim = time.monotonic() + (CLAIM_INTERVAL_SECONDS if len(items) < free else 0.0)
            self._freed.wait(CLAIM_INTERVAL_SECONDS)
            self._freed.clear()
        self._record_finished()

    def _serve(self) -> None:
        while (job := self._work.get()) is not None:
            try:
                finished = (job.item, *self._attempt(job))
                with self._lock:
                    self._finished.append(finished)
            finally:
                with self._lock:
                    self._busy -= 1
                self._freed.set()

    def _record_finished(self) -> None:
        with self._lock:
            finished, self._finished = self._finished, []
        self._record(finished)

    def _claim(self, limit: int) -> list[ClaimedItem]:
        if limit <= 0:
            return []
        now = self.publishing.now()
        return self.publishing.queue.claim_to_stage(
            now=now, soonest=now + timedelta(seconds=SOONEST_SECONDS), horizon=now + self.ahead,
            platforms=self.platforms(), limit=limit, lease_seconds=self.lease_seconds)

    def platforms(self) -> list[str]:
        """The networks with something to stage."""
        return sorted(staging_platforms())

    # --- one item ------------------------------------------------------------------------------
    def stage(self, item: ClaimedItem, job: PublishJob | None = None) -> str:
        """Stage one claimed item (``job``: it loaded already) and record it; returns how it
        ended: ``staged``, ``nothing``, ``failed`` or ``superseded`` (published, edited or
        cancelled meanwhile)."""
        try:
            attempt = self._attempt(job or self.publishing.prepare([item])[0])
        except Exception:  # noqa: BLE001 - loading failed (the database went away)
            log.exception("staging queue item %s crashed; it will be published whole when due", item.queue_id)
            attempt = ("failed", None)
        return self._record([(item, *attempt)])[0]

    def _attempt(self, job: PublishJob) -> tuple[str, dict[str, Any] | None]:
        item = job.item
        try:
            return self._prepare(job)
        except PlatformError as exc:
            log.warning("staging %s post %s failed (%s); it will be published whole when due",
                        item.platform, item.post_id, exc.network_message)
        except Exception:  # noqa: BLE001 - a bug here must not stop staging, nor publishing
            log.exception("staging queue item %s crashed; it will be published whole when due", item.queue_id)
        return "failed", None

    def _record(self, finished: list[tuple[ClaimedItem, str, dict[str, Any] | None]]) -> list[str]:
        """Write how stagings ended (one transaction); returns each one's outcome."""
        if not finished:
            return []
        try:
            recorded = self.publishing.queue.finish_staging([(item.queue_id, state, record)
                                                             for item, state, record in finished])
        except Exception:  # noqa: BLE001 - the items stay "staging" and are published whole
            log.exception("could not record the staging of %d queue items", len(finished))
            recorded = set()
        outcomes = [state if item.queue_id in recorded else "superseded" for item, state, _ in finished]
        with self._lock:  # read by the heartbeat
            self.counts.update(outcomes)
        for (item, _, _), outcome in zip(finished, outcomes, strict=True):
            if outcome == "staged":
                log.info("staged %s post %s ahead of %s", item.platform, item.post_id, item.scheduled_for.isoformat())
        return outcomes

    def _prepare(self, job: PublishJob) -> tuple[str, dict[str, Any] | None]:
        item = job.item
        if job.context is None:  # its post or account cannot be published as it stands
            reason = job.decided.message if job.decided is not None else "it could not be loaded"
            log.info("not staging %s post %s: %s", item.platform, item.post_id, reason)
            return "failed", None
        ctx = job.context
        connector = self.publishing.connector_for(item.platform)
        if connector.staging_ttl is None or connector.validate(ctx.request):
            return "nothing", None  # an invalid post fails when due, with its reasons
        request = replace(ctx.request, staged=None)
        handles = connector.stage(request, ctx.credentials)
        if handles is None:
            return "nothing", None
        return "staged", staging_record(handles, request, ctx.account_id, self.publishing.now(),
                                        connector.staging_ttl, self.publishing.accounts.cipher)
