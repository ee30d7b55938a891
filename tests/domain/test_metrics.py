"""Engagement arithmetic."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain.metrics import PostMetrics, engagement, engagement_rate

counts = st.integers(min_value=0, max_value=10**9)


def test_engagement_adds_likes_comments_and_shares() -> None:
    assert engagement(10, 2, 3) == 15


def test_saves_count_when_the_network_reports_them() -> None:
    assert engagement(10, 2, 3, saves=4) == 19
    assert engagement(10, 2, 3, saves=0) == 15


def test_negative_counts_are_a_bug_upstream() -> None:
    with pytest.raises(ValueError, match="likes"):
        engagement(-1, 0, 0)
    with pytest.raises(ValueError, match="views"):
        PostMetrics(likes=1, comments=0, shares=0, views=-5)


@pytest.mark.parametrize(
    ("eng", "views", "rate"),
    [(50, 1000, 5.0), (1, 3, 33.33), (2, 3, 66.67), (0, 100, 0.0), (10, 0, 0.0), (10, -1, 0.0),
     (300, 100, 300.0)],
)
def test_engagement_rate(eng: int, views: int, rate: float) -> None:
    assert engagement_rate(eng, views) == rate


@settings(max_examples=200, deadline=None)
@given(eng=counts, views=st.integers(min_value=1, max_value=10**9))
def test_engagement_rate_is_rounded_percentage(eng: int, views: int) -> None:
    rate = engagement_rate(eng, views)
    assert rate == round(rate, 2)
    assert abs(rate - eng / views * 100) <= 0.005 + 1e-9


def test_post_metrics_derives_engagement_and_rate() -> None:
    m = PostMetrics(likes=40, comments=5, shares=3, views=1200, saves=12, reach=900, clicks=7)
    assert m.engagement == 60
    assert m.engagement_rate == 5.0


def test_post_metrics_without_views_has_zero_rate() -> None:
    assert PostMetrics(likes=4, comments=0, shares=0, views=0).engagement_rate == 0.0


def test_post_metrics_is_immutable() -> None:
    m = PostMetrics(likes=1, comments=1, shares=1, views=10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.likes = 2  # type: ignore[misc]


def test_platform_post_lifecycle_updates_engagement_from_metrics() -> None:
    from dataclasses import dataclass
    from datetime import UTC, datetime

    from core.domain.metrics import PlatformPostLifecycle, PostMetrics

    @dataclass
    class Row(PlatformPostLifecycle):
        status: str = "pending"
        platform_post_id_external: str | None = None
        post_url: str | None = None
        published_at: datetime | None = None
        error_message: str | None = None
        likes: int = 0
        comments: int = 0
        shares: int = 0
        views: int = 0
        saves: int | None = None
        reach: int | None = None
        clicks: int | None = None
        engagement: int = 0
        engagement_rate: float = 0.0
        last_synced_at: datetime | None = None

    at = datetime(2026, 11, 24, 9, tzinfo=UTC)
    row = Row()
    row.mark_publishing()
    row.mark_published("1234567890", "https://x.com/acme/status/1234567890", at)
    assert row.is_published() and row.platform_post_id_external == "1234567890"
    row.update_metrics(PostMetrics(likes=150, comments=23, shares=12, views=3500, saves=15), at)
    assert row.engagement == 200 and row.engagement_rate == 5.71 and row.last_synced_at == at
    row.update_metrics(PostMetrics(likes=1, comments=0, shares=0, views=0), at)
    assert row.engagement == 1 and row.engagement_rate == 0.0
    row.mark_failed("boom")
    assert not row.is_published() and row.error_message == "boom"
