"""YouTube (Data API v3), one module by concern: ``connector`` (``YouTubeConnector``:
publishing, staging, processing, reconciliation, metrics and OAuth; its docstring tells how an
upload goes), ``upload`` (the resumable upload session), ``errors`` (Google errors, and videos
that processing failed or rejected, as Herald's errors) and ``metadata`` (title, snippet and
status, Shorts, URLs). Everything the single module ``core.platforms.youtube`` offered is
importable from here."""

from core.platforms.youtube.connector import (
    ANALYTICS_HOST,
    ANALYTICS_SCOPE,
    ANALYTICS_START_DATE,
    FIND_PAGES,
    LOOKUP_BATCH,
    READONLY_SCOPE,
    TOKEN_HOST,
    UPLOAD_SCOPE,
    VIDEO_MAX_BYTES,
    YouTubeConnector,
)
from core.platforms.youtube.errors import AUTH_REASONS, DAILY_REASONS, youtube_error
from core.platforms.youtube.metadata import (
    DEFAULT_CATEGORY_ID,
    SHORTS_MAX_SECONDS,
    WEB,
    is_short,
    video_metadata,
    video_title,
    video_url,
)
from core.platforms.youtube.upload import (
    CHUNK_GRANULARITY_BYTES,
    DEFAULT_CHUNK_BYTES,
    MAX_RESUME_WAIT_SECONDS,
    MAX_UPLOAD_TROUBLES,
    SESSION_STAGING_TTL,
)

__all__ = [
    "ANALYTICS_HOST",
    "ANALYTICS_SCOPE",
    "ANALYTICS_START_DATE",
    "AUTH_REASONS",
    "CHUNK_GRANULARITY_BYTES",
    "DAILY_REASONS",
    "DEFAULT_CATEGORY_ID",
    "DEFAULT_CHUNK_BYTES",
    "FIND_PAGES",
    "LOOKUP_BATCH",
    "MAX_RESUME_WAIT_SECONDS",
    "MAX_UPLOAD_TROUBLES",
    "READONLY_SCOPE",
    "SESSION_STAGING_TTL",
    "SHORTS_MAX_SECONDS",
    "TOKEN_HOST",
    "UPLOAD_SCOPE",
    "VIDEO_MAX_BYTES",
    "WEB",
    "YouTubeConnector",
    "is_short",
    "video_metadata",
    "video_title",
    "video_url",
    "youtube_error",
]
