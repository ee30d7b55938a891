"""Publishing: one queue item at a time, exactly once, with every outcome recorded.

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
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.clock import Clock
from core.db.engine import Database
from core.db.models import (
    PlatformPost,
    PublishAttempt,
    PublishingQueueItem,
    ScheduledPost,
    SocialAccount,
)
from core.domain.posts import PostStatus, format_platform_errors, status_from_platform_results
from core.domain.queue import next_attempt_at
from core.domain.validation import PostContent, text_for_platform, title_for_platform
from core.errors import (
    AuthPlatformError,
    InvalidTransition,
    PermanentPlatformError,
    PlatformError,
    Problem,
    RetryablePlatformError,
    UnknownOutcome,
    ValidationFailed,
)
from core.platforms.base import AccountCredentials, Connector, PublishRequest, PublishResult
from core.services.accounts import AccountService
from core.services.base import Service, audit, get_owned, load_org
from core.services.context import Actor
from core.services.metrics_sync import MetricsService
from core.services.queue_store import LEASE_SECONDS, ClaimedItem, QueueStore
from core.services.scheduling import post_view, sync_queue
from core.services.secrets import InvalidToken
from core.services.views import PlatformPostView, PostView

log = logging.getLogger("herald.publishing")

# How long after an unknown outcome before asking the network (its listings lag a little).
RECONCILE_DELAY_SECONDS = 20
# Reconciliation checks before the item is left for a person to resolve.
MAX_RECONCILE_CHECKS = 5
TERMINAL = ("completed", "failed", "cancelled")


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


class PublishingService(Service):
    def __init__(self, db: Database, clock: Clock, accounts: AccountService,
                 connector_for: Callable[[str], Connector], *, queue: QueueStore | None = None,
                 rng: Any = None, reconcile_delay_seconds: int = RECONCILE_DELAY_SECONDS,
                 retry_base_seconds: float = 2.0) -> None:
        super().__init__(db, clock)
        self.retry_base_seconds = retry_base_seconds
        self.reconcile_delay = timedelta(seconds=reconcile_delay_seconds)
        self.accounts = accounts
        self.connector_for = connector_for
        self.queue = queue or QueueStore(db)
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
            for item in items:
                self._count(counts, self.process_item(item, worker_id))
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
        for item in self.queue.claim_due(f"now:{actor.user_id}", now=self.now(), limit=50, post_id=pid):
            results[item.platform] = self.process_item(item, f"now:{actor.user_id}").ok
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

    # --- one item ----------------------------------------------------------------------------
    def process_item(self, item: ClaimedItem, worker_id: str) -> ItemOutcome:
        started = self.now()
        t0 = time.monotonic()
        try:
            ctx = self._load_context(item)
        except ItemProblem as exc:
            return self._settle(item, worker_id, exc.outcome, started, t0, error=str(exc))
        except Exception as exc:  # a corrupt row must not stop the loop
            log.exception("could not prepare queue item %s", item.queue_id)
            return self._settle(item, worker_id, "failed", started, t0,
                                error=f"Herald could not prepare this item: {exc}")
        if ctx.already is not None:
            return self._settle(item, worker_id, "completed", started, t0, result=ctx.already,
                                note="already published on an earlier attempt")
        connector = self.connector_for(item.platform)
        problems = connector.validate(ctx.request)
        if problems:
            return self._settle(item, worker_id, "failed", started, t0,
                                error="; ".join(str(p) for p in problems))
        try:
            result = self._publish_with_refresh(connector, item, ctx)
        except UnknownOutcome as exc:
            return self._settle(item, worker_id, "unconfirmed", started, t0, error=exc.network_message,
                                http_status=exc.status)
        except RetryablePlatformError as exc:
            return self._settle(item, worker_id, "retry", started, t0, error=exc.network_message,
                                http_status=exc.status, retry_after=exc.retry_after)
        except (AuthPlatformError, PermanentPlatformError, PlatformError) as exc:
            return self._settle(item, worker_id, "failed", started, t0, error=exc.network_message,
                                http_status=exc.status, kind="auth" if isinstance(exc, AuthPlatformError) else "permanent")
        except Exception as exc:  # noqa: BLE001 - we may have sent it: never guess, reconcile
            log.exception("unexpected error publishing %s to %s", item.post_id, item.platform)
            return self._settle(item, worker_id, "unconfirmed", started, t0, error=f"unexpected error: {exc}")
        return self._settle(item, worker_id, "completed", started, t0, result=result)

    def _publish_with_refresh(self, connector: Connector, item: ClaimedItem, ctx: _Context) -> PublishResult:
        try:
            return connector.publish(ctx.request, ctx.credentials)
        except AuthPlatformError as first:
            if not ctx.credentials.refresh_token:
                raise
            log.info("%s token rejected for account %s; refreshing once", item.platform, ctx.account_id)
            view = self.accounts.refresh_account(item.org_id, ctx.account_id)
            if view.status != "active":
                raise AuthPlatformError(item.platform, f"{first.network_message} (token refresh failed: "
                                        f"{view.status_reason})", status=first.status) from first
            with self.db.unit_of_work(item.org_id, readonly=True) as uow:
                account = uow.session.get(SocialAccount, ctx.account_id)
                assert account is not None
                fresh = self.accounts.credentials(account)
            return connector.publish(ctx.request, fresh)

    def _load_context(self, item: ClaimedItem) -> _Context:
        with self.db.unit_of_work(item.org_id, readonly=True) as uow:
            s = uow.session
            post = s.get(ScheduledPost, item.post_id)
            if post is None:
                raise ItemProblem("The post was deleted after it was queued", "cancelled")
            if post.status == PostStatus.CANCELLED:
                raise ItemProblem("The post was cancelled", "cancelled")
            if item.platform not in (post.platforms or []):
                raise ItemProblem(f"{item.platform} was removed from the post after it was queued", "cancelled")
            done = s.scalar(select(PlatformPost).where(
                PlatformPost.scheduled_post_id == post.post_id, PlatformPost.platform == item.platform,
                PlatformPost.status == "published"))
            account = self._account_for(s, item, post)
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
            already = (PublishResult(done.platform_post_id_external or "", done.post_url or "", {})
                       if done is not None else None)
            return _Context(request, creds, account.account_id, already)

    @staticmethod
    def _account_for(s: Session, item: ClaimedItem, post: ScheduledPost) -> SocialAccount:
        chosen = ((post.platform_options or {}).get(item.platform) or {}).get("account_id") or item.account_id
        query = select(SocialAccount).where(SocialAccount.org_id == item.org_id,
                                            SocialAccount.platform == item.platform)
        if chosen:
            query = query.where(SocialAccount.account_id == (chosen if isinstance(chosen, uuid.UUID) else uuid.UUID(str(chosen))))
        accounts = list(s.scalars(query.order_by(SocialAccount.created_at)))
        if not accounts:
            raise ItemProblem(f"No {item.platform} account is connected; connect one on the Accounts page, then retry")
        active = [a for a in accounts if a.status == "active"]
        if not active:
            a = accounts[0]
            raise ItemProblem(f"The {item.platform} account @{a.username} is {a.status}"
                              f"{': ' + a.status_reason if a.status_reason else ''}; reconnect it, then retry")
        return active[0]

    # --- writing the outcome -----------------------------------------------------------------
    def _settle(
        self, item: ClaimedItem, worker_id: str, outcome: str, started: datetime, t0: float, *,
        result: PublishResult | None = None, error: str | None = None, http_status: int | None = None,
        retry_after: datetime | None = None, note: str | None = None, kind: str | None = None,
    ) -> ItemOutcome:
        now = self.now()
        duration_ms = int((time.monotonic() - t0) * 1000)
        if error and http_status and f"HTTP {http_status}" not in error:
            error = f"{error} (HTTP {http_status})"
        retry_at = None
        if outcome == "retry":
            if item.attempt_no >= item.max_attempts:
                outcome = "failed"
                error = f"{error} (gave up after {item.attempt_no} attempts)"
            else:
                retry_at = next_attempt_at(now, item.attempt_no, retry_after=retry_after, rng=self.rng,
                                           base_seconds=self.retry_base_seconds)
        status = {"completed": "completed", "retry": "pending", "failed": "failed",
                  "unconfirmed": "unconfirmed", "cancelled": "cancelled"}[outcome]
        with self.db.unit_of_work(item.org_id) as uow:
            s = uow.session
            post = self._lock_post(s, item.post_id)
            values: dict[str, Any] = {"status": status, "locked_by": None, "locked_until": None,
                                      "updated_at": now, "error_message": error}
            if outcome == "completed":
                values["processed_at"] = now
            if retry_at is not None:
                values["next_attempt_at"] = retry_at
            if outcome == "unconfirmed":
                values["next_attempt_at"] = now + self.reconcile_delay
            # A row someone else settled meanwhile (cancelled by a user, or recovered) is only
            # overwritten with the truth of a successful publish.
            allowed = ("processing", "unconfirmed") if outcome != "completed" else ("processing", "unconfirmed", "pending", "failed", "cancelled")
            s.execute(update(PublishingQueueItem).where(
                PublishingQueueItem.queue_id == item.queue_id, PublishingQueueItem.status.in_(allowed)
            ).values(**values))
            s.execute(update(PublishAttempt).where(PublishAttempt.attempt_id == item.attempt_id).values(
                finished_at=now, duration_ms=duration_ms, http_status=http_status, error=error,
                outcome={"completed": "success", "retry": "retryable", "failed": kind or "permanent",
                         "unconfirmed": "unknown", "cancelled": "cancelled"}[outcome]))
            if post is not None:
                self._record_platform_post(s, item, post, outcome, result, error, now)
                self._settle_post(s, post, now)
            uow.commit()
        if outcome == "completed" and result is not None:
            log.info("published post %s to %s: %s%s", item.post_id, item.platform, result.url,
                     f" ({note})" if note else "")
        elif outcome == "retry":
            log.warning("publishing post %s to %s failed (attempt %d/%d), retrying at %s: %s",
                        item.post_id, item.platform, item.attempt_no, item.max_attempts,
                        retry_at.isoformat() if retry_at else "?", error)
        else:
            log.warning("post %s on %s: %s: %s", item.post_id, item.platform, outcome, error)
        return ItemOutcome(item.queue_id, item.post_id, item.platform, outcome, error or note or "",
                           result.external_id if result else None, result.url if result else None, retry_at)

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
        live = {p: st for p, st in states.items() if st != "cancelled"}
        if not live or any(st not in TERMINAL for st in live.values()):
            return
        if post.status != PostStatus.PUBLISHING:
            post.status = PostStatus.PUBLISHING.value  # e.g. a late success after a manual retry
        results = {p: st == "completed" for p, st in live.items()}
        final = status_from_platform_results(results)
        errors: dict[str, str | None] = {p: e for p, e in s.execute(
            select(PlatformPost.platform, PlatformPost.error_message).where(
                PlatformPost.scheduled_post_id == post.post_id, PlatformPost.status == "failed"))}
        if final == PostStatus.PUBLISHED:
            post.mark_published(now)
        elif final == PostStatus.PARTIALLY_PUBLISHED:
            post.mark_partially_published(now, {p: errors.get(p) or "failed" for p, ok in results.items() if not ok})
        else:
            post.mark_failed(format_platform_errors({p: errors.get(p) or "failed" for p in results}))
        post.updated_at = now

    # --- reconciliation of unknown outcomes --------------------------------------------------
    def reconcile_item(self, item: ClaimedItem, worker_id: str) -> ItemOutcome:
        """Ask the network whether an unconfirmed post went out. Found: completed. Confirmed
        absent: pending again (now it is safe to publish). Cannot tell: checked again later,
        and after MAX_RECONCILE_CHECKS left for a person to resolve on the Queue page."""
        started, t0 = self.now(), time.monotonic()
        try:
            ctx = self._load_context(item)
        except ItemProblem as exc:
            return self._finish_check(item, "failed" if exc.outcome == "failed" else "cancelled", str(exc))
        if ctx.already is not None:
            return self._settle(item, worker_id, "completed", started, t0, result=ctx.already)
        try:
            since = (ctx.request.scheduled_at or item.scheduled_for) - timedelta(minutes=5)
            found = self.connector_for(item.platform).find_existing(ctx.request, ctx.credentials, since=since)
        except PlatformError as exc:
            return self._recheck_later(item, f"could not check with {item.platform}: {exc.network_message}")
        if found is not None:
            log.info("reconciled post %s on %s: it went out (%s)", item.post_id, item.platform, found.url)
            return self._settle(item, worker_id, "completed", started, t0, result=found,
                                note="found on the network after an unknown outcome")
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
        with self.db.unit_of_work(item.org_id) as uow:
            s = uow.session
            post = self._lock_post(s, item.post_id)
            s.execute(update(PublishingQueueItem).where(
                PublishingQueueItem.queue_id == item.queue_id, PublishingQueueItem.status == "unconfirmed"
            ).values(status=status, locked_by=None, locked_until=None, next_attempt_at=now,
                     error_message=message, updated_at=now))
            if post is not None:
                if status == "failed":
                    self._record_platform_post(s, item, post, "failed", None, message, now)
                self._settle_post(s, post, now)
            uow.commit()
        return ItemOutcome(item.queue_id, item.post_id, item.platform,
                           {"pending": "retry"}.get(status, status), message)

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

    def defer_item(self, item: ClaimedItem, until: datetime, reason: str) -> ItemOutcome:
        """Give a claimed item back without spending an attempt (circuit open, rate limit)."""
        now = self.now()
        with self.db.unit_of_work(item.org_id) as uow:
            s = uow.session
            s.execute(update(PublishingQueueItem).where(
                PublishingQueueItem.queue_id == item.queue_id, PublishingQueueItem.status == "processing"
            ).values(status="pending", next_attempt_at=until, locked_by=None, locked_until=None,
                     attempts=PublishingQueueItem.attempts - 1, error_message=reason, updated_at=now))
            s.execute(update(PublishAttempt).where(PublishAttempt.attempt_id == item.attempt_id).values(
                outcome="deferred", finished_at=now, error=reason))
            uow.commit()
        return ItemOutcome(item.queue_id, item.post_id, item.platform, "deferred", reason, retry_at=until)


__all__ = ["PublishingService", "ItemOutcome", "LEASE_SECONDS"]
