"""Publishing performance: pandas views over ``v_publishing_performance`` and ``platform_posts``.

One read per report, in one org-scoped unit of work: the seed's view gives one row per published
post (title, post type, totals over its networks); ``platform_posts`` gives the same numbers per
network, which the network filter, the per-network totals, the trend and the weekday/hour table
need. Everything is grouped in the org's timezone. Engagement rates of a group are the seed's
raw rate of the group (total engagement / total views x 100), never an average of averages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Integer, Numeric, String, Uuid, column, select, table

from core.db.models import Org, PlatformPost, ScheduledPost
from core.db.types import UTCDateTime
from core.domain import best_time as bt
from core.domain.platforms import PLATFORMS, normalize_platforms
from core.domain.timezones import local_date, local_range_bounds
from core.errors import NotFound, Problem, ValidationFailed
from core.services.base import Service, load_org
from core.services.context import Actor

DEFAULT_RANGE_DAYS = 30
MAX_RANGE_DAYS = 366 * 2
COUNTS = ("likes", "comments", "shares", "views", "engagement")
PUBLISHED_POST_STATUSES = ("published", "partially_published")

# The seed's view, typed for reading (not part of the ORM metadata: migrations create it).
V_PUBLISHING_PERFORMANCE = table(
    "v_publishing_performance",
    column("org_id", Uuid), column("post_id", Uuid), column("title", String),
    column("post_type", String), column("scheduled_at", UTCDateTime), column("published_at", UTCDateTime),
    column("status", String), column("platform_count", Integer), column("total_likes", Integer),
    column("total_comments", Integer), column("total_shares", Integer), column("total_views", Integer),
    column("total_engagement", Integer), column("avg_engagement_rate", Numeric(asdecimal=False)),
)
# The reads fetch a window's posts by (org_id, published_at) and their results by post id. With
# the default random_page_cost (4, disks that seek) PostgreSQL prefers to read every result of
# the org and hash-join, twice as slow on data that is cached (measured at 100,000 results: 60-75
# ms against 20-35 ms per query); set for the read's transaction only, as the queue's claim does.
WINDOW_PLANNER = {"random_page_cost": "1.1"}
POST_COLUMNS = ["post_id", "title", "post_type", "status", "published_at", "published_local", "networks",
                "platform_count", *COUNTS, "engagement_rate"]
NETWORK_COLUMNS = ["post_id", "platform", "title", "post_type", "published_at", "published_local",
                   "local_date", "weekday", "hour", *COUNTS, "engagement_rate", "post_url"]


def rate(engagement: pd.Series | float, views: pd.Series | float) -> Any:
    """The seed's engagement rate (engagement / views x 100, 2 decimals; 0 when unseen)."""
    if isinstance(views, pd.Series):
        return (engagement / views.where(views > 0) * 100).fillna(0.0).round(2)
    return round(float(engagement) / float(views) * 100, 2) if views else 0.0


