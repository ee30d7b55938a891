"""Performance page helpers: the cached report, display tables and charts (presentation only)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core.domain.best_time import DAYS, day_label
from core.domain.platforms import PLATFORM_COLORS, PLATFORM_LABELS
from core.services.analytics import PerformanceReport
from core.services.context import Actor
from core.services.data_versions import DataVersions
from ui.context import herald_app
from ui.widgets import figure_once

PERFORMANCE_TTL_SECONDS = 15 * 60  # metrics sync hourly; a quarter of an hour stale is fine
TREND_METRICS = {"engagement": "Engagement", "views": "Views", "posts": "Posts", "engagement_rate": "Engagement rate (%)"}
# X and TikTok are both black in their brand colours; tell them apart on a chart.
CHART_COLORS = {PLATFORM_LABELS[p]: c for p, c in PLATFORM_COLORS.items()} | {"TikTok": "#25F4EE"}


AREAS = ("posts", "metrics", "settings")  # the posts, their results, the org's timezone


def load_report(actor: Actor, versions: DataVersions, start: date, end: date,
                platforms: tuple[str, ...]) -> PerformanceReport:
    return _report(str(actor.org_id), versions.of(*AREAS), start, end, platforms, actor)


def default_range(actor: Actor, versions: DataVersions) -> tuple[date, date]:
    """The last 30 local days; cached per hour, as "today" moves."""
    hour = herald_app().clock.now().strftime("%Y-%m-%d %H")
    return _default_range(str(actor.org_id), versions.of("settings"), hour, actor)


def chart(actor: Actor, versions: DataVersions, report: PerformanceReport, kind: str,
          metric: str = "") -> dict[str, Any]:
    """One of the page's figures ("by-network", "trend" of ``metric``, "weekday-hour"), built
    once per report."""
    builders: dict[str, Callable[[], go.Figure]] = {
        "by-network": lambda: network_chart(report), "trend": lambda: trend_chart(report, metric),
        "weekday-hour": lambda: weekday_hour_chart(report)}
    key = (kind, metric, str(actor.org_id), versions.of(*AREAS), report.start, report.end, report.platforms)
    return figure_once(key, builders[kind])


@st.cache_data(ttl=PERFORMANCE_TTL_SECONDS, max_entries=32, show_spinner="Reading performance…")
def _report(org_id: str, version: tuple[int, ...], start: date, end: date, platforms: tuple[str, ...],
            _actor: Actor) -> PerformanceReport:
    return herald_app().analytics.performance(_actor, start=start, end=end, platforms=platforms)


@st.cache_data(ttl=PERFORMANCE_TTL_SECONDS, max_entries=64, show_spinner=False)
def _default_range(org_id: str, version: tuple[int, ...], hour: str, _actor: Actor) -> tuple[date, date]:
    return herald_app().analytics.default_range(_actor)


def labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """Network keys as people read them."""
    if "platform" not in frame:
        return frame
    return frame.assign(platform=frame["platform"].map(lambda p: PLATFORM_LABELS.get(p, p)))


def local_text(frame: pd.DataFrame, column: str = "published_local") -> pd.DataFrame:
    """The local timestamp column as text carrying its zone (e.g. "2026-11-03 10:15 GMT")."""
    return frame.assign(**{column: frame[column].dt.strftime("%Y-%m-%d %H:%M %Z")})


def _bar(frame: pd.DataFrame, x: str, y: str, platform: str) -> go.Bar:
    label = PLATFORM_LABELS.get(platform, platform)
    return go.Bar(
        x=frame[x], y=frame[y], name=label, marker_color=CHART_COLORS.get(label),
        customdata=frame[["posts", "views", "engagement", "engagement_rate"]].to_numpy(),
        hovertemplate=(f"<b>{label}</b> %{{x}}<br>%{{customdata[0]}} post(s) · %{{customdata[1]:,}} views"
                       "<br>%{customdata[2]:,} engagement · %{customdata[3]:.2f}%<extra></extra>"))


def trend_chart(report: PerformanceReport, metric: str) -> go.Figure:
    """Per local day, one bar series per network (stacked, except rates)."""
    frame = report.trend
    figure = go.Figure([_bar(part, "local_date", metric, platform) for platform, part in frame.groupby("platform")])
    figure.update_layout(height=340, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                         barmode="group" if metric == "engagement_rate" else "stack",
                         xaxis_title=f"Day ({report.timezone})", yaxis_title=TREND_METRICS[metric],
                         legend_title="Network")
    return figure


def network_chart(report: PerformanceReport) -> go.Figure:
    frame = labelled(report.by_network)
    figure = go.Figure(go.Bar(
        x=frame["platform"], y=frame["engagement_rate"], text=frame["engagement_rate"],
        marker_color=[CHART_COLORS.get(p, "#4F46E5") for p in frame["platform"]],
        customdata=frame[["posts", "views", "engagement"]].to_numpy(),
        hovertemplate=("<b>%{x}</b><br>Engagement rate %{y:.2f}%<br>%{customdata[0]} post(s) · "
                       "%{customdata[1]:,} views · %{customdata[2]:,} engagement<extra></extra>")))
    figure.update_layout(height=300, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                         yaxis_title="Engagement rate (%)")
    return figure


def weekday_hour_chart(report: PerformanceReport) -> go.Figure:
    frame = report.by_weekday_hour
    rates = frame.pivot(index="weekday", columns="hour", values="engagement_rate").reindex(
        index=range(7), columns=range(24))
    posts = frame.pivot(index="weekday", columns="hour", values="posts").reindex(
        index=range(7), columns=range(24)).fillna(0)
    figure = go.Figure(go.Heatmap(
        z=rates.values, x=[f"{h:02d}:00" for h in range(24)], y=[day_label(d) for d in DAYS],
        customdata=posts.values, colorscale="Blues", xgap=1, ygap=1, hoverongaps=False,
        colorbar={"title": "Rate %"},
        hovertemplate="<b>%{y} %{x}</b><br>Engagement rate %{z:.2f}%<br>%{customdata:.0f} post(s)<extra></extra>"))
    figure.update_layout(height=320, yaxis={"autorange": "reversed"}, margin={"l": 10, "r": 10, "t": 10, "b": 10})
    return figure


def csv_of(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8")


def rows_for_csv(report: PerformanceReport) -> pd.DataFrame:
    """Every post x network row behind the page, times in the org's zone, networks by name."""
    return local_text(labelled(report.network_posts)).drop(columns=["published_at", "weekday"])


def posts_csv(report: PerformanceReport) -> Callable[[], bytes]:
    """The CSV of every row behind the page, written only when someone clicks download (for a
    year of posts it takes longer than the rest of the page)."""
    return lambda: csv_of(rows_for_csv(report))
