"""TikTok (Content Posting API): the connector and every name of it importable from here.

``connector`` holds ``TikTokConnector`` (publishing, reconciliation, metrics, OAuth) and the
overview of how TikTok publishes; ``envelope`` the answer envelope and its error classification;
``creator`` creator_info and the privacy choice; ``upload`` the ``FILE_UPLOAD`` chunked upload and
its staging ahead.
"""

from core.platforms.tiktok.connector import (
    FIND_MAX_PAGES,
    JSON,
    LIST_FIELDS,
    LIST_PAGE,
    PHOTO_OPTIONS,
    QUERY_BATCH,
    QUERY_FIELDS,
    VIDEO_OPTIONS,
    WEB,
    TikTokConnector,
    post_url,
)
from core.platforms.tiktok.creator import (
    CREATOR_KEYS,
    PREFERRED_PRIVACY,
    PRIVACY_LEVELS,
    PRIVACY_MISMATCH,
    choose_privacy,
)
from core.platforms.tiktok.envelope import AUTH_CODES, tiktok_error
from core.platforms.tiktok.upload import (
    STAGING_TTL,
    UPLOAD_GONE_STATUSES,
    UPLOAD_STAGE_AHEAD,
    VIDEO_MAX_BYTES,
    ChunkPolicy,
    MiB,
    StagedUpload,
)

__all__ = [
    "AUTH_CODES",
    "CREATOR_KEYS",
    "FIND_MAX_PAGES",
    "JSON",
    "LIST_FIELDS",
    "LIST_PAGE",
    "PHOTO_OPTIONS",
    "PREFERRED_PRIVACY",
    "PRIVACY_LEVELS",
    "PRIVACY_MISMATCH",
    "QUERY_BATCH",
    "QUERY_FIELDS",
    "STAGING_TTL",
    "UPLOAD_GONE_STATUSES",
    "UPLOAD_STAGE_AHEAD",
    "VIDEO_MAX_BYTES",
    "VIDEO_OPTIONS",
    "WEB",
    "ChunkPolicy",
    "MiB",
    "StagedUpload",
    "TikTokConnector",
    "choose_privacy",
    "post_url",
    "tiktok_error",
]
