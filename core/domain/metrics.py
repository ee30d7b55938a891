"""Engagement arithmetic shared by analytics, best-time and the dashboard.

Counts come from the networks and are never negative; a negative count is a bug upstream and
raises ``ValueError`` rather than quietly lowering a score.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


def _check_counts(**counts: int | None) -> None:
    for name, value in counts.items():
        if value is not None and value < 0:
            raise ValueError(f"{name} cannot be negative, got {value}")


def engagement(likes: int, comments: int, shares: int, saves: int | None = None) -> int:
    """Interactions on a post: likes + comments + shares, plus saves where the network reports them.

    ``saves=None`` means the network has no such metric (it is not the same as zero saves).
    """
    _check_counts(likes=likes, comments=comments, shares=shares, saves=saves)
    return likes + comments + shares + (saves or 0)


def engagement_rate(engagement: int | float, views: int | float) -> float:
    """``engagement / views * 100`` rounded to 2 decimals; ``0.0`` when nobody has seen the post."""
    if views <= 0:
        return 0.0
    return round(engagement / views * 100, 2)


@dataclass(frozen=True)
class PostMetrics:
    """One post's counters on one network at one sync."""

    likes: int
    comments: int
    shares: int
    views: int
    saves: int | None = None
    reach: int | None = None
    clicks: int | None = None

    def __post_init__(self) -> None:
        _check_counts(
            likes=self.likes, comments=self.comments, shares=self.shares, views=self.views,
            saves=self.saves, reach=self.reach, clicks=self.clicks,
        )

    @property
    def engagement(self) -> int:
        return engagement(self.likes, self.comments, self.shares, self.saves)

    @property
    def engagement_rate(self) -> float:
        return engagement_rate(self.engagement, self.views)


class PlatformPostLifecycle:
    """The seed's PlatformPost methods, as a mixin over attributes the host provides
    (``status``, ``platform_post_id_external``, ``post_url``, ``published_at``, ``error_message``,
    the metric columns and ``last_synced_at``)."""

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
    reach: int | None
    clicks: int | None
    engagement: int
    engagement_rate: float
    last_synced_at: datetime | None

    def mark_publishing(self) -> None:
        self.status = "publishing"
        self.error_message = None

    def mark_published(self, external_id: str, url: str | None, at: datetime) -> None:
        if not external_id:
            raise ValueError("a published post needs the network's id")
        self.status = "published"
        self.platform_post_id_external = external_id
        self.post_url = url
        self.published_at = at
        self.error_message = None

    def mark_failed(self, error: str) -> None:
        self.status = "failed"
        self.error_message = error

    def is_published(self) -> bool:
        return self.status == "published"

    def update_metrics(self, metrics: PostMetrics, at: datetime) -> None:
        """Store a sync's counters and recompute engagement and its rate."""
        self.likes, self.comments, self.shares, self.views = (
            metrics.likes, metrics.comments, metrics.shares, metrics.views)
        self.saves, self.reach, self.clicks = metrics.saves, metrics.reach, metrics.clicks
        self.engagement = metrics.engagement
        self.engagement_rate = metrics.engagement_rate
        self.last_synced_at = at
