"""Publishing-queue item states and retry timing.

One queue item exists per post x platform. ``unconfirmed`` means a publish call may or may not have
reached the network (timeout after sending, worker died mid-call); such an item is reconciled by
asking the platform, never re-published blindly.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from core.errors import InvalidTransition

BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 3600
# 2**40 * 30 s is far beyond any cap; bounding the exponent keeps the float arithmetic finite.
_MAX_BACKOFF_EXPONENT = 40


class QueueStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNCONFIRMED = "unconfirmed"


_Q = QueueStatus

QUEUE_TRANSITIONS: Mapping[QueueStatus, frozenset[QueueStatus]] = MappingProxyType(
    {
        _Q.PENDING: frozenset({_Q.PROCESSING, _Q.CANCELLED}),
        # processing -> pending is a scheduled retry; -> unconfirmed when the outcome is unknown.
        _Q.PROCESSING: frozenset({_Q.COMPLETED, _Q.FAILED, _Q.PENDING, _Q.UNCONFIRMED}),
        # Reconciliation found the post (completed), found a refusal (failed), or found nothing
        # and the send is known not to have landed (pending).
        _Q.UNCONFIRMED: frozenset({_Q.COMPLETED, _Q.FAILED, _Q.PENDING}),
        _Q.FAILED: frozenset({_Q.PENDING}),  # a person asked for a manual retry
        _Q.COMPLETED: frozenset(),
        _Q.CANCELLED: frozenset(),
    }
)


def _reason(current: QueueStatus, target: QueueStatus) -> str:
    if current in (_Q.COMPLETED, _Q.CANCELLED):
        return f"a {current} queue item is final"
    if current is _Q.UNCONFIRMED and target is _Q.PROCESSING:
        return "an unconfirmed item must be reconciled with the platform, never re-sent blindly"
    if current is _Q.FAILED:
        return "a failed item can only be put back to pending for a manual retry"
    allowed = ", ".join(sorted(QUEUE_TRANSITIONS[current]))
    return f"from '{current}' the item can move to: {allowed}"


def check_queue_transition(current: str, target: str) -> QueueStatus:
    """Return ``target`` as a :class:`QueueStatus` if allowed, else raise :class:`InvalidTransition`."""
    try:
        cur, tgt = QueueStatus(current), QueueStatus(target)
    except ValueError:
        raise InvalidTransition(
            "queue item", str(current), str(target), "unknown queue status"
        ) from None
    if tgt not in QUEUE_TRANSITIONS[cur]:
        raise InvalidTransition("queue item", cur.value, tgt.value, _reason(cur, tgt))
    return tgt


def backoff_ceiling_seconds(
    attempt: int, *, base_seconds: float = BACKOFF_BASE_SECONDS,
    cap_seconds: float = BACKOFF_CAP_SECONDS,
) -> float:
    """Upper bound of the wait after failed ``attempt`` (1-based): ``min(cap, base * 2**(attempt-1))``."""
    if attempt < 1:
        raise ValueError(f"attempt numbers start at 1, got {attempt}")
    if base_seconds <= 0 or cap_seconds <= 0:
        raise ValueError("base_seconds and cap_seconds must be positive")
    return float(min(cap_seconds, base_seconds * 2 ** min(attempt - 1, _MAX_BACKOFF_EXPONENT)))


def backoff_delay(
    attempt: int, *, base_seconds: float = BACKOFF_BASE_SECONDS,
    cap_seconds: float = BACKOFF_CAP_SECONDS, rng: random.Random | None = None,
) -> timedelta:
    """How long to wait after failed ``attempt`` (1-based) before trying again.

    "Full jitter" (uniform up to the exponential ceiling) spreads the retries of many items that
    failed together, e.g. during an outage. The floor of ``base/2`` (never above the ceiling) keeps
    a retry from firing almost immediately at a network that has just refused us. For the same
    random draw, the delay never shrinks as ``attempt`` grows, and it never exceeds ``cap_seconds``.
    """
    ceiling = backoff_ceiling_seconds(attempt, base_seconds=base_seconds, cap_seconds=cap_seconds)
    floor = min(base_seconds / 2, ceiling)
    draw = rng.random() if rng is not None else random.random()
    return timedelta(seconds=floor + (ceiling - floor) * draw)


def next_attempt_at(
    now: datetime, attempt: int, *, retry_after: datetime | None = None,
    base_seconds: float = BACKOFF_BASE_SECONDS, cap_seconds: float = BACKOFF_CAP_SECONDS,
    rng: random.Random | None = None, first_retry_seconds: float | None = None,
) -> datetime:
    """When to try again after failed ``attempt``: ``now`` plus backoff, never before ``retry_after``.

    ``retry_after`` is the platform's own reset time (``Retry-After``, rate-limit reset headers);
    calling earlier only earns another 429. Both datetimes must be aware; the result is UTC.

    With ``first_retry_seconds`` the schedule has two speeds: the first retry comes after
    ``first_retry_seconds`` (half to all of it), because one failed call is most often a blip
    and the post is due now; every later one backs off from ``base_seconds`` as above
    (``attempt - 1`` standing for ``attempt``), because a network that failed twice running is
    having an outage, and retries a second apart would spend the item's attempts inside it.
    """
    if now.tzinfo is None or (retry_after is not None and retry_after.tzinfo is None):
        raise ValueError("next_attempt_at needs timezone-aware datetimes")
    if first_retry_seconds is not None and attempt == 1:
        delay = backoff_delay(1, base_seconds=first_retry_seconds, cap_seconds=cap_seconds, rng=rng)
    else:
        nth = attempt - 1 if first_retry_seconds is not None else attempt
        delay = backoff_delay(nth, base_seconds=base_seconds, cap_seconds=cap_seconds, rng=rng)
    candidate = now.astimezone(UTC) + delay
    if retry_after is not None:
        return max(candidate, retry_after.astimezone(UTC))
    return candidate
