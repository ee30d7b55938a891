"""Performance analytics over v_publishing_performance and platform_posts, on both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text

from core.db.models import PlatformPost, ScheduledPost
from core.domain.metrics import PostMetrics
from core.errors import ValidationFailed
from tests.conftest import Team

NOV_1, NOV_24 = date(2026, 11, 1), date(2026, 11, 24)


def published(herald, team: Team, at: datetime, post_type: str, metrics: dict[str, tuple[int, int, int, int]], *,
              status: str = "published", failed: tuple[str, ...] = ()) -> uuid.UUID:
    """A post published at ``at`` with (likes, comments, shares, views) per network, written like the
    publishing engine writes it; ``failed`` networks get a failed platform row."""
    org_id = team.org.org_id
    with herald.db.unit_of_work(org_id) as uow:
        post = ScheduledPost(post_id=uuid.uuid4(), org_id=org_id, created_by=team.editor.user_id,
                             title=f"{post_type} at {at:%d %b %H:%M}", content="Hello", post_type=post_type,
                             platforms=[*metrics, *failed], status=status, approval_status="approved",
                             scheduled_at=at, published_at=at if status != "failed" else None, approval_round=1)
        uow.session.add(post)
        uow.session.flush()
        for platform, (likes, comments, shares, views) in metrics.items():
            row = PlatformPost(org_id=org_id, scheduled_post_id=post.post_id, platform=platform, likes=0,
                               comments=0, shares=0, views=0, engagement=0, engagement_rate=0.0)
            row.mark_published(uuid.uuid4().hex, f"https://example.test/{platform}", at)
            row.update_metrics(PostMetrics(likes=likes, comments=comments, shares=shares, views=views), at)
            uow.session.add(row)
        for platform in failed:
            row = PlatformPost(org_id=org_id, scheduled_post_id=post.post_id, platform=platform, likes=0,
                               comments=0, shares=0, views=0, engagement=0, engagement_rate=0.0)
            row.mark_failed("Rejected by the network")
            uow.session.add(row)
        uow.commit()
    return post.post_id


@pytest.fixture
def tokyo(herald) -> Team:
    """An org far from UTC, so local days and hours differ from UTC ones."""
    team = Team(herald, "Asia/Tokyo")
    # 00:30 UTC = Tuesday 10 Nov 09:30 in Tokyo: twitter 15 engagement / 100 views, linkedin 5 / 50.
    published(herald, team, datetime(2026, 11, 10, 0, 30, tzinfo=UTC), "text",
              {"twitter": (10, 2, 3, 100), "linkedin": (5, 0, 0, 50)})
    # Friday 20 Nov 18:00 in Tokyo; partially published (facebook refused it).
    published(herald, team, datetime(2026, 11, 20, 9, 0, tzinfo=UTC), "image",
              {"instagram": (20, 5, 5, 300)}, status="partially_published", failed=("facebook",))
    # 31 Oct 16:00 UTC is already 1 Nov 01:00 in Tokyo: inside the range.
    published(herald, team, datetime(2026, 10, 31, 16, 0, tzinfo=UTC), "text", {"twitter": (1, 0, 0, 10)})
    # Outside the range (31 Oct 08:00 in Tokyo), and a failed post: neither counts.
    published(herald, team, datetime(2026, 10, 30, 23, 0, tzinfo=UTC), "text", {"twitter": (99, 0, 0, 100)})
    published(herald, team, datetime(2026, 11, 12, 0, 0, tzinfo=UTC), "text", {}, status="failed",
              failed=("twitter",))
    return team


def test_totals_and_rates_per_network_in_the_orgs_days(herald, tokyo: Team, other_team: Team) -> None:
    # Another org's post in the same days is invisible.
    published(herald, other_team, datetime(2026, 11, 10, 12, 0, tzinfo=UTC), "text", {"twitter": (500, 0, 0, 600)})
    report = herald.analytics.performance(tokyo.viewer, start=NOV_1, end=NOV_24)
    assert report.timezone == "Asia/Tokyo"
    assert report.totals == {"posts": 3, "network_posts": 4, "likes": 36, "comments": 7, "shares": 8,
                               "views": 460, "engagement": 51, "engagement_rate": 11.09}
    by_network = report.by_network.set_index("platform")
    assert by_network.loc["instagram", ["posts", "engagement", "views", "engagement_rate"]].tolist() == [1, 30, 300, 10.0]
    assert by_network.loc["twitter", ["posts", "engagement", "views"]].tolist() == [2, 16, 110]
    assert by_network.loc["twitter", "engagement_rate"] == 14.55  # 16 / 110, not the mean of 15% and 10%
    assert "facebook" not in by_network.index  # its row failed: nothing was published there


def test_post_rows_match_the_seed_view(herald, tokyo: Team) -> None:
    report = herald.analytics.performance(tokyo.viewer, start=NOV_1, end=NOV_24)
    with herald.db.unit_of_work(tokyo.org.org_id, readonly=True) as uow:
        view = {str(pid): (eng, views) for pid, eng, views in uow.session.execute(text(
            "SELECT post_id, total_engagement, total_views FROM v_publishing_performance"))}
    for row in report.posts.itertuples():
        key = row.post_id if row.post_id in view else row.post_id.replace("-", "")
        assert view[key] == (row.engagement, row.views)
    assert report.top_posts(1)["engagement"].tolist() == [30]
    assert report.top_posts(1)["networks"].tolist() == ["instagram"]
    assert report.by_post_type.set_index("post_type")["posts"].to_dict() == {"image": 1, "text": 2}


def test_trend_and_weekday_hour_use_local_time(herald, tokyo: Team) -> None:
    report = herald.analytics.performance(tokyo.viewer, start=NOV_1, end=NOV_24)
    trend = report.trend
    assert [(d.isoformat(), p) for d, p in zip(trend["local_date"], trend["platform"], strict=True)] == [
        ("2026-11-01", "twitter"), ("2026-11-10", "linkedin"), ("2026-11-10", "twitter"), ("2026-11-20", "instagram")]
    slots = report.by_weekday_hour
    assert [(d, h, n) for d, h, n in zip(slots["day"], slots["hour"], slots["posts"], strict=True)] == [
        ("Tuesday", 9, 1), ("Friday", 18, 1), ("Sunday", 1, 1)]


def test_network_filter_recounts_posts_on_the_chosen_networks(herald, tokyo: Team) -> None:
    report = herald.analytics.performance(tokyo.viewer, start=NOV_1, end=NOV_24, platforms=["x"])
    assert report.platforms == ("twitter",)
    assert report.totals["posts"] == 2 and report.totals["engagement"] == 16
    first = report.posts.set_index("title").loc["text at 10 Nov 00:30"]
    assert (first["engagement"], first["views"], first["platform_count"]) == (15, 100, 1)  # linkedin left out


def test_empty_range_and_bad_input(herald, tokyo: Team) -> None:
    empty = herald.analytics.performance(tokyo.viewer, start=date(2025, 1, 1), end=date(2025, 1, 31))
    assert empty.is_empty and empty.totals["engagement"] == 0 and empty.by_network.empty
    with pytest.raises(ValidationFailed):
        herald.analytics.performance(tokyo.viewer, start=NOV_24, end=NOV_1)
    with pytest.raises(ValidationFailed):
        herald.analytics.performance(tokyo.viewer, start=NOV_1, end=NOV_24, platforms=["myspace"])


def test_default_range_is_the_last_30_local_days(herald, tokyo: Team) -> None:
    # NOW is Tuesday 24 Nov 2026 09:00 UTC = 18:00 in Tokyo.
    assert herald.analytics.default_range(tokyo.viewer) == (date(2026, 10, 26), date(2026, 11, 24))
