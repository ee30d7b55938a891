"""Scheduling: create, edit, schedule, reschedule and cancel posts, and keep the queue in step.

Scheduling writes one ``publishing_queue`` row per platform; rescheduling moves the pending rows;
cancelling cancels them. Best-time methods (the seed's names) live in ``best_times``.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db.models import Org, PlatformPost, PublishingQueueItem, ScheduledPost
from core.domain.posts import ApprovalStatus, PostStatus
from core.domain.queue import QueueStatus
from core.errors import Conflict, HeraldError, InvalidTransition
from core.platforms.registry import staging_platforms
from core.services.base import Service, audit, get_owned, load_org
from core.services.best_times import BestTimeService
from core.services.conflicts import find_conflicts
from core.services.context import Actor
from core.services.post_input import CONTENT_FIELDS, check_post, check_time
from core.services.views import BulkItemResult, PostView, ScheduleResult

DEFAULT_MAX_ATTEMPTS = 3
# Queue rows in these states are settled or in flight; scheduling changes leave them alone.
SETTLED_OR_IN_FLIGHT = (QueueStatus.COMPLETED, QueueStatus.PROCESSING, QueueStatus.UNCONFIRMED)


def queue_key(post_id: uuid.UUID, platform: str) -> str:
    """One stable key per post x platform: the publisher's guard against double-publishing."""
    return f"{post_id}:{platform}"


def post_view(session: Session, post: ScheduledPost) -> PostView:
    queue = list(session.scalars(
        select(PublishingQueueItem)
        .where(PublishingQueueItem.scheduled_post_id == post.post_id)
        .order_by(PublishingQueueItem.platform)
    ))
    results = list(session.scalars(
        select(PlatformPost).where(PlatformPost.scheduled_post_id == post.post_id)
        .order_by(PlatformPost.platform)
    ))
    return PostView.of(post, queue, results)


def bulk_item_key(key: str | None, index: int) -> str | None:
    # A space never occurs in a client's key (see core.services.idempotency.check_key), so an
    # item's key cannot collide with a single create's.
    return f"{key} item {index}" if key else None


def post_views(session: Session, posts: list[ScheduledPost]) -> list[PostView]:
    """Views of many posts with two queries in all (not two per post), for lists."""
    ids = [p.post_id for p in posts]
    queue: dict[uuid.UUID, list[PublishingQueueItem]] = defaultdict(list)
    results: dict[uuid.UUID, list[PlatformPost]] = defaultdict(list)
    if ids:
        for q in session.scalars(select(PublishingQueueItem).where(
                PublishingQueueItem.scheduled_post_id.in_(ids)).order_by(PublishingQueueItem.platform)):
            queue[q.scheduled_post_id].append(q)
        for r in session.scalars(select(PlatformPost).where(
                PlatformPost.scheduled_post_id.in_(ids)).order_by(PlatformPost.platform)):
            results[r.scheduled_post_id].append(r)
    return [PostView.of(p, queue[p.post_id], results[p.post_id]) for p in posts]


def require_can_edit(actor: Actor, post: ScheduledPost) -> None:
    if post.created_by == actor.user_id:
        actor.require("post.edit_own")
    else:
        actor.require("post.edit_any")


def first_stage_state(post: ScheduledPost, platform: str) -> str | None:
    """``None`` (to be staged ahead, ``core.services.staging``) for media on a network that
    stages; ``nothing`` otherwise, which keeps the item out of the staging claim's index."""
    return None if post.media_urls and platform in staging_platforms() else "nothing"


