"""Publishing: queue items in batches, each exactly once, with every outcome recorded.

An item moves ``pending -> processing`` when claimed (``QueueStore``), then one of:
- the network accepted it: ``completed``, a ``platform_posts`` row with its id and URL;
- a retryable error (429, 5xx, network): ``pending`` again, no earlier than the network's reset
  time, with exponential backoff and jitter, until ``max_attempts``; then ``failed``;
- an auth error: the token is refreshed once and the publish retried, else ``failed``; a token
  that cannot be refreshed (no refresh token, or the network refuses the refresh) also makes the
  account ``expired`` with the reason, so its later items fail at once saying to reconnect it;
- a permanent error (validation, duplicate, forbidden): ``failed`` at once, the network's message kept;
- an unknown outcome (timeout after sending, worker died): ``unconfirmed``; reconciliation asks the
  network whether the post exists and only re-publishes once it knows it does not.
When a post's last item settles, the post becomes published, partially_published or failed.

The hot path works on batches: ``prepare`` loads every claimed item's post, published row and
account in one org-scoped unit of work per org (a few ``IN (...)`` queries); ``publish_job``
makes the network call (thread-safe, no database work unless a token must be refreshed);
``settle`` writes the outcomes of many items in one transaction per org (``settlement``).
``process_item`` is the same path with a batch of one.

An item whose media was staged ahead (``core.services.staging``) carries the staged handles in
its request when they still fit it, so the connector starts with the publishing call; handles the
network refuses (``StagedMediaGone``) mean publishing from the start, in the same attempt.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from core.clock import Clock
from core.db.engine import Database
from core.db.models import (
    SocialAccount,
)
from core.domain.platforms import platform_name
from core.domain.queue import next_attempt_at
from core.errors import (
    AuthPlatformError,
    PermanentPlatformError,
    PlatformError,
    RetryablePlatformError,
    StagedMediaGone,
    UnknownOutcome,
)
from core.platforms.base import AccountCredentials, Connector, PublishResult
from core.services import publish_now
from core.services.accounts import AccountService
from core.services.base import Service
from core.services.context import Actor
from core.services.metrics_sync import MetricsService
from core.services.publish_loading import ItemLoader, ItemProblem, LoadFailed, PublishContext
from core.services.queue_store import LEASE_SECONDS, ClaimedItem, QueueStore
from core.services.reconciliation import reconcile_item
from core.services.settlement import (
    FROM_ANY_BUT_DONE,
    FROM_HELD,
    TERMINAL,
    AttemptRecord,
    ItemOutcome,
    Settlement,
    SettlementWriter,
)
from core.services.views import PlatformPostView

log = logging.getLogger("herald.publishing")

# How long after an unknown outcome before asking the network (its listings lag a little).
RECONCILE_DELAY_SECONDS = 20
# A batch whose posts and accounts could not be loaded (the database went away) is given back
# this much later, attempt refunded, rather than failed.
LOAD_RETRY_SECONDS = 5
# Retries after the first back off from this (15-30 s, then doubling): a network that failed the
# same item twice running is down for a while, and the item has few attempts (see next_attempt_at).
OUTAGE_RETRY_BASE_SECONDS = 30.0

_QUEUE_STATUS = {"completed": "completed", "retry": "pending", "failed": "failed",
                 "unconfirmed": "unconfirmed", "cancelled": "cancelled"}
_PLATFORM_POST = {"completed": "published", "failed": "failed", "unconfirmed": "unconfirmed"}


@dataclass
class PublishJob:
    """A claimed item, loaded: ready to publish (``context``), or already decided (``decided``:
    its post was cancelled, its account is gone, it was published on an earlier attempt...)."""

    item: ClaimedItem
    context: PublishContext | None = None
    decided: Settlement | None = None


class PublishingService(Service):
    def __init__(self, db: Database, clock: Clock, accounts: AccountService,
                 connector_for: Callable[[str], Connector], *, queue: QueueStore | None = None,
                 rng: Any = None, reconcile_delay_seconds: int = RECONCILE_DELAY_SECONDS,
                 retry_base_seconds: float = 0.5) -> None:
        super().__init__(db, clock)
        self.retry_base_seconds = retry_base_seconds
        self.reconcile_delay = timedelta(seconds=reconcile_delay_seconds)
        self.accounts = accounts
        self.connector_for = connector_for
        self.queue = queue or QueueStore(db)
        self.writer = SettlementWriter(db)
        self._refresh_locks: dict[uuid.UUID, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self.rng = rng
        self.metrics = MetricsService(db, clock, accounts, connector_for)
        self.loader = ItemLoader(db, clock, accounts)

    # The seed's metric calls live on this service; the work is MetricsService's.
    def sync_platform_metrics(self, actor: Actor, platform_post_id: Any) -> PlatformPostView:
        return self.metrics.sync_platform_metrics(actor, platform_post_id)

    def bulk_sync_metrics(self, org_id: uuid.UUID) -> dict[str, int]:
        return self.metrics.bulk_sync_metrics(org_id)

    # --- the seed's API ------------------------------------------------------------------------
    def process_queue(self, *, worker_id: str = "inline", limit: int = 100) -> dict[str, int]:
        """Publish everything due now (in batches), reconcile what is unconfirmed; the seed's
        ``{"success": n, "failed": m}`` (failed counts items that ended failed this run)."""
        counts = {"success": 0, "failed": 0}
        for _ in range(10_000):  # bounded: a queue that keeps refilling cannot trap the caller
            self.queue.recover_expired_leases(now=self.now())
            items = self.queue.claim_due(worker_id, now=self.now(), limit=limit)
            checks = self.queue.claim_unconfirmed(worker_id, now=self.now(), limit=limit)
            if not items and not checks:
                break
            for outcome in self.process_batch(items, worker_id):
                self._count(counts, outcome)
            for item in checks:
                self._count(counts, self.reconcile_item(item, worker_id))
        return counts

    @staticmethod
    def _count(counts: dict[str, int], outcome: ItemOutcome) -> None:
        if outcome.outcome == "completed":
            counts["success"] += 1
        elif outcome.outcome == "failed":
            counts["failed"] += 1

    def publish_post(self, actor: Actor, post_id: Any) -> dict[str, bool]:
        """Publish now, to every platform of the post; ``{"facebook": True, "twitter": False}``."""
        return publish_now.publish_post(self, actor, post_id)

    def publish_to_platform(self, actor: Actor, post_id: Any, platform: str) -> bool:
        """Publish one platform of the post now; its other platforms keep their time."""
        return publish_now.publish_to_platform(self, actor, post_id, platform)

    # --- the batch path ------------------------------------------------------------------------
    def process_item(self, item: ClaimedItem, worker_id: str) -> ItemOutcome:
        return self.process_batch([item], worker_id)[0]

    def process_batch(self, items: Sequence[ClaimedItem], worker_id: str, *,
                      map_jobs: Callable[[Callable[[PublishJob], Settlement], list[PublishJob]],
                                         Iterable[Settlement]] | None = None) -> list[ItemOutcome]:
        """Load, publish and settle claimed items: one load and one write per org for the whole
        batch. ``map_jobs`` (e.g. an executor's ``map``) publishes in parallel; the default
        publishes one after the other."""
        if not items:
            return []
        jobs = self.prepare(items)
        mapper = map_jobs or (lambda fn, js: [fn(j) for j in js])
        return self.settle(list(mapper(self.publish_job, jobs)), worker_id)

    def prepare(self, items: Sequence[ClaimedItem]) -> list[PublishJob]:
        """Load every item's post, published row and account: one read-only unit of work per
        org. An item that cannot be published gets its outcome decided here; a batch whose
        load fails (the database went away) is given back for later, attempt refunded."""
        loaded = self.loader.load(items)
        jobs: list[PublishJob] = []
        retry: list[ClaimedItem] = [i for i in items if isinstance(loaded[i.queue_id], LoadFailed)]
        if retry:  # once more: a connection that died in the pool is replaced on the next checkout
            loaded.update(self.loader.load(retry))
        for item in items:
            got = loaded[item.queue_id]
            if isinstance(got, PublishContext):
                if got.already is not None:
                    jobs.append(PublishJob(item, decided=self.settlement_for(
                        item, "completed", result=got.already, note="already published on an earlier attempt")))
                else:
                    jobs.append(PublishJob(item, context=got))
            elif isinstance(got, ItemProblem):
                jobs.append(PublishJob(item, decided=self.settlement_for(item, got.outcome, error=str(got))))
            elif isinstance(got, LoadFailed):
                log.warning("could not load queue item %s (%s); giving it back for later", item.queue_id, got.error)
                jobs.append(PublishJob(item, decided=self.deferral(
                    item, self.now() + timedelta(seconds=LOAD_RETRY_SECONDS),
                    f"Herald could not read this item's post and account ({got.error}); trying again shortly")))
            else:
                jobs.append(PublishJob(item, decided=self.settlement_for(
                    item, "failed", error=f"Herald could not prepare this item: {got}")))
        return jobs

    def publish_job(self, job: PublishJob) -> Settlement:
        """Make the network call for one prepared item (any thread) and decide its outcome."""
        if job.decided is not None:
            return job.decided
        assert job.context is not None
        item, ctx, t0 = job.item, job.context, time.monotonic()
        connector = self.connector_for(item.platform)
        try:
            problems = connector.validate(ctx.request)
        except Exception as exc:  # noqa: BLE001 - nothing was sent; a bug must not stop the loop
            log.exception("could not validate queue item %s", item.queue_id)
            return self.settlement_for(item, "failed", t0, error=f"Herald could not check this item: {exc}")
        if problems:
            return self.settlement_for(item, "failed", t0, error="; ".join(str(p) for p in problems))
        try:
            result = self._publish_with_refresh(connector, item, ctx)
        except UnknownOutcome as exc:
            return self.settlement_for(item, "unconfirmed", t0, error=exc.network_message, http_status=exc.status)
        except RetryablePlatformError as exc:
            if exc.retry_after is not None and exc.retry_after > self.now():
                return self._network_wait(item, exc, t0)
            return self.settlement_for(item, "retry", t0, error=exc.network_message,
                                    http_status=exc.status, retry_after=exc.retry_after)
        except (AuthPlatformError, PermanentPlatformError, PlatformError) as exc:
            return self.settlement_for(item, "failed", t0, error=exc.network_message, http_status=exc.status,
                                    kind="auth" if isinstance(exc, AuthPlatformError) else "permanent")
        except Exception as exc:  # noqa: BLE001 - we may have sent it: never guess, reconcile
            log.exception("unexpected error publishing %s to %s", item.post_id, item.platform)
            return self.settlement_for(item, "unconfirmed", t0, error=f"unexpected error: {exc}")
        return replace(self.settlement_for(item, "completed", t0, result=result), account_id=ctx.account_id)

    def settle(self, settlements: Sequence[Settlement], worker_id: str = "") -> list[ItemOutcome]:
        """Write outcomes (batched; see ``settlement``). Raises if some could not be written
        (those items keep their lease until it runs out, then are recovered and reconciled)."""
        unwritten = self.write_settlements(settlements)
        if unwritten:
            raise unwritten[0][1]
        return [s.item_outcome() for s in settlements]

    def write_settlements(self, settlements: Sequence[Settlement]) -> list[tuple[Settlement, Exception]]:
        """Write outcomes; returns those that could not be written, with why."""
        if not settlements:
            return []
        unwritten = self.writer.write(settlements, self.now())
        failed = {id(s) for s, _ in unwritten}
        for s in settlements:
            if id(s) not in failed:
                _log_settlement(s)
        return unwritten

    def deferral(self, item: ClaimedItem, until: datetime, reason: str) -> Settlement:
        """Give a claimed item back without spending an attempt (circuit open, rate limit)."""
        return Settlement(item, "deferred", "pending", ("processing",), reason, self.now(),
                          next_attempt_at=until, refund_attempt=True, attempt=AttemptRecord("deferred", reason))

    def _network_wait(self, item: ClaimedItem, exc: RetryablePlatformError, t0: float) -> Settlement:
        """The network said when it will take the call again (a 429 and its reset, a
        ``Retry-After``): its flow control, like Herald's own per-account limits, so waiting
        for it spends no attempt; a post is not lost to a busy network. A network that keeps
        refusing still trips the circuit breaker (the worker counts these as failures), and each
        wait lasts at least until the reset, so there is no tight loop. A little jitter after
        the reset spreads the items that were refused together: a tenth of the wait, at most the
        retry base (a post waiting one second for a reset is not kept another half second)."""
        assert exc.retry_after is not None
        wait = max(0.0, (exc.retry_after - self.now()).total_seconds())
        draw = self.rng.random() if self.rng is not None else random.random()
        until = exc.retry_after + timedelta(seconds=draw * min(self.retry_base_seconds, wait / 10))
        # No time in the text: people read it on the Queue page, whose Due column gives the
        # retry in the org's timezone (the log line names it in UTC).
        reason = (f"{platform_name(item.platform)} asked Herald to wait until its rate limit resets, "
                  f"and the next try is then: {exc.network_message}"
                  + (f" (HTTP {exc.status})" if exc.status else ""))
        settlement = self.deferral(item, until, reason)
        duration_ms = int((time.monotonic() - t0) * 1000)
        return replace(settlement, attempt=AttemptRecord("rate_limited", reason, exc.status, duration_ms,
                                                         exc.retry_after))

    def defer_item(self, item: ClaimedItem, until: datetime, reason: str) -> ItemOutcome:
        return self.settle([self.deferral(item, until, reason)])[0]

    def _publish_with_refresh(self, connector: Connector, item: ClaimedItem, ctx: PublishContext) -> PublishResult:
        try:
            try:
                return connector.publish(ctx.request, ctx.credentials)
            except AuthPlatformError as first:
                if not ctx.credentials.refresh_token:
                    raise self._cannot_refresh(item, ctx, first) from first
                return connector.publish(ctx.request, self._refreshed_credentials(item, ctx, first))
        except StagedMediaGone as gone:
            # The network refused the publishing call because of what was staged: nothing went
            # out, so publishing from the start (uploads and all) is safe.
            log.info("%s: %s; publishing queue item %s from the start", item.platform, gone.network_message,
                     item.queue_id)
            return self._publish_with_refresh(connector, item, replace(ctx, request=replace(ctx.request, staged=None)))

    def _refreshed_credentials(self, item: ClaimedItem, ctx: PublishContext, first: AuthPlatformError) -> AccountCredentials:
        """Refresh the account's token once, or take the one another item of the same account
        (loaded in the same batch, with the same stale token) refreshed a moment ago: networks
        that rotate refresh tokens refuse the second of two refreshes made with the same one."""
        with self._refresh_lock(ctx.account_id):
            account = self._account_now(item.org_id, ctx.account_id)
            if account.status == "active" and account.credentials.access_token != ctx.credentials.access_token:
                return account.credentials  # refreshed meanwhile
            log.info("%s token rejected for account %s; refreshing once", item.platform, ctx.account_id)
            view = self.accounts.refresh_account(item.org_id, ctx.account_id)
            if view.status != "active":
                raise AuthPlatformError(item.platform, f"{first.network_message} (token refresh failed: "
                                        f"{view.status_reason})", status=first.status) from first
            return self._account_now(item.org_id, ctx.account_id).credentials

    def _cannot_refresh(self, item: ClaimedItem, ctx: PublishContext, first: AuthPlatformError) -> AuthPlatformError:
        """The network rejected a token the account has no refresh token for: the account is
        marked ``expired`` as a refused refresh marks it (unless it was reconnected meanwhile),
        and the item fails with the network's message and what to do."""
        network = platform_name(item.platform)
        try:
            with self._refresh_lock(ctx.account_id):
                self.accounts.mark_expired(
                    item.org_id, ctx.account_id,
                    f"{network} rejected the token and it cannot be refreshed: {first.network_message}",
                    error=first.network_message, rejected_token=ctx.credentials.access_token)
        except Exception:  # noqa: BLE001 - the item's outcome is known; its account is marked next time
            log.exception("could not mark %s account %s expired", item.platform, ctx.account_id)
        status = f" (HTTP {first.status})" if first.status else ""
        return AuthPlatformError(item.platform, f"{first.network_message}{status}; Herald cannot refresh this token: "
                                 f"reconnect the {network} account on the Accounts page, then retry",
                                 status=first.status)

    def _refresh_lock(self, account_id: uuid.UUID) -> threading.Lock:
        with self._locks_guard:
            return self._refresh_locks.setdefault(account_id, threading.Lock())

    def _account_now(self, org_id: uuid.UUID, account_id: uuid.UUID) -> _AccountNow:
        with self.db.unit_of_work(org_id, readonly=True) as uow:
            account = uow.session.get(SocialAccount, account_id)
            assert account is not None
            return _AccountNow(account.status, self.accounts.credentials(account))

    # --- outcomes ------------------------------------------------------------------------------
    def settlement_for(
        self, item: ClaimedItem, outcome: str, t0: float | None = None, *,
        result: PublishResult | None = None, error: str | None = None, http_status: int | None = None,
        retry_after: datetime | None = None, note: str | None = None, kind: str | None = None,
    ) -> Settlement:
        now = self.now()
        duration_ms = int((time.monotonic() - t0) * 1000) if t0 is not None else 0
        if error and http_status and f"HTTP {http_status}" not in error:
            error = f"{error} (HTTP {http_status})"
        next_at = None
        if outcome == "retry":
            if item.attempt_no >= item.max_attempts:
                outcome = "failed"
                error = f"{error} (gave up after {item.attempt_no} attempts)"
            else:
                next_at = next_attempt_at(now, item.attempt_no, retry_after=retry_after, rng=self.rng,
                                          first_retry_seconds=self.retry_base_seconds,
                                          base_seconds=max(self.retry_base_seconds, OUTAGE_RETRY_BASE_SECONDS))
        elif outcome == "unconfirmed":
            next_at = now + self.reconcile_delay
        attempt = AttemptRecord({"completed": "success", "retry": "retryable", "failed": kind or "permanent",
                                 "unconfirmed": "unknown", "cancelled": "cancelled"}[outcome],
                                error, http_status, duration_ms, retry_after)
        return Settlement(item, outcome, _QUEUE_STATUS[outcome],
                          FROM_ANY_BUT_DONE if outcome == "completed" else FROM_HELD, error, now,
                          next_attempt_at=next_at, processed=outcome == "completed", attempt=attempt,
                          platform_post=_PLATFORM_POST.get(outcome), result=result, note=note)

    # --- reconciliation of unknown outcomes (core.services.reconciliation) --------------------
    def reconcile_item(self, item: ClaimedItem, worker_id: str) -> ItemOutcome:
        return reconcile_item(self, item, worker_id)


@dataclass(frozen=True)
class _AccountNow:
    status: str
    credentials: AccountCredentials


def _log_settlement(s: Settlement) -> None:
    item = s.item
    if s.outcome == "completed" and s.result is not None:
        log.info("published post %s to %s: %s%s", item.post_id, item.platform, s.result.url,
                 f" ({s.note})" if s.note else "")
    elif s.outcome == "retry":
        log.warning("publishing post %s to %s failed (attempt %d/%d), retrying at %s: %s",
                    item.post_id, item.platform, item.attempt_no, item.max_attempts,
                    s.next_attempt_at.isoformat() if s.next_attempt_at else "?", s.message)
    elif s.outcome == "deferred":
        log.info("post %s on %s deferred until %s: %s", item.post_id, item.platform,
                 s.next_attempt_at.isoformat() if s.next_attempt_at else "?", s.message)
    elif s.outcome != "completed":
        log.warning("post %s on %s: %s: %s", item.post_id, item.platform, s.outcome, s.message)


__all__ = ["PublishingService", "PublishJob", "ItemOutcome", "Settlement", "LEASE_SECONDS", "TERMINAL"]