def _summarise(frame: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    grouped = frame.groupby(by, sort=False)
    out = grouped["post_id"].nunique().rename("posts").to_frame().join(grouped[list(COUNTS)].sum())
    out["engagement_rate"] = rate(out["engagement"], out["views"])
    return out.reset_index()


@dataclass(frozen=True)
class PerformanceReport:
    """What the performance page shows, for one org, date range and set of networks.

    The summaries are computed once, when the report is built, so a cached report renders
    without any further pandas work."""

    start: date
    end: date  # inclusive
    timezone: str
    platforms: tuple[str, ...]
    posts: pd.DataFrame  # one row per post (the view's columns; totals over the chosen networks)
    network_posts: pd.DataFrame  # one row per post x network
    totals: dict[str, Any]
    by_network: pd.DataFrame  # per network, most engagement first
    trend: pd.DataFrame  # per local day x network; days without posts are left out (not zeros)
    by_post_type: pd.DataFrame  # best engagement rate first
    by_weekday_hour: pd.DataFrame  # per local weekday x hour of publication (slots with posts)

    @classmethod
    def build(cls, start: date, end: date, timezone: str, platforms: tuple[str, ...], posts: pd.DataFrame,
              network: pd.DataFrame) -> PerformanceReport:
        sums = {c: int(network[c].sum()) for c in COUNTS}
        totals = {"posts": len(posts), "network_posts": len(network), **sums,
                  "engagement_rate": rate(sums["engagement"], sums["views"])}
        hours = _summarise(network, ["weekday", "hour"]).sort_values(["weekday", "hour"], ignore_index=True)
        hours["day"] = hours["weekday"].map(lambda d: bt.day_label(bt.DAYS[d]))
        return cls(
            start, end, timezone, platforms, posts, network, totals,
            by_network=_summarise(network, ["platform"]).sort_values("engagement", ascending=False,
                                                                     ignore_index=True),
            trend=_summarise(network, ["local_date", "platform"]).sort_values(["local_date", "platform"],
                                                                              ignore_index=True),
            by_post_type=_summarise(posts, ["post_type"]).sort_values("engagement_rate", ascending=False,
                                                                      ignore_index=True),
            by_weekday_hour=hours,
        )

    @property
    def is_empty(self) -> bool:
        return self.posts.empty

    def top_posts(self, limit: int = 10, by: str = "engagement") -> pd.DataFrame:
        return self.posts.sort_values([by, "views"], ascending=False).head(limit).reset_index(drop=True)


class AnalyticsService(Service):
    def default_range(self, actor: Actor, days: int = DEFAULT_RANGE_DAYS) -> tuple[date, date]:
        """The last ``days`` local days, today included, in the org's timezone."""
        with self.uow(actor, readonly=True) as uow:
            tz = load_org(uow.session, actor.org_id).timezone
        today = local_date(self.now(), tz)
        return today - timedelta(days=days - 1), today

    def performance(self, actor: Actor, *, start: date, end: date,
                    platforms: list[str] | tuple[str, ...] | None = None) -> PerformanceReport:
        """Posts published on local days ``start``..``end`` (inclusive), on ``platforms``
        (all networks when None or empty)."""
        actor.require("read")
        chosen = normalize_platforms(platforms) if platforms else PLATFORMS
        if (end - start).days >= MAX_RANGE_DAYS:
            raise ValidationFailed([Problem(field="end_date", code="range_too_long", limit=MAX_RANGE_DAYS,
                                            actual=(end - start).days + 1,
                                            message=f"Pick at most {MAX_RANGE_DAYS} days")])
        filtered = set(chosen) != set(PLATFORMS)
        with self.db.transaction(actor.org_id, readonly=True, settings=WINDOW_PLANNER) as conn:
            tz = conn.execute(select(Org.timezone).where(Org.org_id == actor.org_id)).scalar()
            if tz is None:
                raise NotFound("org", actor.org_id)
            lo, hi = local_range_bounds(start, end, tz)
            v = V_PUBLISHING_PERFORMANCE.c
            view_rows = conn.execute(
                select(v.post_id, v.title, v.post_type, v.status, v.published_at, v.platform_count,
                       v.total_likes, v.total_comments, v.total_shares, v.total_views, v.total_engagement)
                .where(v.org_id == actor.org_id, v.published_at >= lo, v.published_at < hi)).all()
            net_rows = conn.execute(_network_rows(actor, lo, hi, chosen if filtered else None)).all()
        view = _view_frame(view_rows, tz)
        network = _network_frame(net_rows, view, tz)
        posts = _posts_frame(view, network, filtered=filtered)
        return PerformanceReport.build(start, end, tz, tuple(chosen), posts, network)


def _network_rows(actor: Actor, lo: datetime, hi: datetime, platforms: Sequence[str] | None) -> Any:
    """Each published network result of the org's posts published in [lo, hi). The window is on
    the post (index (org_id, published_at)) and its results are found by post id. The org is
    named on the post only: a result belongs to its post's org, and any condition on the
    result's org_id invites both planners to walk that org's every result instead (measured
    at 100,000 results: minutes on SQLite, 2 s on PostgreSQL without statistics)."""
    pp, sp = PlatformPost, ScheduledPost
    query = (select(pp.scheduled_post_id, pp.platform, pp.published_at, pp.likes, pp.comments, pp.shares,
                    pp.views, pp.engagement, pp.post_url)
             .join(sp, sp.post_id == pp.scheduled_post_id)
             .where(sp.org_id == actor.org_id, sp.status.in_(PUBLISHED_POST_STATUSES),
                    sp.published_at >= lo, sp.published_at < hi, pp.status == "published"))
    return query.where(pp.platform.in_(platforms)) if platforms is not None else query


def _utc(series: pd.Series) -> pd.Series:
    """Aware datetimes from the database as a datetime64 UTC column (``cache=False``: the cache's
    uniqueness probe walks the values one by one and costs more than it saves here)."""
    return pd.to_datetime(series, utc=True, cache=False)


def _view_frame(rows: Sequence[Any], tz: str) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["post_id", "title", "post_type", "status", "published_at",
                                        "platform_count", "likes", "comments", "shares", "views", "engagement"])
    frame["post_id"] = frame["post_id"].astype(str)
    frame["title"] = frame["title"].fillna("(untitled)")
    frame["published_at"] = _utc(frame["published_at"])
    frame["published_local"] = frame["published_at"].dt.tz_convert(tz)
    for c in COUNTS:
        frame[c] = frame[c].fillna(0).astype("int64")
    return frame


