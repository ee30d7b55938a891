"""Small shared widgets and formatting."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import plotly.graph_objects as go
import streamlit as st

from core.domain.platforms import PLATFORM_ICONS, PLATFORM_LABELS

FIGURE_TTL_SECONDS = 24 * 3600
FIGURE_CACHE_ENTRIES = 128

# Streamlit's named colours for the post statuses (for :color[text] badges).
STATUS_COLORS = {
    "draft": "gray", "scheduled": "blue", "publishing": "orange", "published": "green",
    "partially_published": "orange", "failed": "red", "cancelled": "gray",
}


def platform_label(platform: str) -> str:
    return f"{PLATFORM_ICONS.get(platform, '')} {PLATFORM_LABELS.get(platform, platform)}".strip()


def local_time(value: datetime | None, tz: str, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    """A UTC instant as the org reads it, always with its zone."""
    if value is None:
        return "—"
    local = value.astimezone(ZoneInfo(tz))
    return f"{local.strftime(fmt)} {local.tzname()}"


def status_badge(status: str) -> str:
    return f":{STATUS_COLORS.get(status, 'gray')}[{status.replace('_', ' ')}]"


@st.cache_data(ttl=FIGURE_TTL_SECONDS, max_entries=FIGURE_CACHE_ENTRIES, show_spinner=False)
def figure_once(key: tuple[Hashable, ...], _build: Callable[[], go.Figure]) -> dict[str, Any]:
    """A plotly figure as the dict ``st.plotly_chart`` takes, built once per ``key``. The key must
    name the data set completely (chart, org, data versions, inputs): building a figure validates
    every property and costs more than the page's other work on a warm run."""
    return _build().to_dict()
