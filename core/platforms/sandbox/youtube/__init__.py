"""YouTube Data API v3 in the sandbox: ``YouTubeSandbox`` and every name of it importable from
here.

``network`` holds ``YouTubeSandbox`` (routes, error bodies, quota, channels, videos as the
Data API shows and lists them) and the overview of what the sandbox simulates; ``oauth`` Google
OAuth; ``upload`` the resumable upload and its metadata checks; ``analytics`` YouTube
Analytics reports; ``responses`` Google's error envelope, timestamps and ETags.
"""

from core.platforms.sandbox.youtube.analytics import ANALYTICS_METRICS
from core.platforms.sandbox.youtube.network import (
    CHUNK_GRANULARITY,
    DEFAULTS,
    SESSION_SECONDS,
    YouTubeSandbox,
)
from core.platforms.sandbox.youtube.oauth import ACCESS_TTL
from core.platforms.sandbox.youtube.responses import (
    MESSAGES,
    STATUS_NAMES,
    etag,
    fail,
    google_error,
    iso,
    oauth_error,
)
from core.platforms.sandbox.youtube.upload import (
    CATEGORIES,
    PRIVACY,
    TAGS_MAX_CHARS,
    VIDEO_MAX_BYTES,
    tags_length,
)

__all__ = [
    "ACCESS_TTL",
    "ANALYTICS_METRICS",
    "CATEGORIES",
    "CHUNK_GRANULARITY",
    "DEFAULTS",
    "MESSAGES",
    "PRIVACY",
    "SESSION_SECONDS",
    "STATUS_NAMES",
    "TAGS_MAX_CHARS",
    "VIDEO_MAX_BYTES",
    "YouTubeSandbox",
    "etag",
    "fail",
    "google_error",
    "iso",
    "oauth_error",
    "tags_length",
]
