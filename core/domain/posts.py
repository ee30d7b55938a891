"""Post lifecycle and approval rules.

Two independent state machines live on a post:

* ``status`` — where the post is on its way to the networks
  (draft -> scheduled -> publishing -> published | partially_published | failed, or cancelled);
* ``approval_status`` — whether a manager has signed it off
  (not_submitted -> pending -> approved | rejected; not_required when the org needs no approval).

A post goes out only when it is scheduled, due, and approved (or the org needs no approval).
Every change of either status goes through :func:`check_post_transition` or
:func:`check_approval_transition`, so an illegal move raises :class:`InvalidTransition` naming both
states and leaves the post untouched.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from core.errors import InvalidTransition, Problem, ValidationFailed


class PostStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    PARTIALLY_PUBLISHED = "partially_published"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ApprovalStatus(StrEnum):
    NOT_SUBMITTED = "not_submitted"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    NOT_REQUIRED = "not_required"


_P = PostStatus
_A = ApprovalStatus

POST_TRANSITIONS: Mapping[PostStatus, frozenset[PostStatus]] = MappingProxyType(
    {
        _P.DRAFT: frozenset({_P.SCHEDULED, _P.CANCELLED}),
        # scheduled -> scheduled is a reschedule; scheduled -> draft is "unschedule".
        _P.SCHEDULED: frozenset({_P.SCHEDULED, _P.DRAFT, _P.PUBLISHING, _P.CANCELLED}),
        _P.PUBLISHING: frozenset({_P.PUBLISHED, _P.PARTIALLY_PUBLISHED, _P.FAILED}),
        # A failed post can be rescheduled by a person or retried by the queue.
        _P.FAILED: frozenset({_P.SCHEDULED, _P.PUBLISHING}),
        # Only the platforms that failed are retried; the post never goes back to the calendar.
        _P.PARTIALLY_PUBLISHED: frozenset({_P.PUBLISHING}),
        _P.CANCELLED: frozenset({_P.DRAFT}),
        _P.PUBLISHED: frozenset(),
    }
)

APPROVAL_TRANSITIONS: Mapping[ApprovalStatus, frozenset[ApprovalStatus]] = MappingProxyType(
    {
        _A.NOT_SUBMITTED: frozenset({_A.PENDING}),
        # pending -> pending: submitting again (e.g. after an edit) is harmless.
        _A.PENDING: frozenset({_A.APPROVED, _A.REJECTED, _A.PENDING}),
        _A.REJECTED: frozenset({_A.PENDING}),
        # Editing an approved post sends it back for review.
        _A.APPROVED: frozenset({_A.PENDING}),
        # The org may switch approvals on later; then a post can still be submitted.
        _A.NOT_REQUIRED: frozenset({_A.PENDING, _A.NOT_REQUIRED}),
    }
)

PUBLISHED_STATUSES: frozenset[PostStatus] = frozenset({_P.PUBLISHED, _P.PARTIALLY_PUBLISHED})


def _parse_post_status(value: str) -> PostStatus | None:
    try:
        return PostStatus(value)
    except ValueError:
        return None


def _parse_approval_status(value: str) -> ApprovalStatus | None:
    try:
        return ApprovalStatus(value)
    except ValueError:
        return None


def _post_reason(current: PostStatus, target: PostStatus) -> str:
    """A sentence a marketer can act on, for a post move the table forbids."""
    if current is _P.PUBLISHED:
        return "a published post cannot be changed"
    if current is _P.PUBLISHING:
        return "the post is being published right now; wait for the outcome"
    if target is _P.CANCELLED:
        return "only a draft or a scheduled post can be cancelled"
    if current is _P.CANCELLED:
        return "a cancelled post must be restored to draft first"
    if target is _P.PUBLISHING:
        return "a post must be scheduled before it is published"
    if target in PUBLISHED_STATUSES or target is _P.FAILED:
        return "only a post that is being published can receive a publishing outcome"
    if current is _P.PARTIALLY_PUBLISHED:
        return "a partially published post can only retry its failed platforms"
    allowed = ", ".join(sorted(POST_TRANSITIONS[current])) or "none"
    return f"from '{current}' the post can move to: {allowed}"


def _approval_reason(current: ApprovalStatus, target: ApprovalStatus) -> str:
    if target in (_A.APPROVED, _A.REJECTED):
        return "only a post pending approval can be approved or rejected"
    if target is _A.NOT_SUBMITTED:
        return "a submitted post cannot be withdrawn from review"
    if target is _A.NOT_REQUIRED:
        return "once submitted, a post stays in the approval flow"
    allowed = ", ".join(sorted(APPROVAL_TRANSITIONS[current])) or "none"
    return f"from '{current}' the approval can move to: {allowed}"


def check_post_transition(current: str, target: str) -> PostStatus:
    """Return ``target`` as a :class:`PostStatus` if ``current -> target`` is allowed.

    Raises :class:`InvalidTransition` (entity ``"post"``) otherwise, including for unknown values.
    """
    cur, tgt = _parse_post_status(current), _parse_post_status(target)
    if cur is None or tgt is None:
        raise InvalidTransition("post", str(current), str(target), "unknown post status")
    if tgt not in POST_TRANSITIONS[cur]:
        raise InvalidTransition("post", cur.value, tgt.value, _post_reason(cur, tgt))
    return tgt


def check_approval_transition(current: str, target: str) -> ApprovalStatus:
    """Return ``target`` as an :class:`ApprovalStatus` if ``current -> target`` is allowed.

    Raises :class:`InvalidTransition` (entity ``"approval"``) otherwise, including for unknown values.
    """
    cur, tgt = _parse_approval_status(current), _parse_approval_status(target)
    if cur is None or tgt is None:
        raise InvalidTransition("approval", str(current), str(target), "unknown approval status")
    if tgt not in APPROVAL_TRANSITIONS[cur]:
        raise InvalidTransition("approval", cur.value, tgt.value, _approval_reason(cur, tgt))
    return tgt


def status_from_platform_results(results: Mapping[str, bool]) -> PostStatus:
    """Overall outcome of one publishing round from ``{platform: succeeded}``.

    All succeeded -> published; some -> partially_published; none, or no platforms -> failed.
    """
    outcomes = list(results.values())
    if outcomes and all(outcomes):
        return _P.PUBLISHED
    if any(outcomes):
        return _P.PARTIALLY_PUBLISHED
    return _P.FAILED


def _require_aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value!r}")
    return value.astimezone(UTC)


def format_platform_errors(errors: Mapping[str, str]) -> str:
    """``"Failed on 2 platforms: instagram: <error>; tiktok: <error>"`` (platforms sorted)."""
    parts = [f"{platform}: {(message or '').strip() or 'unknown error'}"
             for platform, message in sorted(errors.items())]
    noun = "platform" if len(parts) == 1 else "platforms"
    return f"Failed on {len(parts)} {noun}: " + "; ".join(parts)


class PostLifecycle:
    """Lifecycle behaviour for any object that carries a post's fields.

    A mixin with no ``__init__`` and no fields of its own: the host class (the SQLAlchemy
    ``ScheduledPost`` model, or a plain dataclass in tests) provides the attributes declared below.
    Methods validate first and assign last, so a refused call leaves the post exactly as it was.
    All datetimes handed in must be aware; they are stored as UTC.
    """

    # Declared for type checkers only: a runtime annotation here would be picked up by
    # SQLAlchemy's declarative scan and by dataclass hosts.
    if TYPE_CHECKING:
        status: str
        approval_status: str
        scheduled_at: datetime | None
        published_at: datetime | None
        approved_by: Any
        approved_at: datetime | None
        error_message: str | None
        content: str
        platform_specific_content: dict[str, str] | None
        platforms: list[str]

    def _require_status(self, expected: PostStatus, target: PostStatus, reason: str) -> None:
        """Guard for methods that share a target with another move (both lead to draft)."""
        if self.status != expected:
            raise InvalidTransition("post", str(self.status), target.value, reason)

    # --- publishing status -------------------------------------------------------------------

    def schedule(self, at: datetime, *, now: datetime) -> None:
        """Schedule (or reschedule) the post for ``at``, which must be aware and after ``now``.

        Allowed from draft, scheduled and failed. Raises :class:`ValidationFailed` with code
        ``naive_datetime`` or ``in_past`` on field ``scheduled_at``, or ``required`` on ``platforms``.
        """
        target = check_post_transition(self.status, _P.SCHEDULED)
        now_utc = _require_aware(now, "now")
        problems: list[Problem] = []
        if at.tzinfo is None or at.utcoffset() is None:
            problems.append(Problem(
                field="scheduled_at", code="naive_datetime",
                message="the time has no timezone; give an offset or read it in the org's timezone",
                actual=at.isoformat(),
            ))
        elif at <= now_utc:
            problems.append(Problem(
                field="scheduled_at", code="in_past",
                message="the time must be in the future",
                limit=now_utc.isoformat(), actual=at.isoformat(),
            ))
        if not self.platforms:
            problems.append(Problem(
                field="platforms", code="required",
                message="choose at least one platform before scheduling",
            ))
        if problems:
            raise ValidationFailed(problems)
        self.scheduled_at = at.astimezone(UTC)
        # A failed post that is rescheduled starts afresh; the old error lives in publish_attempts.
        self.error_message = None
        self.status = target

    def unschedule(self) -> None:
        """Take a scheduled post back to draft and forget its time."""
        self._require_status(_P.SCHEDULED, _P.DRAFT, "only a scheduled post can be unscheduled")
        self.status = check_post_transition(self.status, _P.DRAFT)
        self.scheduled_at = None

    def cancel(self) -> None:
        """Cancel a draft or scheduled post. ``scheduled_at`` is kept so the calendar can show it."""
        self.status = check_post_transition(self.status, _P.CANCELLED)

    def restore_to_draft(self) -> None:
        """Bring a cancelled post back as a draft without a time."""
        self._require_status(_P.CANCELLED, _P.DRAFT, "only a cancelled post can be restored")
        self.status = check_post_transition(self.status, _P.DRAFT)
        self.scheduled_at = None

    def mark_publishing(self) -> None:
        """The queue has started sending the post (first try, or a retry after failure)."""
        self.status = check_post_transition(self.status, _P.PUBLISHING)

    def mark_published(self, at: datetime) -> None:
        """Every platform accepted the post.

        ``published_at`` keeps the first time the post went live when an earlier round was partial.
        """
        target = check_post_transition(self.status, _P.PUBLISHED)
        at_utc = _require_aware(at, "at")
        self.published_at = self.published_at or at_utc
        self.error_message = None
        self.status = target

    def mark_partially_published(self, at: datetime, errors: Mapping[str, str]) -> None:
        """Some platforms accepted the post; ``errors`` maps each failed platform to its error."""
        target = check_post_transition(self.status, _P.PARTIALLY_PUBLISHED)
        at_utc = _require_aware(at, "at")
        if not errors:
            raise ValueError("a partially published post needs at least one platform error")
        self.published_at = self.published_at or at_utc
        self.error_message = format_platform_errors(errors)
        self.status = target

    def mark_failed(self, error: str) -> None:
        """No platform accepted the post; ``error`` is kept (the platform's own words)."""
        target = check_post_transition(self.status, _P.FAILED)
        self.error_message = (error or "").strip() or "Publishing failed without an error message"
        self.status = target

    def is_published(self) -> bool:
        """True once the post is live on at least one platform."""
        return self.status in PUBLISHED_STATUSES

    # --- approval -----------------------------------------------------------------------------

    def submit_for_approval(self) -> None:
        """Ask for review. Any earlier sign-off is forgotten."""
        self.approval_status = check_approval_transition(self.approval_status, _A.PENDING)
        self.approved_by = None
        self.approved_at = None

    def approve(self, user_id: Any, at: datetime) -> None:
        """Sign off a pending post. Who may approve (roles, self-approval) is the service's rule."""
        target = check_approval_transition(self.approval_status, _A.APPROVED)
        if user_id is None:
            raise ValueError("approve needs the approving user's id")
        at_utc = _require_aware(at, "at")
        self.approved_by = user_id
        self.approved_at = at_utc
        self.approval_status = target

    def reject(self, reason: str) -> str:
        """Reject a pending post and return the cleaned reason.

        The post has no column for the reason: the caller records it (the ``approvals`` row's
        comment) so the author can see why. A blank reason raises :class:`ValidationFailed`.
        """
        target = check_approval_transition(self.approval_status, _A.REJECTED)
        cleaned = (reason or "").strip()
        if not cleaned:
            raise ValidationFailed([Problem(
                field="reason", code="required",
                message="say why the post is rejected so the author can fix it",
            )])
        self.approved_by = None
        self.approved_at = None
        self.approval_status = target
        return cleaned

    def return_to_pending_after_edit(self) -> bool:
        """After content or platforms changed: an approved or rejected post goes back to pending.

        Returns True if the approval status changed. Posts never submitted, already pending, or
        whose org needs no approval are left as they are.
        """
        if self.approval_status not in (_A.APPROVED, _A.REJECTED):
            return False
        self.approval_status = check_approval_transition(self.approval_status, _A.PENDING)
        self.approved_by = None
        self.approved_at = None
        return True

    def needs_approval(self, *, approval_required: bool) -> bool:
        """True while the org requires approval and this post is not approved.

        A post marked not_required still needs approval if the org has since switched approvals on.
        """
        return approval_required and self.approval_status != _A.APPROVED

    # --- publishing decisions -----------------------------------------------------------------

    def can_be_published(self, *, now: datetime, approval_required: bool) -> bool:
        """Scheduled, due (``scheduled_at <= now``), and approved unless the org needs no approval."""
        now_utc = _require_aware(now, "now")
        return (
            self.status == _P.SCHEDULED
            and self.scheduled_at is not None
            and self.scheduled_at <= now_utc
            and not self.needs_approval(approval_required=approval_required)
        )

    def content_for_platform(self, platform: str) -> str:
        """The text to send to ``platform``: its override if present and not blank, else ``content``."""
        override = (self.platform_specific_content or {}).get(platform)
        if override is not None and override.strip():
            return override
        return self.content
