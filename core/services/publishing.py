"""Publishing: queue items in batches, each exactly once, with every outcome recorded.

An item moves ``pending -> processing`` when claimed (``QueueStore``), then one of:
- the network accepted it: ``completed``, a ``platform_posts`` row with its id and URL;
- a retryable error (429, 5xx, network): ``pending`` again, no earlier than the network's reset
  time, with exponential backoff and jitter, until ``max_attempts``; then ``failed``;
- an auth error: the token is refreshed once and the publish retried; if that fails, ``failed``
  and the account ``expired``;
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
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, select
from sqlalchemy.orm import Session

from core.clock import Clock
from core.db.engine import Database
from core.db.models import (
    PlatformPost,
    PublishingQueueItem,
    ScheduledPost,
    SocialAccount,
)
from core.domain.posts import PostStatus
from core.domain.queue import next_attempt_at
from core.domain.validation import PostContent, text_for_platform, title_for_platform
from core.errors import (
    AuthPlatformError,
    InvalidTransition,
    PermanentPlatformError,
    PlatformError,
    Problem,
    RetryablePlatformError,
    StagedMediaGone,
    UnknownOutcome,
    ValidationFailed,
)
from core.platforms.base import AccountCredentials, Connector, PublishRequest, PublishResult
from core.services.accounts import AccountService
from core.services.base import Service, audit, get_owned, load_org
from core.services.context import Actor
from core.services.metrics_sync import MetricsService
from core.services.queue_store import LEASE_SECONDS, ClaimedItem, QueueStore, in_values
from core.services.scheduling import post_view, sync_queue
from core.services.secrets import InvalidToken
from core.services.settlement import (
    FROM_ANY_BUT_DONE,
    FROM_HELD,
    TERMINAL,
    AttemptRecord,
    ItemOutcome,
    Settlement,
    SettlementWriter,
    settled_post_state,
)
from core.services.staging import usable_staging
from core.services.views import PlatformPostView, PostView

log = logging.getLogger("herald.publishing")

# How long after an unknown outcome before asking the network (its listings lag a little).
RECONCILE_DELAY_SECONDS = 20
# Reconciliation checks before the item is left for a person to resolve.
MAX_RECONCILE_CHECKS = 5
# A batch whose posts and accounts could not be loaded (the database went away) is given back
# this much later, attempt refunded, rather than failed.
LOAD_RETRY_SECONDS = 5

P: Table = ScheduledPost.__table__  # type: ignore[assignment]
PP: Table = PlatformPost.__table__  # type: ignore[assignment]
SA: Table = SocialAccount.__table__  # type: ignore[assignment]
_POST_COLUMNS = (P.c.post_id, P.c.status, P.c.platforms, P.c.content, P.c.post_type, P.c.title,
                 P.c.media_urls, P.c.media_metadata, P.c.hashtags, P.c.mentions,
                 P.c.platform_specific_content, P.c.platform_options, P.c.scheduled_at)
_ACCOUNT_COLUMNS = (SA.c.account_id, SA.c.platform, SA.c.external_account_id, SA.c.username,
                    SA.c.access_token_encrypted, SA.c.refresh_token_encrypted, SA.c.expires_at,
                    SA.c.scopes, SA.c.extra, SA.c.status, SA.c.status_reason, SA.c.created_at)
_QUEUE_STATUS = {"completed": "completed", "retry": "pending", "failed": "failed",
                 "unconfirmed": "unconfirmed", "cancelled": "cancelled"}
_PLATFORM_POST = {"completed": "published", "failed": "failed", "unconfirmed": "unconfirmed"}


class ItemProblem(Exception):
    """The item cannot be published as it stands (its post, platform or account is gone)."""

    def __init__(self, message: str, outcome: str = "failed") -> None:
        super().__init__(message)
        self.outcome = outcome


@dataclass
class _Context:
    request: PublishRequest
    credentials: AccountCredentials
    account_id: uuid.UUID
    already: PublishResult | None  # published on an earlier attempt: nothing to send


@dataclass
class PublishJob:
    """A claimed item, loaded: ready to publish (``context``), or already decided (``decided``:
    its post was cancelled, its account is gone, it was published on an earlier attempt...)."""

    item: ClaimedItem
    context: _Context | None = None
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
        actor.require("post.publish_now")
        pid = self._make_due_now(actor, post_id)
        results: dict[str, bool] = {}
        items = self.queue.claim_due(f"now:{actor.user_id}", now=self.now(), limit=50, post_id=pid)
        for outcome in self.process_batch(items, f"now:{actor.user_id}"):
            results[outcome.platform] = outcome.ok
        view = self._post_view(actor, pid)
        for q in view.queue_items:  # platforms settled earlier keep their result
            results.setdefault(q.platform, q.status == "completed")
        return results

    def publish_to_platform(self, actor: Actor, post_id: Any, platform: str) -> bool:
        actor.require("post.publish_now")
        pid = self._make_due_now(actor, post_id, only=platform)
        items = [i for i in self.queue.claim_due(f"now:{actor.user_id}", now=self.now(), limit=50, post_id=pid)
                 if i.platform == platform]
        return bool(items) and self.process_item(items[0], f"now:{actor.user_id}").ok

    def _make_due_now(self, actor: Actor, post_id: Any, only: str | None = None) -> uuid.UUID:
        with self.uow(actor) as uow:
            post = get_owned(uow.session, ScheduledPost, actor, post_id, "post")
            org = load_org(uow.session, actor.org_id)
            if only is not None and only not in (post.platforms or []):
                raise ValidationFailed([Problem(field="platform", code="not_in_post",
                                                message=f"This post does not go to {only}")])
            if post.needs_approval(approval_required=org.approval_required):
                raise InvalidTransition("post", post.status, "publishing",
                                        "it needs approval first (approve it, then publish)")
            now = self.now()
            if post.status in (PostStatus.DRAFT, PostStatus.SCHEDULED):
                post.status = PostStatus.SCHEDULED.value
                post.scheduled_at = now
                sync_queue(uow.session, post)
            elif post.status not in (PostStatus.PUBLISHING, PostStatus.FAILED, PostStatus.PARTIALLY_PUBLISHED):
                raise InvalidTransition("post", post.status, "publishing")
            else:
                if post.status != PostStatus.PUBLISHING:
                    post.status = PostStatus.PUBLISHING.value
                for q in uow.session.scalars(select(PublishingQueueItem).where(
                        PublishingQueueItem.scheduled_post_id == post.post_id,
                        PublishingQueueItem.status.in_(("pending", "failed")))):
                    q.status, q.next_attempt_at, q.attempts, q.error_message = "pending", now, 0, None
            audit(uow.session, actor, actor.org_id, "post.publish_now", "post", post.post_id, now,
                  {"platform": only})
            uow.commit()
            return post.post_id

    def _post_view(self, actor: Actor, post_id: uuid.UUID) -> PostView:
        with self.uow(actor, readonly=True) as uow:
            return post_view(uow.session, get_owned(uow.session, ScheduledPost, actor, post_id, "post"))

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
        loaded = self._load(items)
        jobs: list[PublishJob] = []
        retry: list[ClaimedItem] = [i for i in items if isinstance(loaded[i.queue_id], _LoadFailed)]
        if retry:  # once more: a connection that died in the pool is replaced on the next checkout
            loaded.update(self._load(retry))
        for item in items:
            got = loaded[item.queue_id]
            if isinstance(got, _Context):
                if got.already is not None:
                    jobs.append(PublishJob(item, decided=self._settlement(
                        item, "completed", result=got.already, note="already published on an earlier attempt")))
                else:
                    jobs.append(PublishJob(item, context=got))
            elif isinstance(got, ItemProblem):
                jobs.append(PublishJob(item, decided=self._settlement(item, got.outcome, error=str(got))))
            elif isinstance(got, _LoadFailed):
                log.warning("could not load queue item %s (%s); giving it back for later", item.queue_id, got.error)
                jobs.append(PublishJob(item, decided=self.deferral(
                    item, self.now() + timedelta(seconds=LOAD_RETRY_SECONDS),
                    f"Herald could not read this item's post and account ({got.error}); trying again shortly")))
            else:
                jobs.append(PublishJob(item, decided=self._settlement(
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
            return self._settlement(item, "failed", t0, error=f"Herald could not check this item: {exc}")
        if problems:
            return self._settlement(item, "failed", t0, error="; ".join(str(p) for p in problems))
        try:
            result = self._publish_with_refresh(connector, item, ctx)
        except UnknownOutcome as exc:
            return self._settlement(item, "unconfirmed", t0, error=exc.network_message, http_status=exc.status)
        except RetryablePlatformError as exc:
            if exc.retry_after is not None and exc.retry_after > self.now():
                return self._network_wait(item, exc, t0)
            return self._settlement(item, "retry", t0, error=exc.network_message,
                                    http_status=exc.status, retry_after=exc.retry_after)
        except (AuthPlatformError, PermanentPlatformError, PlatformError) as exc:
            return self._settlement(item, "failed", t0, error=exc.network_message, http_status=exc.status,
                                    kind="auth" if isinstance(exc, AuthPlatformError) else "permanent")
        except Exception as exc:  # noqa: BLE001 - we may have sent it: never guess, reconcile
            log.exception("unexpected error publishing %s to %s", item.post_id, item.platform)
            return self._settlement(item, "unconfirmed", t0, error=f"unexpected error: {exc}")
        return self._settlement(item, "completed", t0, result=result)

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
        reason = (f"{item.platform} asked Herald to wait until {exc.retry_after.isoformat()}: "
                  f"{exc.network_message}" + (f" (HTTP {exc.status})" if exc.status else ""))
        settlement = self.deferral(item, until, reason)
        duration_ms = int((time.monotonic() - t0) * 1000)
        return replace(settlement, attempt=AttemptRecord("rate_limited", reason, exc.status, duration_ms))

    def defer_item(self, item: ClaimedItem, until: datetime, reason: str) -> ItemOutcome:
        return self.settle([self.deferral(item, until, reason)])[0]

    def _publish_with_refresh(self, connector: Connector, item: ClaimedItem, ctx: _Context) -> PublishResult:
        try:
            try:
                return connector.publish(ctx.request, ctx.credentials)
            except AuthPlatformError as first:
                if not ctx.credentials.refresh_token:
                    raise
                return connector.publish(ctx.request, self._refreshed_credentials(item, ctx, first))
        except StagedMediaGone as gone:
            # The network refused the publishing call because of what was staged: nothing went
            # out, so publishing from the start (uploads and all) is safe.
            log.info("%s: %s; publishing queue item %s from the start", item.platform, gone.network_message,
                     item.queue_id)
            return self._publish_with_refresh(connector, item, replace(ctx, request=replace(ctx.request, staged=None)))

    def _refreshed_credentials(self, item: ClaimedItem, ctx: _Context, first: AuthPlatformError) -> AccountCredentials:
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

    def _refresh_lock(self, account_id: uuid.UUID) -> threading.Lock:
        with self._locks_guard:
            return self._refresh_locks.setdefault(account_id, threading.Lock())

    def _account_now(self, org_id: uuid.UUID, account_id: uuid.UUID) -> _AccountNow:
        with self.db.unit_of_work(org_id, readonly=True) as uow:
            account = uow.session.get(SocialAccount, account_id)
            assert account is not None
            return _AccountNow(account.status, self.accounts.credentials(account))

    # --- loading -------------------------------------------------------------------------------
    def _load(self, items: Sequence[ClaimedItem]) -> dict[uuid.UUID, _Loaded]:
        by_org: dict[uuid.UUID, list[ClaimedItem]] = defaultdict(list)
        for item in items:
            by_org[item.org_id].append(item)
        loaded: dict[uuid.UUID, _Loaded] = {}
        for org_id, group in by_org.items():
            try:
                with self.db.transaction(org_id, readonly=True) as conn:
                    loaded.update(self._load_org(conn, org_id, group))
            except Exception as exc:  # noqa: BLE001 - the caller decides (retry, give back)
                loaded.update({item.queue_id: _LoadFailed(str(exc).splitlines()[0] if str(exc) else
                                                          type(exc).__name__) for item in group})
        return loaded

    def _load_org(self, conn: Connection, org_id: uuid.UUID,
                  items: Sequence[ClaimedItem]) -> dict[uuid.UUID, _Loaded]:
        post_ids = list({i.post_id for i in items})
        posts = {r.post_id: r for r in conn.execute(select(*_POST_COLUMNS).where(in_values(self.db, P.c.post_id, post_ids)))}
        published = {(r.scheduled_post_id, r.platform): r for r in conn.execute(
            select(PP.c.scheduled_post_id, PP.c.platform, PP.c.platform_post_id_external, PP.c.post_url)
            .where(in_values(self.db, PP.c.scheduled_post_id, post_ids), PP.c.status == "published"))}
        out: dict[uuid.UUID, _Loaded] = {}
        chosen: dict[uuid.UUID, uuid.UUID | None] = {}
        for item in items:
            post = posts.get(item.post_id)
            try:
                _check_post(item, post)
                chosen[item.queue_id] = _chosen_account(item, post)
            except ItemProblem as exc:
                out[item.queue_id] = exc
            except Exception as exc:  # noqa: BLE001 - a corrupt row must not stop the batch
                log.exception("could not prepare queue item %s", item.queue_id)
                out[item.queue_id] = exc
        by_id: dict[uuid.UUID, Any] = {}
        wanted = {a for a in chosen.values() if a is not None}
        if wanted:
            by_id = {r.account_id: r for r in conn.execute(
                select(*_ACCOUNT_COLUMNS).where(SA.c.org_id == org_id, in_values(self.db, SA.c.account_id, wanted)))}
        by_platform: dict[str, list[Any]] = defaultdict(list)
        default_platforms = {i.platform for i in items if i.queue_id in chosen and chosen[i.queue_id] is None}
        if default_platforms:
            for r in conn.execute(select(*_ACCOUNT_COLUMNS).where(
                    SA.c.org_id == org_id, in_values(self.db, SA.c.platform, default_platforms))
                    .order_by(SA.c.created_at)):
                by_platform[r.platform].append(r)
        for item in items:
            if item.queue_id in out:
                continue
            post = posts[item.post_id]
            done = published.get((item.post_id, item.platform))
            account_id = chosen[item.queue_id]
            if account_id is None:
                accounts = by_platform.get(item.platform, [])
            else:
                row = by_id.get(account_id)
                accounts = [row] if row is not None and row.platform == item.platform else []
            try:
                out[item.queue_id] = self._context(item, post, accounts, done)
            except ItemProblem as exc:
                out[item.queue_id] = exc
            except Exception as exc:  # noqa: BLE001 - a corrupt row must not stop the batch
                log.exception("could not prepare queue item %s", item.queue_id)
                out[item.queue_id] = exc
        return out

    def _context(self, item: ClaimedItem, post: Any, accounts: list[Any], done: Any) -> _Context:
        if not accounts:
            raise ItemProblem(f"No {item.platform} account is connected; connect one on the Accounts page, then retry")
        active = [a for a in accounts if a.status == "active"]
        if not active:
            a = accounts[0]
            raise ItemProblem(f"The {item.platform} account @{a.username} is {a.status}"
                              f"{': ' + a.status_reason if a.status_reason else ''}; reconnect it, then retry")
        account = active[0]
        try:
            creds = self.accounts.credentials(account)
        except InvalidToken:
            raise ItemProblem(f"The stored {item.platform} token cannot be decrypted (was "
                              "HERALD_SECRET_KEY changed?); reconnect the account") from None
        spec = PostContent(
            content=post.content, post_type=post.post_type, platforms=tuple(post.platforms),
            media_urls=tuple(post.media_urls or ()), hashtags=tuple(post.hashtags or ()),
            mentions=tuple(post.mentions or ()), title=post.title,
            platform_specific_content=dict(post.platform_specific_content or {}),
            platform_options=dict(post.platform_options or {}),
            media_kinds={u: str(m.get("kind") if isinstance(m, dict) else m)
                         for u, m in (post.media_metadata or {}).items()
                         if m and (not isinstance(m, dict) or m.get("kind"))},
        )
        request = PublishRequest(
            post_id=str(post.post_id), platform=item.platform, post_type=post.post_type,
            text=text_for_platform(spec, item.platform), title=title_for_platform(spec, item.platform),
            media_urls=tuple(post.media_urls or ()), media_kinds=dict(spec.media_kinds),
            options=dict((post.platform_options or {}).get(item.platform) or {}),
            scheduled_at=post.scheduled_at, idempotency_key=item.idempotency_key,
        )
        if item.staged:
            request = replace(request, staged=usable_staging(item.staged, request, account.account_id, self.now(),
                                                             self.accounts.cipher))
        already = (PublishResult(done.platform_post_id_external or "", done.post_url or "", {})
                   if done is not None else None)
        return _Context(request, creds, account.account_id, already)

    # --- outcomes ------------------------------------------------------------------------------
    def _settlement(
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
                                          base_seconds=self.retry_base_seconds)
        elif outcome == "unconfirmed":
            next_at = now + self.reconcile_delay
        attempt = AttemptRecord({"completed": "success", "retry": "retryable", "failed": kind or "permanent",
                                 "unconfirmed": "unknown", "cancelled": "cancelled"}[outcome],
                                error, http_status, duration_ms)
        return Settlement(item, outcome, _QUEUE_STATUS[outcome],
                          FROM_ANY_BUT_DONE if outcome == "completed" else FROM_HELD, error, now,
                          next_attempt_at=next_at, processed=outcome == "completed", attempt=attempt,
                          platform_post=_PLATFORM_POST.get(outcome), result=result, note=note)

    # --- reconciliation of unknown outcomes --------------------------------------------------
    def reconcile_item(self, item: ClaimedItem, worker_id: str) -> ItemOutcome:
        """Ask the network whether an unconfirmed post went out. Found: completed. Confirmed
        absent: pending again (now it is safe to publish). Cannot tell: checked again later,
        and after MAX_RECONCILE_CHECKS left for a person to resolve on the Queue page."""
        t0 = time.monotonic()
        got = self._load([item])[item.queue_id]
        if isinstance(got, ItemProblem):
            return self._finish_check(item, "failed" if got.outcome == "failed" else "cancelled", str(got))
        if isinstance(got, _LoadFailed):
            raise RuntimeError(f"could not load unconfirmed item {item.queue_id}: {got.error}")
        if isinstance(got, Exception):
            raise got
        ctx = got
        if ctx.already is not None:
            return self.settle([self._settlement(item, "completed", t0, result=ctx.already)], worker_id)[0]
        try:
            since = (ctx.request.scheduled_at or item.scheduled_for) - timedelta(minutes=5)
            found = self.connector_for(item.platform).find_existing(ctx.request, ctx.credentials, since=since)
        except PlatformError as exc:
            return self._recheck_later(item, f"could not check with {item.platform}: {exc.network_message}")
        if found is not None:
            log.info("reconciled post %s on %s: it went out (%s)", item.post_id, item.platform, found.url)
            return self.settle([self._settlement(item, "completed", t0, result=found,
                                                 note="found on the network after an unknown outcome")],
                               worker_id)[0]
        return self._finish_check(item, "pending",
                                  f"{item.platform} confirmed the post did not go out; publishing it again")

    def _recheck_later(self, item: ClaimedItem, message: str) -> ItemOutcome:
        now = self.now()
        with self.db.unit_of_work(item.org_id) as uow:
            row = uow.session.get(PublishingQueueItem, item.queue_id)
            assert row is not None
            row.reconcile_checks = checks = (row.reconcile_checks or 0) + 1
            if checks >= MAX_RECONCILE_CHECKS:
                # Left for a person: shown on the Queue page, never picked up automatically again.
                row.error_message = (f"Needs your decision: Herald could not confirm whether this went "
                                     f"out ({message}). Mark it published (with its link) or failed.")
                row.next_attempt_at = now + timedelta(days=3650)
            else:
                row.error_message = message
                row.next_attempt_at = now + self.reconcile_delay * (2 ** checks)
            row.locked_by = row.locked_until = None
            uow.commit()
        return ItemOutcome(item.queue_id, item.post_id, item.platform, "unconfirmed", message)

    def _finish_check(self, item: ClaimedItem, status: str, message: str) -> ItemOutcome:
        now = self.now()
        settlement = Settlement(item, {"pending": "retry"}.get(status, status), status, ("unconfirmed",),
                                message, now, next_attempt_at=now,
                                platform_post="failed" if status == "failed" else None)
        self.settle([settlement])
        return ItemOutcome(item.queue_id, item.post_id, item.platform, settlement.outcome, message)

    # --- ops actions -------------------------------------------------------------------------
    def resolve_unconfirmed(self, actor: Actor, queue_id: Any, *, published: bool,
                            url: str | None = None, external_id: str | None = None) -> None:
        """A person settles an item Herald could not: it did go out (with its link), or not."""
        actor.require("queue.operate")
        now = self.now()
        with self.uow(actor) as uow:
            row = get_owned(uow.session, PublishingQueueItem, actor, queue_id, "queue item")
            if row.status != "unconfirmed":
                raise InvalidTransition("queue item", row.status, "resolved", "only unconfirmed items need resolving")
            post = self._lock_post(uow.session, row.scheduled_post_id)
            item = ClaimedItem(row.queue_id, row.org_id, row.scheduled_post_id, row.platform, row.attempts,
                               row.max_attempts, row.scheduled_for, row.idempotency_key, row.account_id, uuid.uuid4())
            if published:
                if not (url or external_id):
                    raise ValidationFailed([Problem(field="url", code="required",
                                                    message="Give the post's link (or its id on the network)")])
                row.status, row.processed_at = "completed", now
                row.error_message = "Marked published by hand"
                if post is not None:
                    self._record_platform_post(uow.session, item, post, "completed",
                                               PublishResult(external_id or url or "", url or "", {}), None, now)
            else:
                row.status, row.error_message = "failed", "Marked failed by hand"
                if post is not None:
                    self._record_platform_post(uow.session, item, post, "failed", None, row.error_message, now)
            row.locked_by = row.locked_until = None
            if post is not None:
                self._settle_post(uow.session, post, now)
            audit(uow.session, actor, actor.org_id, "queue.resolved", "queue", row.queue_id, now,
                  {"published": published, "url": url})
            uow.commit()

    def retry_item(self, actor: Actor, queue_id: Any) -> None:
        """Put a failed item back in the queue, due now, with a fresh attempt budget."""
        actor.require("queue.operate")
        now = self.now()
        with self.uow(actor) as uow:
            row = get_owned(uow.session, PublishingQueueItem, actor, queue_id, "queue item")
            if row.status != "failed":
                raise InvalidTransition("queue item", row.status, "pending", "only failed items can be retried")
            post = self._lock_post(uow.session, row.scheduled_post_id)
            row.status, row.attempts, row.next_attempt_at, row.error_message = "pending", 0, now, None
            if post is not None and post.status in (PostStatus.FAILED, PostStatus.PARTIALLY_PUBLISHED):
                post.status = PostStatus.PUBLISHING.value
            audit(uow.session, actor, actor.org_id, "queue.retried", "queue", row.queue_id, now)
            uow.commit()

    def cancel_item(self, actor: Actor, queue_id: Any) -> None:
        actor.require("queue.operate")
        now = self.now()
        with self.uow(actor) as uow:
            row = get_owned(uow.session, PublishingQueueItem, actor, queue_id, "queue item")
            if row.status not in ("pending", "failed", "unconfirmed"):
                raise InvalidTransition("queue item", row.status, "cancelled")
            post = self._lock_post(uow.session, row.scheduled_post_id)
            row.status, row.error_message = "cancelled", "Cancelled by hand"
            if post is not None:
                self._settle_post(uow.session, post, now)
            audit(uow.session, actor, actor.org_id, "queue.cancelled", "queue", row.queue_id, now)
            uow.commit()

    # --- ORM helpers of the ops actions (one item, in the actor's unit of work) -----------------
    def _lock_post(self, s: Session, post_id: uuid.UUID) -> ScheduledPost | None:
        # The post row is the lock that serialises the settling of its items, so the last one
        # to finish always sees the others' results and sets the post's final status.
        query = select(ScheduledPost).where(ScheduledPost.post_id == post_id)
        if not self.db.is_sqlite:
            query = query.with_for_update()
        return s.scalar(query)

    @staticmethod
    def _record_platform_post(s: Session, item: ClaimedItem, post: ScheduledPost, outcome: str,
                              result: PublishResult | None, error: str | None, now: datetime) -> None:
        if outcome in ("retry", "cancelled"):
            return
        row = s.scalar(select(PlatformPost).where(PlatformPost.scheduled_post_id == post.post_id,
                                                  PlatformPost.platform == item.platform))
        if row is None:
            row = PlatformPost(org_id=item.org_id, scheduled_post_id=post.post_id, platform=item.platform,
                               likes=0, comments=0, shares=0, views=0, engagement=0, engagement_rate=0.0)
            s.add(row)
        if outcome == "completed" and result is not None:
            if not row.is_published():
                row.mark_published(result.external_id, result.url, now)
                row.platform_response = result.raw or None
        elif outcome == "failed":
            row.mark_failed(error or "failed")
        elif outcome == "unconfirmed":
            row.status = "unconfirmed"
            row.error_message = error

    @staticmethod
    def _settle_post(s: Session, post: ScheduledPost, now: datetime) -> None:
        s.flush()
        states: dict[str, str] = {p: st for p, st in s.execute(
            select(PublishingQueueItem.platform, PublishingQueueItem.status).where(
                PublishingQueueItem.scheduled_post_id == post.post_id))}
        errors: dict[str, str | None] = {}
        if any(st == "failed" for st in states.values()):
            errors = {p: e for p, e in s.execute(
                select(PlatformPost.platform, PlatformPost.error_message).where(
                    PlatformPost.scheduled_post_id == post.post_id, PlatformPost.status == "failed"))}
        settled = settled_post_state(post.published_at, post.error_message, states, errors, now)
        if settled is None:
            return
        post.status, post.published_at, post.error_message = settled.status, settled.published_at, settled.error_message
        post.updated_at = now


@dataclass(frozen=True)
class _AccountNow:
    status: str
    credentials: AccountCredentials


@dataclass(frozen=True)
class _LoadFailed:
    error: str


_Loaded = _Context | ItemProblem | _LoadFailed | Exception


def _check_post(item: ClaimedItem, post: Any) -> None:
    if post is None:
        raise ItemProblem("The post was deleted after it was queued", "cancelled")
    if post.status == PostStatus.CANCELLED:
        raise ItemProblem("The post was cancelled", "cancelled")
    if item.platform not in (post.platforms or []):
        raise ItemProblem(f"{item.platform} was removed from the post after it was queued", "cancelled")


def _chosen_account(item: ClaimedItem, post: Any) -> uuid.UUID | None:
    chosen = ((post.platform_options or {}).get(item.platform) or {}).get("account_id") or item.account_id
    if not chosen:
        return None
    return chosen if isinstance(chosen, uuid.UUID) else uuid.UUID(str(chosen))


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
