"""What a person does to a queue item from the Queue page: resolve one Herald could not
settle (it went out, with its link, or it did not), retry a failed one, cancel one.

Each is one item in the actor's unit of work, with the item's post row locked so that the post's
final status is settled exactly as the daemon's outcome writer settles it (``settlement``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db.models import PlatformPost, PublishingQueueItem, ScheduledPost
from core.domain.posts import PostStatus
from core.errors import InvalidTransition, Problem, ValidationFailed
from core.platforms.base import PublishResult
from core.services.base import Service, audit, get_owned
from core.services.context import Actor
from core.services.queue_store import ClaimedItem
from core.services.settlement import settled_post_state


class QueueActions(Service):
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

    # --- ORM helpers (one item, in the actor's unit of work) ------------------------------------
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