def sync_queue(session: Session, post: ScheduledPost) -> None:
    """Make the queue match the post: a pending row per platform at the post's time."""
    rows = {q.platform: q for q in session.scalars(
        select(PublishingQueueItem).where(PublishingQueueItem.scheduled_post_id == post.post_id)
    )}
    wanted = set(post.platforms) if post.status == PostStatus.SCHEDULED else set()
    at = post.scheduled_at
    for platform in wanted:
        assert at is not None  # a scheduled post always has its time
        row = rows.get(platform)
        if row is None:
            session.add(PublishingQueueItem(
                org_id=post.org_id, scheduled_post_id=post.post_id, platform=platform,
                status=QueueStatus.PENDING.value, scheduled_for=post.scheduled_at,
                next_attempt_at=post.scheduled_at, max_attempts=DEFAULT_MAX_ATTEMPTS,
                idempotency_key=queue_key(post.post_id, platform),
                stage_state=first_stage_state(post, platform),
            ))
        elif row.status not in SETTLED_OR_IN_FLIGHT:
            if row.status in (QueueStatus.CANCELLED, QueueStatus.FAILED):
                row.attempts = 0
                row.error_message = None
            row.status = QueueStatus.PENDING.value
            row.scheduled_for = at
            row.next_attempt_at = at
            row.locked_by = row.locked_until = None
            # An edit may change what was staged ahead (a caption, the media): stage it again.
            row.stage_state, row.stage_until, row.staged = first_stage_state(post, platform), None, None
    for platform, row in rows.items():
        if platform not in wanted and row.status == QueueStatus.PENDING:
            row.status = QueueStatus.CANCELLED.value


