"""Best-times page helpers: the cached read (24 h, as the seed says) and the heatmap figure."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import streamlit as st

from core.domain import best_time as bt
from core.domain.platforms import PLATFORM_LABELS, PLATFORMS
from core.services.best_times import BestTimes, BestTimeSlot
from core.services.context import Actor
from core.services.data_versions import DataVersions
from ui.context import herald_app
from ui.widgets import figure_once

BEST_TIMES_TTL_SECONDS = 24 * 3600
HEATMAP_HEIGHT_PX = 360
# The heatmap's job is the pattern across the week, so its colours span this grid's own range
# of scores. The seed's bands (red < 60 <= yellow < 80 <= green) colour the top-times list and
# the hover text: with most networks' engagement rates a grid sits inside one band, and the
# band colours alone painted it one flat red.
HEATMAP_SCALE = "YlGnBu"


AREAS = ("best_times", "settings")  # the stored grids, and the org's timezone


def load_best_times(actor: Actor, versions: DataVersions) -> dict[str, BestTimes]:
    """Every network's grid, cached per org until a recalculation (or a timezone change) from
    any process, or for the seed's 24 hours."""
    return _best_times(str(actor.org_id), versions.of(*AREAS), actor)


@st.cache_data(ttl=BEST_TIMES_TTL_SECONDS, max_entries=64, show_spinner=False)
def _best_times(org_id: str, version: tuple[int, ...], _actor: Actor) -> dict[str, BestTimes]:
    return herald_app().best_times.get_best_times_for(_actor, PLATFORMS)


def slot_label(slot: BestTimeSlot) -> str:
    """``"Tuesday 10:00 AM"``."""
    return f"{slot.day_label} {slot.time_label}"


def score_badge(score: float) -> str:
    """The score in its seed colour band, as inline HTML."""
    colour = bt.SCORE_COLOR_HEX[bt.score_color(score)]
    return (f"<span style='background:{colour};color:white;border-radius:0.4rem;"
            f"padding:0.1rem 0.5rem;font-weight:600'>{score:.0f}</span>")


def heatmap(times: BestTimes) -> go.Figure:
    """Weekday x hour of the org's timezone, coloured by score band; sample size on hover."""
    days = [bt.day_label(d) for d in bt.DAYS]
    hours = [bt.time_label(h) for h in range(24)]
    z, samples = [], []
    for day in bt.DAYS:
        row = [times.cell(day, h) for h in range(24)]
        z.append([s.engagement_score for s in row])
        samples.append([[s.sample_size, s.avg_engagement_rate, "typical pattern" if s.is_default else "your posts",
                         bt.score_color(s.engagement_score)] for s in row])
    low, high = score_range(z)
    figure = go.Figure(go.Heatmap(
        z=z, x=hours, y=days, customdata=samples, zmin=low, zmax=high, colorscale=HEATMAP_SCALE,
        xgap=1, ygap=1, colorbar={"title": "Score"},
        hovertemplate=("<b>%{y} %{x}</b><br>Score %{z:.0f} (%{customdata[3]} band)<br>%{customdata[0]} post(s) "
                       "in this hour<br>Engagement rate %{customdata[1]:.2f}%<br>Based on %{customdata[2]}"
                       "<extra></extra>"),
    ))
    figure.update_layout(
        title=f"{PLATFORM_LABELS.get(times.platform, times.platform)}: engagement score by hour ({times.timezone})",
        height=HEATMAP_HEIGHT_PX, margin={"l": 10, "r": 10, "t": 40, "b": 10},
        yaxis={"autorange": "reversed"}, xaxis={"tickangle": -45})
    return figure


def score_range(z: list[list[float]]) -> tuple[float, float]:
    """The colour axis: the grid's lowest to highest score, at least 5 points wide so a flat
    grid reads as flat rather than as noise."""
    values = [v for row in z for v in row]
    low, high = (min(values), max(values)) if values else (0.0, 100.0)
    if high - low < 5:
        middle = (high + low) / 2
        low, high = max(0.0, middle - 2.5), min(100.0, middle + 2.5)
    return low, high


def heatmap_figure(actor: Actor, versions: DataVersions, times: BestTimes) -> dict[str, Any]:
    """The heatmap, built once per org, network and calculation."""
    key = ("heatmap", str(actor.org_id), versions.of(*AREAS), times.platform)
    return figure_once(key, lambda: heatmap(times))
