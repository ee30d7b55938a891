"""Snapchat (the Public Profile API), one module by concern: ``connector`` (``SnapchatConnector``:
publishing, staging, reconciliation, metrics and OAuth; its docstring tells how a post goes),
``endpoints`` (``SnapEndpoints``, every path), ``answers`` (Snap's errors as Herald's, and Snap's
lists), ``encryption`` (the media sealed with AES-256-CBC before upload) and ``content`` (the kind
of content a post makes, the media's name, the profile and the link). Everything the single
module ``core.platforms.snapchat`` offered is importable from here."""

from core.platforms.snapchat.answers import THROTTLE_DEFAULT_WAIT, snapchat_error, unwrap
from core.platforms.snapchat.connector import (
    ASSET_TYPES,
    DEFAULT_LOCALE,
    IMAGE_MAX_BYTES,
    MEDIA_STAGING_TTL,
    PART_MAX_BYTES,
    SCOPE,
    STAGED_GONE_CODES,
    STAT_FIELDS,
    STATS_BATCH,
    VIDEO_MAX_BYTES,
    SnapchatConnector,
)
from core.platforms.snapchat.content import (
    WEB,
    content_kind,
    content_url,
    media_name,
    plural,
    profile_id,
)
from core.platforms.snapchat.encryption import ENCRYPT_BLOCK_BYTES, SealedMedia, seal
from core.platforms.snapchat.endpoints import SnapEndpoints

__all__ = [
    "ASSET_TYPES",
    "DEFAULT_LOCALE",
    "ENCRYPT_BLOCK_BYTES",
    "IMAGE_MAX_BYTES",
    "MEDIA_STAGING_TTL",
    "PART_MAX_BYTES",
    "SCOPE",
    "STAGED_GONE_CODES",
    "STATS_BATCH",
    "STAT_FIELDS",
    "THROTTLE_DEFAULT_WAIT",
    "VIDEO_MAX_BYTES",
    "WEB",
    "SealedMedia",
    "SnapEndpoints",
    "SnapchatConnector",
    "content_kind",
    "content_url",
    "media_name",
    "plural",
    "profile_id",
    "seal",
    "snapchat_error",
    "unwrap",
]
