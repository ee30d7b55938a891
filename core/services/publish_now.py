"""Publishing now, from the dashboard or the API: the whole post, or one of its networks.

The post's items are made due now, then claimed and published in the caller's process, and the
result per network is returned. An item a daemon already holds (armed moments before its time,
or mid-call) is waited for, so the result reported is the real one.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from core.db.models import PublishingQueueItem, ScheduledPost
from core.domain.platforms import PLATFORMS
from core.domain.posts import PostStatus
from core.errors import InvalidTransition, Problem, ValidationFailed
from core.services.base import audit, get_owned, load_org
from core.services.context import Actor
from core.services.scheduling import post_view, sync_queue
from core.services.views import PostView

if TYPE_CHECKING:
    from core.services.publishing import PublishingService

# "Publish now" waits this long for an item a daemon holds (armed, or mid-call) to settle.
IN_FLIGHT_WAIT_SECONDS = 10.0
IN_FLIGHT_POLL_SECONDS = 0.2


def publish_post(publishing: PublishingService, actor: Actor, post_id: Any) -> dict[str, bool]:
    actor.require("post.publish_now")
    return _publish_now(publishing, actor, _make_due_now(publishing, actor, post_id))


def publish_to_platform(publishing: PublishingService, actor: Actor, post_id: Any, platform: str) -> bool:
    actor.require("post.publish_now")
    pid = _make_due_now(publishing, actor, post_id, only=platform)
    return _publish_now(publishing, actor, pid, only=platform).get(platform, False)


def _publish_now(publishing: PublishingService, actor: Actor, pid: uuid.UUID, *,
                 only: str | None = None) -> dict[str, bool]:
    """Claim and publish the post's due items (``only`` one platform's). An item a daemon
    holds (armed moments before its time, or mid-call) is waited for, up to
    ``IN_FLIGHT_WAIT_SECONDS``, so that its result is the real one, not "not published"."""
    worker_id = f"now:{actor.user_id}"
    others = [p for p in PLATFORMS if p != only] if only is not None else []
    items = publishing.queue.claim_due(worker_id, now=publishing.now(), limit=50, post_id=pid,
                                       exclude_platforms=others)
    results = {outcome.platform: outcome.ok for outcome in publishing.process_batch(items, worker_id)}
    deadline = time.monotonic() + IN_FLIGHT_WAIT_SECONDS
    while True:
        mine = [q for q in _post_view(publishing, actor, pid).queue_items if only is None or q.platform == only]
        if not any(q.status == "processing" for q in mine) or time.monotonic() >= deadline:
            break
        time.sleep(IN_FLIGHT_POLL_SECONDS)
    for q in mine:  # platforms settled earlier, or by a daemon meanwhile, keep their result
        results.setdefault(q.platform, q.status == "completed")
    return results


def _make_due_now(publishing: PublishingService, actor: Actor, post_id: Any,
                  only: str | None = None) -> uuid.UUID:
    with publishing.uow(actor) as uow:
        post = get_owned(uow.session, ScheduledPost, actor, post_id, "post")
        org = load_org(uow.session, actor.org_id)
        if only is not None and only not in (post.platforms or []):
            raise ValidationFailed([Problem(field="platform", code="not_in_post",
                                            message=f"This post does not go to {only}")])
        if post.status == PostStatus.DRAFT and only is not None:
            raise InvalidTransition("post", post.status, "publishing",
                                    f"schedule it first to publish only its {only} post now, "
                                    "or publish it to every network now")
        if post.needs_approval(approval_required=org.approval_required):
            raise InvalidTransition("post", post.status, "publishing",
                                    "it needs approval first (approve it, then publish)")
        now = publishing.now()
        if post.status in (PostStatus.DRAFT, PostStatus.SCHEDULED) and only is None:
            post.status = PostStatus.SCHEDULED.value
            post.scheduled_at = now
            sync_queue(uow.session, post)
        elif post.status not in (PostStatus.SCHEDULED, PostStatus.PUBLISHING, PostStatus.FAILED,
                                 PostStatus.PARTIALLY_PUBLISHED):
            raise InvalidTransition("post", post.status, "publishing")
        else:
            if post.status not in (PostStatus.PUBLISHING, PostStatus.SCHEDULED):
                post.status = PostStatus.PUBLISHING.value
            query = select(PublishingQueueItem).where(PublishingQueueItem.scheduled_post_id == post.post_id,
                                                      PublishingQueueItem.status.in_(("pending", "failed")))
            if only is not None:
                query = query.where(PublishingQueueItem.platform == only)
            for q in uow.session.scalars(query):
                q.status, q.next_attempt_at, q.attempts, q.error_message = "pending", now, 0, None
        audit(uow.session, actor, actor.org_id, "post.publish_now", "post", post.post_id, now,
              {"platform": only})
        uow.commit()
        return post.post_id


def _post_view(publishing: PublishingService, actor: Actor, post_id: uuid.UUID) -> PostView:
    with publishing.uow(actor, readonly=True) as uow:
        return post_view(uow.session, get_owned(uow.session, ScheduledPost, actor, post_id, "post"))
