"""Plain data returned by services: no live ORM objects leave a unit of work."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from core.db.models import PlatformPost, PublishingQueueItem, ScheduledPost
from core.errors import ConflictInfo


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def to_plain(obj: Any) -> Any:
    """A dataclass (or nest of them) as JSON-ready data: ISO 8601 times with offset, string ids."""
    return _plain(asdict(obj)) if hasattr(obj, "__dataclass_fields__") else _plain(obj)


@dataclass(frozen=True)
class QueueItemView:
    queue_id: uuid.UUID
    platform: str
    status: str
    scheduled_for: datetime
    next_attempt_at: datetime
    attempts: int
    max_attempts: int
    last_attempt_at: datetime | None
    error_message: str | None
    processed_at: datetime | None

    @classmethod
    def of(cls, q: PublishingQueueItem) -> QueueItemView:
        return cls(q.queue_id, q.platform, q.status, q.scheduled_for, q.next_attempt_at,
                   q.attempts, q.max_attempts, q.last_attempt_at, q.error_message, q.processed_at)


@dataclass(frozen=True)
class PlatformPostView:
    platform_post_id: uuid.UUID
    platform: str
    status: str
    platform_post_id_external: str | None
    post_url: str | None
    published_at: datetime | None
    error_message: str | None
    likes: int
    comments: int
    shares: int
    views: int
    saves: int | None
    engagement: int
    engagement_rate: float
    last_synced_at: datetime | None

    @classmethod
    def of(cls, p: PlatformPost) -> PlatformPostView:
        return cls(p.platform_post_id, p.platform, p.status, p.platform_post_id_external,
                   p.post_url, p.published_at, p.error_message, p.likes, p.comments, p.shares,
                   p.views, p.saves, p.engagement, float(p.engagement_rate or 0), p.last_synced_at)


@dataclass(frozen=True)
class PostView:
    post_id: uuid.UUID
    org_id: uuid.UUID
    created_by: uuid.UUID
    title: str | None
    content: str
    media_urls: list[str]
    media_metadata: dict[str, Any]
    post_type: str
    platforms: list[str]
    platform_specific_content: dict[str, str]
    platform_options: dict[str, Any]
    status: str
    scheduled_at: datetime | None
    published_at: datetime | None
    approval_status: str
    approved_by: uuid.UUID | None
    approved_at: datetime | None
    rejection_reason: str | None
    hashtags: list[str]
    mentions: list[str]
    location_tag: str | None
    content_library_id: uuid.UUID | None
    error_message: str | None
    created_at: datetime
    updated_at: datetime
    queue_items: list[QueueItemView] = field(default_factory=list)
    platform_posts: list[PlatformPostView] = field(default_factory=list)

    @classmethod
    def of(
        cls,
        p: ScheduledPost,
        queue: list[PublishingQueueItem] | None = None,
        platform_posts: list[PlatformPost] | None = None,
    ) -> PostView:
        return cls(
            post_id=p.post_id, org_id=p.org_id, created_by=p.created_by, title=p.title,
            content=p.content, media_urls=list(p.media_urls or []),
            media_metadata=dict(p.media_metadata or {}), post_type=p.post_type,
            platforms=list(p.platforms or []),
            platform_specific_content=dict(p.platform_specific_content or {}),
            platform_options=dict(p.platform_options or {}), status=p.status,
            scheduled_at=p.scheduled_at, published_at=p.published_at,
            approval_status=p.approval_status, approved_by=p.approved_by,
            approved_at=p.approved_at, rejection_reason=p.rejection_reason,
            hashtags=list(p.hashtags or []), mentions=list(p.mentions or []),
            location_tag=p.location_tag, content_library_id=p.content_library_id,
            error_message=p.error_message, created_at=p.created_at, updated_at=p.updated_at,
            queue_items=[QueueItemView.of(q) for q in queue or []],
            platform_posts=[PlatformPostView.of(x) for x in platform_posts or []],
        )

    def to_dict(self) -> dict[str, Any]:
        return to_plain(self)


@dataclass(frozen=True)
class ScheduleResult:
    """A saved post, plus what the user should know: assumptions made and clashes found."""

    post: PostView
    notes: list[str] = field(default_factory=list)
    conflicts: list[ConflictInfo] = field(default_factory=list)


@dataclass(frozen=True)
class BulkItemResult:
    index: int
    ok: bool
    post: PostView | None = None
    error: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
