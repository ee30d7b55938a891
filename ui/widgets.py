"""Small shared widgets and formatting."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from core.domain.platforms import PLATFORM_ICONS, PLATFORM_LABELS

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
