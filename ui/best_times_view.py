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
# Stepped colour scale on 0-100: the seed's bands (red < 60 <= yellow < 80 <= green).
_RED, _YELLOW, _GREEN = (bt.SCORE_COLOR_HEX[c] for c in ("red", "yellow", "green"))
BAND_SCALE = [[0.0, _RED], [bt.YELLOW_SCORE / 100, _RED], [bt.YELLOW_SCORE / 100, _YELLOW],
              [bt.GREEN_SCORE / 100, _YELLOW], [bt.GREEN_SCORE / 100, _GREEN], [1.0, _GREEN]]


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
        samples.append([[s.sample_size, s.avg_engagement_rate, "typical pattern" if s.is_default else "your posts"]
                        for s in row])
    figure = go.Figure(go.Heatmap(
        z=z, x=hours, y=days, customdata=samples, zmin=0, zmax=100, colorscale=BAND_SCALE,
        xgap=1, ygap=1, colorbar={"title": "Score", "tickvals": [0, 60, 80, 100]},
        hovertemplate=("<b>%{y} %{x}</b><br>Score %{z:.0f}<br>%{customdata[0]} post(s) in this hour"
                       "<br>Engagement rate %{customdata[1]:.2f}%<br>Based on %{customdata[2]}<extra></extra>"),
    ))
    figure.update_layout(
        title=f"{PLATFORM_LABELS.get(times.platform, times.platform)}: engagement score by hour ({times.timezone})",
        height=HEATMAP_HEIGHT_PX, margin={"l": 10, "r": 10, "t": 40, "b": 10},
        yaxis={"autorange": "reversed"}, xaxis={"tickangle": -45})
    return figure


def heatmap_figure(actor: Actor, versions: DataVersions, times: BestTimes) -> dict[str, Any]:
    """The heatmap, built once per org, network and calculation."""
    key = ("heatmap", str(actor.org_id), versions.of(*AREAS), times.platform)
    return figure_once(key, lambda: heatmap(times))
