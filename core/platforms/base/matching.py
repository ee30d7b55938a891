"""Matching a post whose outcome is unknown (``Connector.find_existing``): text compared as
networks echo it back, and the time window a lost post would have been created in.
"""

from __future__ import annotations

import html
import re
import unicodedata
from datetime import datetime, timedelta

from core.platforms.base.data import PublishRequest

# --- matching posts whose outcome is unknown ------------------------------------------------

FIND_WINDOW_BEFORE = timedelta(minutes=30)
"""How far before the scheduled time ``find_existing`` looks (clock skew, early workers)."""
FIND_WINDOW_UNSCHEDULED = timedelta(hours=24)

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)


def comparable_text(text: str | None) -> str:
    """Text as networks echo it back, made comparable: HTML entities decoded (X returns
    ``&amp;``), every URL replaced by a placeholder (X rewrites them to t.co), whitespace
    collapsed, NFC, case folded."""
    value = html.unescape(text or "")
    value = _URL.sub("<url>", value)
    value = unicodedata.normalize("NFC", value)
    return " ".join(value.split()).casefold()


def same_text(published: str | None, requested: str | None) -> bool:
    return comparable_text(published) == comparable_text(requested)


def search_since(request: PublishRequest, now: datetime) -> datetime:
    """Start of the window in which a lost post would have been created."""
    if request.scheduled_at is not None:
        return min(request.scheduled_at, now) - FIND_WINDOW_BEFORE
    return now - FIND_WINDOW_UNSCHEDULED

