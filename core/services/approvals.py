"""Approval workflow: submit, approve (N distinct reviewers when the org asks), reject, history.

Every decision is written to ``approvals`` and ``audit_events``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from core.db.models import Approval, AuditEvent, ScheduledPost, User
from core.domain.posts import ApprovalStatus
from core.errors import Forbidden, InvalidTransition
from core.services.base import Service, audit, get_owned, load_org
from core.services.context import Actor
from core.services.scheduling import post_view, require_can_edit
from core.services.views import PostView


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    action: str
    actor_id: uuid.UUID | None
    actor_name: str | None
    comment: str | None
    data: dict[str, Any]


@dataclass(frozen=True)
class ApprovalOutcome:
    post: PostView
    approvals_so_far: int
    approvals_needed: int

    @property
    def fully_approved(self) -> bool:
        return self.post.approval_status == ApprovalStatus.APPROVED


class ApprovalService(Service):
    def submit(self, actor: Actor, post_id: Any) -> PostView:
        with self.uow(actor) as uow:
            post = get_owned(uow.session, ScheduledPost, actor, post_id, "post")
            require_can_edit(actor, post)
            org = load_org(uow.session, actor.org_id)
            if not org.approval_required:
                raise InvalidTransition("approval", post.approval_status, "pending",
                                        "this organisation does not require approval")
            post.submit_for_approval()
            post.approval_round = (post.approval_round or 0) + 1
            post.rejection_reason = None
            audit(uow.session, actor, actor.org_id, "post.submitted", "post", post.post_id,
                  self.now(), {"round": post.approval_round})
            view = post_view(uow.session, post)
            uow.commit()
        return view

    def approve(self, actor: Actor, post_id: Any, comment: str | None = None) -> ApprovalOutcome:
        actor.require("post.approve")
        with self.uow(actor) as uow:
            post = get_owned(uow.session, ScheduledPost, actor, post_id, "post")
            org = load_org(uow.session, actor.org_id)
            self._check_reviewer(actor, post, org.allow_self_approval)
            if post.approval_status != ApprovalStatus.PENDING:
                raise InvalidTransition("approval", post.approval_status, "approved",
                                        "only a post pending approval can be approved")
            reviewers = set(uow.session.scalars(select(Approval.reviewer_id).where(
                Approval.post_id == post.post_id, Approval.round == post.approval_round,
                Approval.decision == "approved")))
            if actor.user_id in reviewers:
                raise InvalidTransition("approval", "pending", "approved",
                                        "you have already approved this post; another reviewer must approve it")
            now = self.now()
            uow.session.add(Approval(org_id=actor.org_id, post_id=post.post_id, reviewer_id=actor.user_id,
                                     decision="approved", comment=(comment or "").strip() or None,
                                     round=post.approval_round, decided_at=now))
            reviewers.add(actor.user_id)
            if len(reviewers) >= org.approvals_needed:
                post.approve(actor.user_id, now)
            post.updated_at = now
            audit(uow.session, actor, actor.org_id, "post.approved", "post", post.post_id, now,
                  {"round": post.approval_round, "approvals": len(reviewers),
                   "needed": org.approvals_needed, "comment": comment})
            uow.flush()
            outcome = ApprovalOutcome(post_view(uow.session, post), len(reviewers), org.approvals_needed)
            uow.commit()
        return outcome

    def reject(self, actor: Actor, post_id: Any, reason: str) -> PostView:
        actor.require("post.approve")
        with self.uow(actor) as uow:
            post = get_owned(uow.session, ScheduledPost, actor, post_id, "post")
            org = load_org(uow.session, actor.org_id)
            self._check_reviewer(actor, post, org.allow_self_approval)
            cleaned = post.reject(reason)
            now = self.now()
            post.rejection_reason = cleaned
            post.updated_at = now
            uow.session.add(Approval(org_id=actor.org_id, post_id=post.post_id, reviewer_id=actor.user_id,
                                     decision="rejected", comment=cleaned, round=post.approval_round,
                                     decided_at=now))
            audit(uow.session, actor, actor.org_id, "post.rejected", "post", post.post_id, now,
                  {"round": post.approval_round, "reason": cleaned})
            uow.flush()
            view = post_view(uow.session, post)
            uow.commit()
        return view

    def list_pending(self, actor: Actor) -> list[PostView]:
        with self.uow(actor, readonly=True) as uow:
            posts = uow.session.scalars(
                select(ScheduledPost)
                .where(ScheduledPost.org_id == actor.org_id,
                       ScheduledPost.approval_status == ApprovalStatus.PENDING.value,
                       ScheduledPost.status.in_(("draft", "scheduled")))
                .order_by(ScheduledPost.scheduled_at.is_(None), ScheduledPost.scheduled_at)
            )
            return [post_view(uow.session, p) for p in posts]

    def history(self, actor: Actor, post_id: Any) -> list[HistoryEntry]:
        """Everything that happened to a post, oldest first (from the audit trail)."""
        with self.uow(actor, readonly=True) as uow:
            post = get_owned(uow.session, ScheduledPost, actor, post_id, "post")
            rows = uow.session.execute(
                select(AuditEvent, User.name)
                .outerjoin(User, User.user_id == AuditEvent.actor_id)
                .where(AuditEvent.org_id == actor.org_id, AuditEvent.entity_type == "post",
                       AuditEvent.entity_id == str(post.post_id))
                .order_by(AuditEvent.at, AuditEvent.event_id)
            )
            return [
                HistoryEntry(e.at, e.action, e.actor_id, name,
                             (e.data or {}).get("reason") or (e.data or {}).get("comment"), dict(e.data or {}))
                for e, name in rows
            ]

    @staticmethod
    def _check_reviewer(actor: Actor, post: ScheduledPost, allow_self: bool) -> None:
        if post.created_by == actor.user_id and not allow_self:
            raise Forbidden("You cannot review your own post; this organisation requires another "
                            "manager or admin to approve it")
