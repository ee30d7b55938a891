"""X (API v2) in the sandbox: ``TwitterSandbox`` and every name of the former
``sandbox/twitter.py`` importable from here.

``network`` holds ``TwitterSandbox`` (routes, limits, users, tweets) and how X counts and shows
text; ``problems`` the problem-details error bodies; ``media_upload`` the simple and chunked media
upload and its processing; ``oauth`` OAuth 2.0 with PKCE.
"""

from core.platforms.sandbox.twitter.media_upload import MEDIA_LIMITS, MEDIA_TTL
from core.platforms.sandbox.twitter.network import (
    BUCKETS,
    TOO_LONG,
    TWITTER_EPOCH_MS,
    USER_24H_DEFAULT,
    USER_ID_BASE,
    TwitterSandbox,
    displayed_text,
    iso,
    weighted_length,
)
from core.platforms.sandbox.twitter.oauth import ACCESS_TTL
from core.platforms.sandbox.twitter.problems import invalid_request, problem

__all__ = [
    "ACCESS_TTL",
    "BUCKETS",
    "MEDIA_LIMITS",
    "MEDIA_TTL",
    "TOO_LONG",
    "TWITTER_EPOCH_MS",
    "USER_24H_DEFAULT",
    "USER_ID_BASE",
    "TwitterSandbox",
    "displayed_text",
    "invalid_request",
    "iso",
    "problem",
    "weighted_length",
]