class SchedulingService(Service):
    """The seed's SchedulingService. Its best-time methods delegate to ``BestTimeService``."""

    def __init__(self, db: Any, clock: Any, best_times: BestTimeService | None = None) -> None:
        super().__init__(db, clock)
        self.best_times = best_times or BestTimeService(db, clock)

    def get_best_time_to_post(self, actor: Actor, platform: str, day_of_week: str | None = None) -> Any:
        return self.best_times.get_best_time_to_post(actor, platform, day_of_week)

    def suggest_posting_time(self, actor: Actor, platform: str, preferred_date: Any = None) -> Any:
        return self.best_times.suggest_posting_time(actor, platform, preferred_date)

    def calculate_best_times(self, actor: Actor) -> dict[str, Any]:
        return self.best_times.calculate_best_times(actor)

    # --- reading -----------------------------------------------------------------------------
    def get_post(self, actor: Actor, post_id: Any) -> PostView:
        with self.uow(actor, readonly=True) as uow:
            return post_view(uow.session, get_owned(uow.session, ScheduledPost, actor, post_id, "post"))

    def list_posts(
        self, actor: Actor, *, status: str | None = None, platform: str | None = None,
        limit: int = 50, offset: int = 0,
    ) -> tuple[list[PostView], int]:
        """A page of posts (newest time first) and the total matching count."""
        query = select(ScheduledPost).where(ScheduledPost.org_id == actor.org_id)
        if status:
            query = query.where(ScheduledPost.status == status)
        with self.uow(actor, readonly=True) as uow:
            if platform:
                # Platforms live in a JSON list; the queue has one indexed row per platform.
                with_platform = select(PublishingQueueItem.scheduled_post_id).where(
                    PublishingQueueItem.org_id == actor.org_id, PublishingQueueItem.platform == platform)
                posts = list(uow.session.scalars(query))
                ids = set(uow.session.scalars(with_platform))
                matched = [p for p in posts if platform in (p.platforms or []) or p.post_id in ids]
                matched.sort(key=_newest_first)
                return post_views(uow.session, matched[offset: offset + limit]), len(matched)
            total = uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0
            page = list(uow.session.scalars(
                query.order_by(func.coalesce(ScheduledPost.scheduled_at, ScheduledPost.created_at).desc(),
                               ScheduledPost.post_id)
                .limit(limit).offset(offset)
            ))
            return post_views(uow.session, page), total

    # --- writing -----------------------------------------------------------------------------
    def schedule_post(
        self, actor: Actor, data: dict[str, Any], *, force: bool = False,
        idempotency_key: str | None = None,
    ) -> ScheduleResult:
        """Create a post: scheduled when ``scheduled_at`` is given, otherwise a draft.

        Clashes with the org's minimum gap or daily cap refuse the schedule (``Conflict``)
        unless ``force``; the result then still lists them.
        """
        actor.require("post.create")
        with self.uow(actor) as uow:
            if idempotency_key:
                existing = uow.session.scalar(select(ScheduledPost).where(
                    ScheduledPost.org_id == actor.org_id,
                    ScheduledPost.idempotency_key == idempotency_key))
                if existing is not None:
                    return ScheduleResult(post_view(uow.session, existing), ["Idempotent replay: returned the post created by the first request"])
            org = load_org(uow.session, actor.org_id)
            checked = check_post(data, org, now=self.now())
            post = ScheduledPost(
                post_id=uuid.uuid4(), org_id=actor.org_id, created_by=actor.user_id,
                status=PostStatus.DRAFT.value, approval_round=0,
                approval_status=(ApprovalStatus.NOT_SUBMITTED if org.approval_required
                                 else ApprovalStatus.NOT_REQUIRED).value,
                idempotency_key=idempotency_key, **checked.values,
            )
            uow.session.add(post)
            conflicts = []
            if checked.scheduled_at is not None:
                conflicts = self._schedule(uow.session, actor, org, post, checked.scheduled_at, force)
            elif data.get("submit_for_approval") and org.approval_required:
                self._submit(post)
            uow.flush()
            audit(uow.session, actor, actor.org_id, "post.created", "post", post.post_id, self.now(),
                  {"status": post.status, "platforms": post.platforms})
            view = post_view(uow.session, post)
            uow.commit()
        return ScheduleResult(view, checked.notes, conflicts)

    def update_post(self, actor: Actor, post_id: Any, changes: dict[str, Any], *, force: bool = False) -> ScheduleResult:
        """Edit a post. Content or platform edits send an approved (or rejected) post back to
        pending; a new ``scheduled_at`` reschedules it; ``submit_for_approval`` submits it."""
        with self.uow(actor) as uow:
            post = get_owned(uow.session, ScheduledPost, actor, post_id, "post")
            require_can_edit(actor, post)
            if post.status in (PostStatus.PUBLISHING, PostStatus.PUBLISHED, PostStatus.PARTIALLY_PUBLISHED):
                raise InvalidTransition("post", post.status, "edited", "it is being or has been published")
            org = load_org(uow.session, actor.org_id)
            merged = {k: getattr(post, k) for k in CONTENT_FIELDS}
            merged["location_tag"] = post.location_tag
            merged.update({k: v for k, v in changes.items() if k != "scheduled_at"})
            checked = check_post(merged, org, now=self.now())
            changed = [k for k in CONTENT_FIELDS if checked.values.get(k) != getattr(post, k)]
            for key, value in checked.values.items():
                setattr(post, key, value)
            notes = list(checked.notes)
            if changed and post.return_to_pending_after_edit():
                post.approval_round = (post.approval_round or 0) + 1
                post.rejection_reason = None
                notes.append("The content changed, so the post needs approval again")
            conflicts = []
            if changes.get("scheduled_at") not in (None, ""):
                when = check_time(changes["scheduled_at"], org, self.now())
                notes.extend(when.notes)
                conflicts = self._schedule(uow.session, actor, org, post, when.scheduled_at, force)
            elif post.status == PostStatus.SCHEDULED:
                if "platforms" in changed:
                    conflicts = self._check(uow.session, org, post, post.scheduled_at, force)
                sync_queue(uow.session, post)
            if changes.get("submit_for_approval") and org.approval_required and post.approval_status in (
                ApprovalStatus.NOT_SUBMITTED, ApprovalStatus.REJECTED,
            ):
                self._submit(post)  # in the same transaction as the edit: never half-saved
            post.updated_at = self.now()
            audit(uow.session, actor, actor.org_id, "post.updated", "post", post.post_id, self.now(),
                  {"fields": changed + (["scheduled_at"] if changes.get("scheduled_at") else [])})
            uow.flush()
            view = post_view(uow.session, post)
            uow.commit()
        return ScheduleResult(view, notes, conflicts)

    def reschedule_post(self, actor: Actor, post_id: Any, new_time: Any, *, force: bool = False) -> ScheduleResult:
        """Move a post (draft, scheduled or failed) to a new time; its pending queue rows move too."""
        with self.uow(actor) as uow:
            post = get_owned(uow.session, ScheduledPost, actor, post_id, "post")
            require_can_edit(actor, post)
            org = load_org(uow.session, actor.org_id)
            when = check_time(new_time, org, self.now())
            before = post.scheduled_at
            conflicts = self._schedule(uow.session, actor, org, post, when.scheduled_at, force)
            audit(uow.session, actor, actor.org_id, "post.rescheduled", "post", post.post_id,
                  self.now(), {"from": before.isoformat() if before else None,
                               "to": post.scheduled_at.isoformat() if post.scheduled_at else None})
            uow.flush()
            view = post_view(uow.session, post)
            uow.commit()
        return ScheduleResult(view, when.notes, conflicts)

    def cancel_post(self, actor: Actor, post_id: Any) -> PostView:
        with self.uow(actor) as uow:
            post = get_owned(uow.session, ScheduledPost, actor, post_id, "post")
            require_can_edit(actor, post)
            post.cancel()
            post.updated_at = self.now()
            sync_queue(uow.session, post)
            audit(uow.session, actor, actor.org_id, "post.cancelled", "post", post.post_id, self.now())
            uow.flush()
            view = post_view(uow.session, post)
            uow.commit()
        return view

    def unschedule_post(self, actor: Actor, post_id: Any) -> PostView:
        """Back to draft (the queue rows are cancelled); the content is kept."""
        with self.uow(actor) as uow:
            post = get_owned(uow.session, ScheduledPost, actor, post_id, "post")
            require_can_edit(actor, post)
            post.unschedule()
            sync_queue(uow.session, post)
            audit(uow.session, actor, actor.org_id, "post.unscheduled", "post", post.post_id, self.now())
            uow.flush()
            view = post_view(uow.session, post)
            uow.commit()
        return view

    def bulk_schedule(self, actor: Actor, items: list[dict[str, Any]], *, force: bool = False,
                      idempotency_key: str | None = None) -> list[BulkItemResult]:
        """Schedule many posts; each stands alone (its own transaction), so one bad item does
        not sink the rest and no item is ever half-saved. One result per item, in order.

        With ``idempotency_key`` each item carries a key of its own (the key, a space, its
        index), so a repeated batch returns the posts it already made instead of new ones."""
        actor.require("post.create")
        results: list[BulkItemResult] = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                results.append(BulkItemResult(index, False, error={
                    "code": "invalid", "message": f"item {index} is not an object", "details": []}))
                continue
            try:
                result = self.schedule_post(actor, item, force=force or bool(item.get("force")),
                                            idempotency_key=bulk_item_key(idempotency_key, index))
            except HeraldError as exc:
                results.append(BulkItemResult(index, False, error=exc.as_dict()))
            else:
                results.append(BulkItemResult(index, True, post=result.post, notes=result.notes))
        return results

    # --- internals ---------------------------------------------------------------------------
    def _schedule(self, session: Session, actor: Actor, org: Org, post: ScheduledPost, at: Any, force: bool) -> list:
        conflicts = self._check(session, org, post, at, force)
        post.schedule(at, now=self.now())
        if org.approval_required and post.approval_status in (
            ApprovalStatus.NOT_SUBMITTED, ApprovalStatus.REJECTED
        ):
            self._submit(post)
        post.updated_at = self.now()
        session.flush()
        sync_queue(session, post)
        return conflicts

    def _check(self, session: Session, org: Org, post: ScheduledPost, at: Any, force: bool) -> list:
        conflicts = find_conflicts(session, org, at, list(post.platforms), exclude_post_id=post.post_id)
        if conflicts and not force:
            raise Conflict(
                "This time clashes with the org's scheduling rules: "
                + "; ".join(c.message for c in conflicts)
                + ". Pick another time, or schedule anyway.",
                conflicts,
            )
        return conflicts

    @staticmethod
    def _submit(post: ScheduledPost) -> None:
        post.submit_for_approval()
        post.approval_round = (post.approval_round or 0) + 1
        post.rejection_reason = None


def _newest_first(post: ScheduledPost) -> tuple[float, str]:
    at = post.scheduled_at or post.created_at
    return (-at.timestamp(), str(post.post_id))