def _network_frame(rows: Sequence[Any], view: pd.DataFrame, tz: str) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["post_id", "platform", "published_at", "likes", "comments", "shares",
                                        "views", "engagement", "post_url"])
    frame["post_id"] = frame["post_id"].astype(str)
    frame = frame.merge(view[["post_id", "title", "post_type", "published_at"]], on="post_id", how="inner",
                        suffixes=("", "_post"))
    # A network's own publication time; the post's when the network row has none.
    frame["published_at"] = _utc(frame["published_at"]).fillna(frame["published_at_post"])
    local = frame["published_at"].dt.tz_convert(tz)
    frame["published_local"] = local
    frame["local_date"] = local.dt.date
    frame["weekday"] = local.dt.weekday.astype("int64")
    frame["hour"] = local.dt.hour.astype("int64")
    for c in COUNTS:
        frame[c] = frame[c].fillna(0).astype("int64")
    frame["engagement_rate"] = rate(frame["engagement"], frame["views"])
    return frame[NETWORK_COLUMNS].sort_values(["published_at", "platform"], ignore_index=True)


def _network_names(network: pd.DataFrame) -> pd.DataFrame:
    """post_id -> "facebook, twitter" (its networks in name order), without a Python call per post:
    one vectorised column per network, since there are only seven."""
    pairs = network[["post_id", "platform"]].drop_duplicates().assign(on=True)
    present = pairs.pivot(index="post_id", columns="platform", values="on").notna()
    names = pd.Series("", index=present.index, dtype=object)
    for platform in sorted(present.columns):
        names = names + present[platform].map({True: platform + ", ", False: ""})
    return names.str[:-2].rename("networks").rename_axis("post_id").reset_index()


def _posts_frame(view: pd.DataFrame, network: pd.DataFrame, *, filtered: bool) -> pd.DataFrame:
    names = _network_names(network)
    if filtered:
        # Totals over the chosen networks only; posts with none of them drop out.
        sums = network.groupby("post_id", as_index=False).agg(
            platform_count=("platform", "count"), **{c: (c, "sum") for c in COUNTS})
        frame = view.drop(columns=["platform_count", *COUNTS]).merge(sums, on="post_id", how="inner")
    else:
        frame = view
    frame = frame.merge(names, on="post_id", how="left")
    frame["networks"] = frame["networks"].fillna("")
    frame["engagement_rate"] = rate(frame["engagement"], frame["views"])
    return frame[POST_COLUMNS].sort_values("published_at", ascending=False, ignore_index=True)
