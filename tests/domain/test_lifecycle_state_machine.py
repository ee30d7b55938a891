"""Random sequences of user and queue actions never break the post lifecycle's promises.

Each rule tries an action whether or not it is allowed: an allowed action must succeed, a refused
one must raise and leave the post exactly as it was. Invariants are checked after every step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from core.domain.posts import (
    APPROVAL_TRANSITIONS,
    POST_TRANSITIONS,
    PUBLISHED_STATUSES,
    ApprovalStatus,
    PostLifecycle,
    PostStatus,
    status_from_platform_results,
)
from core.errors import InvalidTransition, ValidationFailed

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PLATFORMS = ["twitter", "linkedin", "instagram"]


@dataclass
class Post(PostLifecycle):
    status: str = PostStatus.DRAFT
    approval_status: str = ApprovalStatus.NOT_SUBMITTED
    scheduled_at: datetime | None = None
    published_at: datetime | None = None
    approved_by: Any = None
    approved_at: datetime | None = None
    error_message: str | None = None
    content: str = "Hello"
    platform_specific_content: dict[str, str] | None = None
    platforms: list[str] = field(default_factory=lambda: list(PLATFORMS))


def post_move_allowed(current: str, target: str) -> bool:
    return PostStatus(target) in POST_TRANSITIONS[PostStatus(current)]


def approval_move_allowed(current: str, target: str) -> bool:
    return ApprovalStatus(target) in APPROVAL_TRANSITIONS[ApprovalStatus(current)]


class PostLifecycleMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.post = Post()
        self.approval_required = True
        self.rejection_reason: str | None = None
        self.seen_published = False

    @initialize(approval_required=st.booleans())
    def start(self, approval_required: bool) -> None:
        self.approval_required = approval_required
        if not approval_required:
            self.post.approval_status = ApprovalStatus.NOT_REQUIRED

    def attempt(self, action: Callable[[], object], *, allowed: bool) -> object:
        """Run ``action``; if refused, the post must be untouched."""
        before = replace(self.post)
        try:
            result = action()
        except (InvalidTransition, ValidationFailed):
            assert not allowed, "an allowed action was refused"
            assert self.post == before, "a refused action changed the post"
            return None
        assert allowed, "a forbidden action succeeded"
        return result

    # --- time and people ----------------------------------------------------------------

    @rule(minutes=st.integers(min_value=0, max_value=240))
    def time_passes(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @rule(offset_minutes=st.integers(min_value=-60, max_value=600))
    def schedule(self, offset_minutes: int) -> None:
        at = self.now + timedelta(minutes=offset_minutes)
        allowed = post_move_allowed(self.post.status, "scheduled") and at > self.now
        self.attempt(lambda: self.post.schedule(at, now=self.now), allowed=allowed)

    @rule()
    def unschedule(self) -> None:
        allowed = self.post.status == "scheduled"
        self.attempt(self.post.unschedule, allowed=allowed)

    @rule()
    def cancel(self) -> None:
        self.attempt(self.post.cancel, allowed=post_move_allowed(self.post.status, "cancelled"))

    @rule()
    def restore(self) -> None:
        allowed = self.post.status == "cancelled"
        self.attempt(self.post.restore_to_draft, allowed=allowed)

    @rule()
    def submit(self) -> None:
        allowed = approval_move_allowed(self.post.approval_status, "pending")
        self.attempt(self.post.submit_for_approval, allowed=allowed)

    @rule(user_id=st.integers(min_value=1, max_value=5))
    def approve(self, user_id: int) -> None:
        allowed = approval_move_allowed(self.post.approval_status, "approved")
        self.attempt(lambda: self.post.approve(user_id, self.now), allowed=allowed)

    @rule(reason=st.sampled_from(["", "   ", "typo in the price", "off-brand image"]))
    def reject(self, reason: str) -> None:
        allowed = approval_move_allowed(self.post.approval_status, "rejected") and bool(
            reason.strip()
        )
        result = self.attempt(lambda: self.post.reject(reason), allowed=allowed)
        if allowed:
            assert isinstance(result, str)
            self.rejection_reason = result

    @rule(text=st.text(max_size=10))
    def edit_content(self, text: str) -> None:
        was = self.post.approval_status
        self.post.content = text
        changed = self.post.return_to_pending_after_edit()
        assert changed == (was in ("approved", "rejected"))

    # --- the queue ------------------------------------------------------------------------

    @precondition(lambda self: self.post.can_be_published(
        now=self.now, approval_required=self.approval_required))
    @rule()
    def publish_when_due(self) -> None:
        self.post.mark_publishing()

    @rule()
    def force_mark_publishing(self) -> None:
        allowed = post_move_allowed(self.post.status, "publishing")
        self.attempt(self.post.mark_publishing, allowed=allowed)

    @precondition(lambda self: self.post.status in ("scheduled", "failed", "partially_published"))
    @rule(results=st.dictionaries(st.sampled_from(PLATFORMS), st.booleans(), min_size=1))
    def queue_round(self, results: dict[str, bool]) -> None:
        """A whole publishing round at once, so runs often reach the outcomes and retries."""
        self.post.mark_publishing()
        self.record_outcome(results)

    @rule(results=st.dictionaries(st.sampled_from(PLATFORMS), st.booleans(), min_size=1))
    def finish_publishing(self, results: dict[str, bool]) -> None:
        allowed = self.post.status == "publishing"
        self.attempt(lambda: self.record_outcome(results), allowed=allowed)

    def record_outcome(self, results: dict[str, bool]) -> None:
        outcome = status_from_platform_results(results)
        if outcome is PostStatus.PUBLISHED:
            self.post.mark_published(self.now)
        elif outcome is PostStatus.PARTIALLY_PUBLISHED:
            errors = {p: "HTTP 500" for p, ok in results.items() if not ok}
            self.post.mark_partially_published(self.now, errors)
        else:
            self.post.mark_failed("HTTP 500 on every platform")

    # --- invariants -------------------------------------------------------------------------

    @invariant()
    def statuses_are_known(self) -> None:
        assert self.post.status in set(PostStatus)
        assert self.post.approval_status in set(ApprovalStatus)

    @invariant()
    def a_published_post_never_changes_status_again(self) -> None:
        if self.seen_published:
            assert self.post.status == "published"
        self.seen_published = self.post.status == "published"

    @invariant()
    def publishable_means_scheduled_due_and_approved(self) -> None:
        if self.post.can_be_published(now=self.now, approval_required=self.approval_required):
            assert self.post.status == "scheduled"
            assert self.post.scheduled_at is not None and self.post.scheduled_at <= self.now
            if self.approval_required:
                assert self.post.approval_status == "approved"

    @invariant()
    def every_rejected_post_has_a_reason(self) -> None:
        if self.post.approval_status == "rejected":
            assert self.rejection_reason and self.rejection_reason.strip()

    @invariant()
    def approval_is_recorded_only_while_approved(self) -> None:
        approved = self.post.approval_status == "approved"
        assert (self.post.approved_by is not None) == approved
        assert (self.post.approved_at is not None) == approved

    @invariant()
    def times_match_the_status(self) -> None:
        status = self.post.status
        if status == "scheduled":
            assert self.post.scheduled_at is not None and self.post.scheduled_at.tzinfo is UTC
        if status == "draft":
            assert self.post.scheduled_at is None
        if status in PUBLISHED_STATUSES:
            assert self.post.published_at is not None
        assert self.post.is_published() == (status in PUBLISHED_STATUSES)

    @invariant()
    def errors_match_the_status(self) -> None:
        status = self.post.status
        if status in ("failed", "partially_published"):
            assert self.post.error_message and self.post.error_message.strip()
        if status in ("published", "scheduled", "draft"):
            assert self.post.error_message is None


PostLifecycleMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestPostLifecycleStateMachine = PostLifecycleMachine.TestCase
