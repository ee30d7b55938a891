"""LinkedIn in the sandbox: ``LinkedInSandbox`` and every name of it importable from here.

``network`` holds ``LinkedInSandbox`` (routes, error bodies, limits, posts, organizations) and
the overview of what the sandbox simulates; ``oauth`` 3-legged OAuth; ``uploads`` a media
asset's upload; ``metrics`` socialActions, share statistics and member post analytics;
``little_text`` commentary as members see it; ``responses`` error bodies and timestamps.
"""

from core.platforms.sandbox.linkedin.little_text import RESERVED, render_little_text
from core.platforms.sandbox.linkedin.metrics import METRIC_TYPES
from core.platforms.sandbox.linkedin.network import (
    MIN_VERSION,
    PERSON_DEFAULT,
    POSTS_PER_DAY,
    UNUSED_ASSET_SECONDS,
    LinkedInSandbox,
)
from core.platforms.sandbox.linkedin.oauth import ACCESS_TTL, REFRESH_TTL
from core.platforms.sandbox.linkedin.responses import error, input_error, ms, oauth_error
from core.platforms.sandbox.linkedin.uploads import (
    ASSET_PREFIX,
    DOCUMENT_TYPES,
    FAILURE_REASON,
    UPLOAD_TTL,
    VIDEO_MAX_BYTES,
    VIDEO_PART_BYTES,
)

__all__ = [
    "ACCESS_TTL",
    "ASSET_PREFIX",
    "DOCUMENT_TYPES",
    "FAILURE_REASON",
    "METRIC_TYPES",
    "MIN_VERSION",
    "PERSON_DEFAULT",
    "POSTS_PER_DAY",
    "REFRESH_TTL",
    "RESERVED",
    "UNUSED_ASSET_SECONDS",
    "UPLOAD_TTL",
    "VIDEO_MAX_BYTES",
    "VIDEO_PART_BYTES",
    "LinkedInSandbox",
    "error",
    "input_error",
    "ms",
    "oauth_error",
    "render_little_text",
]
