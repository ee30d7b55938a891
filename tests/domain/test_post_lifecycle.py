"""Post lifecycle and approval rules, on a plain dataclass host (no database)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from core.domain.posts import (
    APPROVAL_TRANSITIONS,
    POST_TRANSITIONS,
    ApprovalStatus,
    PostLifecycle,
    PostStatus,
    check_approval_transition,
    check_post_transition,
    status_from_platform_results,
)
from core.errors import InvalidTransition, ValidationFailed

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Post(PostLifecycle):
    status: str = PostStatus.DRAFT
    approval_status: str = ApprovalStatus.NOT_SUBMITTED
    scheduled_at: datetime | None = None
    published_at: datetime | None = None
    approved_by: Any = None
    approved_at: datetime | None = None
    error_message: str | None = None
    content: str = "Spring sale starts today"
    platform_specific_content: dict[str, str] | None = None
    platforms: list[str] = field(default_factory=lambda: ["twitter", "linkedin"])


EXPECTED_POST_MOVES = {
    ("draft", "scheduled"), ("draft", "cancelled"),
    ("scheduled", "scheduled"), ("scheduled", "draft"), ("scheduled", "publishing"),
    ("scheduled", "cancelled"),
    ("publishing", "published"), ("publishing", "partially_published"), ("publishing", "failed"),
    ("failed", "scheduled"), ("failed", "publishing"),
    ("partially_published", "publishing"),
    ("cancelled", "draft"),
}
EXPECTED_APPROVAL_MOVES = {
    ("not_submitted", "pending"),
    ("pending", "approved"), ("pending", "rejected"), ("pending", "pending"),
    ("rejected", "pending"),
    ("approved", "pending"),
    ("not_required", "pending"), ("not_required", "not_required"),
}
ALL_POST_PAIRS = list(itertools.product(PostStatus, PostStatus))
ALL_APPROVAL_PAIRS = list(itertools.product(ApprovalStatus, ApprovalStatus))


# --- the tables --------------------------------------------------------------------------------

def test_transition_tables_match_the_design() -> None:
    assert {(a, b) for a, targets in POST_TRANSITIONS.items() for b in targets} == EXPECTED_POST_MOVES
    assert {
        (a, b) for a, targets in APPROVAL_TRANSITIONS.items() for b in targets
    } == EXPECTED_APPROVAL_MOVES
    assert set(POST_TRANSITIONS) == set(PostStatus)
    assert set(APPROVAL_TRANSITIONS) == set(ApprovalStatus)


@pytest.mark.parametrize(("current", "target"), sorted(EXPECTED_POST_MOVES))
def test_allowed_post_transition_returns_the_target(current: str, target: str) -> None:
    assert check_post_transition(current, target) is PostStatus(target)


@pytest.mark.parametrize(
    ("current", "target"), [p for p in ALL_POST_PAIRS if p not in EXPECTED_POST_MOVES]
)
def test_forbidden_post_transition_names_both_states(current: PostStatus, target: PostStatus) -> None:
    with pytest.raises(InvalidTransition) as excinfo:
        check_post_transition(current, target)
    err = excinfo.value
    assert (err.entity, err.current, err.target) == ("post", current.value, target.value)
    assert f"'{current.value}'" in err.message and f"'{target.value}'" in err.message
    assert err.message.split("': ", 1)[1].strip()  # a human reason follows the states


@pytest.mark.parametrize(("current", "target"), sorted(EXPECTED_APPROVAL_MOVES))
def test_allowed_approval_transition_returns_the_target(current: str, target: str) -> None:
    assert check_approval_transition(current, target) is ApprovalStatus(target)


@pytest.mark.parametrize(
    ("current", "target"), [p for p in ALL_APPROVAL_PAIRS if p not in EXPECTED_APPROVAL_MOVES]
)
def test_forbidden_approval_transition_raises(current: ApprovalStatus, target: ApprovalStatus) -> None:
    with pytest.raises(InvalidTransition) as excinfo:
        check_approval_transition(current, target)
    assert (excinfo.value.entity, excinfo.value.current, excinfo.value.target) == (
        "approval", current.value, target.value
    )


def test_published_post_gives_a_human_reason() -> None:
    with pytest.raises(InvalidTransition, match="a published post cannot be changed"):
        check_post_transition("published", "scheduled")


def test_unknown_status_is_an_invalid_transition_not_a_crash() -> None:
    with pytest.raises(InvalidTransition, match="unknown post status"):
        check_post_transition("archived", "draft")
    with pytest.raises(InvalidTransition, match="unknown approval status"):
        check_approval_transition("pending", "maybe")


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        ({"twitter": True, "linkedin": True}, PostStatus.PUBLISHED),
        ({"twitter": True, "linkedin": False}, PostStatus.PARTIALLY_PUBLISHED),
        ({"twitter": False, "linkedin": False}, PostStatus.FAILED),
        ({}, PostStatus.FAILED),
    ],
)
def test_status_from_platform_results(results: dict[str, bool], expected: PostStatus) -> None:
    assert status_from_platform_results(results) is expected


# --- scheduling --------------------------------------------------------------------------------

def test_draft_post_can_be_scheduled_in_the_future() -> None:
    post = Post()
    at = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    post.schedule(at, now=NOW)
    assert post.status == "scheduled" and post.scheduled_at == at


def test_schedule_stores_utc() -> None:
    post = Post()
    berlin = datetime(2026, 3, 2, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    post.schedule(berlin, now=NOW)
    assert post.scheduled_at is not None
    assert post.scheduled_at.tzinfo is UTC and post.scheduled_at.hour == 9


@pytest.mark.parametrize("at", [NOW, NOW - timedelta(minutes=1)])
def test_scheduling_in_the_past_is_refused(at: datetime) -> None:
    post = Post()
    with pytest.raises(ValidationFailed) as excinfo:
        post.schedule(at, now=NOW)
    assert [(p.field, p.code) for p in excinfo.value.problems] == [("scheduled_at", "in_past")]
    assert post == Post()


def test_scheduling_a_naive_time_is_refused() -> None:
    post = Post()
    with pytest.raises(ValidationFailed) as excinfo:
        post.schedule(datetime(2026, 3, 2, 10, 0), now=NOW)
    assert excinfo.value.problems[0].code == "naive_datetime"
    assert post.status == "draft"


def test_scheduling_without_platforms_is_refused() -> None:
    post = Post(platforms=[])
    with pytest.raises(ValidationFailed) as excinfo:
        post.schedule(NOW + timedelta(hours=1), now=NOW)
    assert excinfo.value.problems[0].field == "platforms"


def test_scheduled_post_can_be_rescheduled_and_unscheduled() -> None:
    post = Post()
    post.schedule(NOW + timedelta(hours=1), now=NOW)
    post.schedule(NOW + timedelta(hours=2), now=NOW)
    assert post.scheduled_at == NOW + timedelta(hours=2)
    post.unschedule()
    assert post.status == "draft" and post.scheduled_at is None


def test_rescheduling_a_failed_post_clears_its_error() -> None:
    post = Post(status="failed", error_message="twitter: 503")
    post.schedule(NOW + timedelta(hours=1), now=NOW)
    assert post.status == "scheduled" and post.error_message is None


def test_published_post_cannot_be_rescheduled() -> None:
    post = Post(status="published", published_at=NOW)
    with pytest.raises(InvalidTransition, match="published post cannot be changed"):
        post.schedule(NOW + timedelta(hours=1), now=NOW)


def test_cancel_keeps_the_time_and_restore_forgets_it() -> None:
    post = Post()
    post.schedule(NOW + timedelta(hours=1), now=NOW)
    post.cancel()
    assert post.status == "cancelled" and post.scheduled_at == NOW + timedelta(hours=1)
    post.restore_to_draft()
    assert post.status == "draft" and post.scheduled_at is None


@pytest.mark.parametrize("status", ["publishing", "published", "partially_published", "failed"])
def test_only_drafts_and_scheduled_posts_can_be_cancelled(status: str) -> None:
    post = Post(status=status)
    with pytest.raises(InvalidTransition):
        post.cancel()
    assert post.status == status


def test_unschedule_only_applies_to_scheduled_posts() -> None:
    post = Post(status="cancelled")
    with pytest.raises(InvalidTransition, match="only a scheduled post"):
        post.unschedule()
    assert post.status == "cancelled"


def test_restore_only_applies_to_cancelled_posts() -> None:
    post = Post(status="scheduled", scheduled_at=NOW + timedelta(hours=1))
    with pytest.raises(InvalidTransition, match="only a cancelled post"):
        post.restore_to_draft()
    assert post.status == "scheduled"


# --- publishing outcomes ------------------------------------------------------------------------

def scheduled_post(**overrides: Any) -> Post:
    return replace(Post(status="scheduled", scheduled_at=NOW - timedelta(minutes=1)), **overrides)


def test_publishing_then_published_sets_published_at() -> None:
    post = scheduled_post()
    post.mark_publishing()
    post.mark_published(NOW)
    assert post.status == "published" and post.published_at == NOW and post.is_published()


def test_partial_publish_lists_each_failed_platform() -> None:
    post = scheduled_post()
    post.mark_publishing()
    post.mark_partially_published(NOW, {"linkedin": "token expired", "instagram": "bad media"})
    assert post.status == "partially_published" and post.is_published()
    assert post.error_message == (
        "Failed on 2 platforms: instagram: bad media; linkedin: token expired"
    )


def test_retry_after_partial_publish_keeps_first_published_at() -> None:
    post = scheduled_post()
    post.mark_publishing()
    post.mark_partially_published(NOW, {"linkedin": "500"})
    post.mark_publishing()
    post.mark_published(NOW + timedelta(minutes=5))
    assert post.published_at == NOW and post.error_message is None


def test_partial_publish_needs_errors() -> None:
    post = scheduled_post(status="publishing")
    with pytest.raises(ValueError):
        post.mark_partially_published(NOW, {})
    assert post.status == "publishing"


def test_failed_keeps_the_platform_message_and_can_be_retried() -> None:
    post = scheduled_post(status="publishing")
    post.mark_failed("  (#368) The action attempted has been deemed abusive  ")
    assert post.status == "failed"
    assert post.error_message == "(#368) The action attempted has been deemed abusive"
    assert not post.is_published()
    post.mark_publishing()
    assert post.status == "publishing"


def test_a_draft_cannot_be_marked_publishing() -> None:
    with pytest.raises(InvalidTransition, match="must be scheduled"):
        Post().mark_publishing()


def test_mark_published_needs_an_aware_time() -> None:
    post = scheduled_post(status="publishing")
    with pytest.raises(ValueError):
        post.mark_published(datetime(2026, 3, 1, 12, 0))
    assert post.status == "publishing"


# --- approvals -----------------------------------------------------------------------------------

def test_submit_approve_records_who_and_when() -> None:
    post = Post()
    post.submit_for_approval()
    assert post.approval_status == "pending"
    post.approve(7, NOW)
    assert (post.approval_status, post.approved_by, post.approved_at) == ("approved", 7, NOW)


def test_reject_requires_a_reason_and_returns_it_cleaned() -> None:
    post = Post(approval_status="pending")
    with pytest.raises(ValidationFailed) as excinfo:
        post.reject("   ")
    assert excinfo.value.problems[0].field == "reason"
    assert post.approval_status == "pending"
    assert post.reject("  Wrong price in the copy ") == "Wrong price in the copy"
    assert post.approval_status == "rejected"


def test_rejected_post_can_be_edited_and_resubmitted() -> None:
    post = Post(approval_status="pending")
    post.reject("typo")
    assert post.return_to_pending_after_edit() is True
    assert post.approval_status == "pending"


def test_editing_an_approved_post_sends_it_back_to_pending() -> None:
    post = Post(approval_status="approved", approved_by=7, approved_at=NOW)
    assert post.return_to_pending_after_edit() is True
    assert (post.approval_status, post.approved_by, post.approved_at) == ("pending", None, None)


@pytest.mark.parametrize("status", ["not_submitted", "pending", "not_required"])
def test_editing_leaves_other_approval_states_alone(status: str) -> None:
    post = Post(approval_status=status)
    assert post.return_to_pending_after_edit() is False
    assert post.approval_status == status


def test_approving_twice_is_refused() -> None:
    post = Post(approval_status="approved", approved_by=7, approved_at=NOW)
    with pytest.raises(InvalidTransition) as excinfo:
        post.approve(8, NOW)
    assert excinfo.value.entity == "approval"
    assert post.approved_by == 7


def test_a_post_never_submitted_cannot_be_approved() -> None:
    with pytest.raises(InvalidTransition, match="pending approval"):
        Post().approve(7, NOW)


@pytest.mark.parametrize(
    ("approval_status", "approval_required", "expected"),
    [
        ("approved", True, False),
        ("pending", True, True),
        ("rejected", True, True),
        ("not_submitted", True, True),
        ("not_required", True, True),  # the org switched approvals on later
        ("pending", False, False),
        ("not_required", False, False),
    ],
)
def test_needs_approval(approval_status: str, approval_required: bool, expected: bool) -> None:
    post = Post(approval_status=approval_status)
    assert post.needs_approval(approval_required=approval_required) is expected


# --- can_be_published truth table ----------------------------------------------------------------

@pytest.mark.parametrize("status", list(PostStatus))
@pytest.mark.parametrize("due", [True, False])
@pytest.mark.parametrize("approval_status", list(ApprovalStatus))
@pytest.mark.parametrize("approval_required", [True, False])
def test_can_be_published_truth_table(
    status: PostStatus, due: bool, approval_status: ApprovalStatus, approval_required: bool
) -> None:
    scheduled_at = NOW - timedelta(seconds=1) if due else NOW + timedelta(seconds=1)
    post = Post(status=status, approval_status=approval_status, scheduled_at=scheduled_at)
    expected = (
        status is PostStatus.SCHEDULED
        and due
        and (approval_status is ApprovalStatus.APPROVED or not approval_required)
    )
    assert post.can_be_published(now=NOW, approval_required=approval_required) is expected


def test_post_due_exactly_now_can_be_published() -> None:
    post = Post(status="scheduled", approval_status="approved", scheduled_at=NOW)
    assert post.can_be_published(now=NOW, approval_required=True)


def test_scheduled_post_without_a_time_cannot_be_published() -> None:
    post = Post(status="scheduled", approval_status="approved", scheduled_at=None)
    assert not post.can_be_published(now=NOW, approval_required=True)


def test_rejected_post_cannot_be_published() -> None:
    post = scheduled_post(approval_status="rejected")
    assert not post.can_be_published(now=NOW, approval_required=True)


# --- content ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("overrides", "platform", "expected"),
    [
        (None, "twitter", "base"),
        ({"twitter": "short"}, "twitter", "short"),
        ({"twitter": "short"}, "linkedin", "base"),
        ({"twitter": "   "}, "twitter", "base"),
        ({"twitter": ""}, "twitter", "base"),
    ],
)
def test_content_for_platform(overrides: dict[str, str] | None, platform: str, expected: str) -> None:
    post = Post(content="base", platform_specific_content=overrides)
    assert post.content_for_platform(platform) == expected

