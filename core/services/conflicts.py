"""Scheduling clashes: too close to another post on the same network, or over the daily cap.

Read from ``publishing_queue`` (one row per post x platform, with its time), so the check is one
indexed range query however many networks a post goes to.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db.models import Org, PublishingQueueItem, ScheduledPost
from core.domain.timezones import format_local, local_date, local_day_bounds
from core.errors import ConflictInfo

# Queue rows that occupy a slot: waiting, in flight, done, or awaiting reconciliation.
OCCUPYING_QUEUE_STATES = ("pending", "processing", "completed", "unconfirmed")
OCCUPYING_POST_STATES = ("scheduled", "publishing", "published", "partially_published", "failed")


@dataclass(frozen=True)
class Slot:
    platform: str
    post_id: uuid.UUID
    title: str
    at: datetime


def load_slots(
    session: Session,
    org_id: uuid.UUID,
    platforms: Sequence[str],
    start: datetime,
    end: datetime,
    exclude_post_id: uuid.UUID | None = None,
) -> list[Slot]:
    query = (
        select(PublishingQueueItem.platform, PublishingQueueItem.scheduled_post_id,
               ScheduledPost.title, ScheduledPost.content, PublishingQueueItem.scheduled_for)
        .join(ScheduledPost, ScheduledPost.post_id == PublishingQueueItem.scheduled_post_id)
        .where(
            PublishingQueueItem.org_id == org_id,
            PublishingQueueItem.platform.in_(list(platforms)),
            PublishingQueueItem.status.in_(OCCUPYING_QUEUE_STATES),
            PublishingQueueItem.scheduled_for >= start,
            PublishingQueueItem.scheduled_for < end,
            ScheduledPost.status.in_(OCCUPYING_POST_STATES),
        )
    )
    if exclude_post_id is not None:
        query = query.where(PublishingQueueItem.scheduled_post_id != exclude_post_id)
    return [
        Slot(platform, post_id, title or _snippet(content), at)
        for platform, post_id, title, content, at in session.execute(query)
    ]


def _snippet(text: str, width: int = 40) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def window_for(at: datetime, org: Org) -> tuple[datetime, datetime]:
    """The range of times that can clash with ``at``: its local day, widened by the gap."""
    start, end = local_day_bounds(local_date(at, org.timezone), org.timezone)
    gap = timedelta(minutes=org.min_gap_minutes)
    return min(start, at - gap), max(end, at + gap)


def conflicts_at(at: datetime, platforms: Iterable[str], slots: Sequence[Slot], org: Org) -> list[ConflictInfo]:
    """Pure check of one candidate time against already-loaded slots."""
    tz = org.timezone
    gap = timedelta(minutes=org.min_gap_minutes)
    day = local_date(at, tz)
    found: list[ConflictInfo] = []
    for platform in platforms:
        mine = [s for s in slots if s.platform == platform]
        close = [s for s in mine if gap and abs(s.at - at) < gap]
        if close:
            found.append(ConflictInfo(
                platform=platform,
                kind="min_gap",
                message=(
                    f"{platform}: {len(close)} post(s) within {org.min_gap_minutes} minutes of "
                    f"{format_local(at, tz)} (the org's minimum gap)"
                ),
                posts=[_slot_dict(s, tz) for s in close],
            ))
        same_day = [s for s in mine if local_date(s.at, tz) == day]
        if len(same_day) >= org.max_posts_per_platform_per_day:
            found.append(ConflictInfo(
                platform=platform,
                kind="daily_cap",
                message=(
                    f"{platform}: already {len(same_day)} post(s) on {day.isoformat()}; the org's "
                    f"daily cap is {org.max_posts_per_platform_per_day} per network"
                ),
                posts=[_slot_dict(s, tz) for s in same_day],
            ))
    return found


def _slot_dict(slot: Slot, tz: str) -> dict[str, object]:
    return {
        "post_id": str(slot.post_id),
        "title": slot.title,
        "scheduled_at": slot.at.isoformat(),
        "local_time": format_local(slot.at, tz),
    }


def find_conflicts(
    session: Session,
    org: Org,
    at: datetime,
    platforms: Sequence[str],
    exclude_post_id: uuid.UUID | None = None,
) -> list[ConflictInfo]:
    start, end = window_for(at, org)
    slots = load_slots(session, org.org_id, platforms, start, end, exclude_post_id)
    return conflicts_at(at, platforms, slots, org)
