"""TikTok in the sandbox (the Content Posting API): ``TikTokSandbox`` and every name of the
former ``sandbox/tiktok.py`` importable from here.

``network`` holds ``TikTokSandbox`` and the overview of what the sandbox emulates; ``envelope``
the ``{data, error}`` answer; ``upload`` the ``FILE_UPLOAD`` chunk plan and chunks; ``reading``
``video/list``, ``video/query`` and ``user/info``; ``oauth`` Login Kit v2.
"""

from core.platforms.sandbox.tiktok.envelope import envelope, log_id
from core.platforms.sandbox.tiktok.network import (
    BUCKETS,
    DEFAULT_PRIVACY,
    OPEN_ID_DEFAULT,
    POSTS_PER_DAY,
    PRIVACY_LEVELS,
    TikTokSandbox,
)
from core.platforms.sandbox.tiktok.oauth import ACCESS_TTL, REFRESH_TTL
from core.platforms.sandbox.tiktok.reading import FIELDS
from core.platforms.sandbox.tiktok.upload import (
    MAX_CHUNK,
    MAX_CHUNKS,
    MIN_CHUNK,
    UPLOAD_TTL,
    VIDEO_MAX_BYTES,
    VIDEO_TYPES,
    MiB,
)

__all__ = [
    "ACCESS_TTL",
    "BUCKETS",
    "DEFAULT_PRIVACY",
    "FIELDS",
    "MAX_CHUNK",
    "MAX_CHUNKS",
    "MIN_CHUNK",
    "OPEN_ID_DEFAULT",
    "POSTS_PER_DAY",
    "PRIVACY_LEVELS",
    "REFRESH_TTL",
    "UPLOAD_TTL",
    "VIDEO_MAX_BYTES",
    "VIDEO_TYPES",
    "MiB",
    "TikTokSandbox",
    "envelope",
    "log_id",
]
