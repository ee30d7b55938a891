"""Google's answers as the YouTube sandbox writes them: the error envelope (``google_error``,
``fail`` to raise it, ``oauth_error``) with YouTube's messages per reason, and the
resources' timestamps (``iso``) and ETags (``etag``)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from core.platforms.sandbox.base import Reply, json_response

STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
MESSAGES = {
    "invalidTitle": "The request metadata specifies an invalid or empty video title.",
    "invalidDescription": "The request metadata specifies an invalid video description.",
    "invalidTags": "The request metadata specifies invalid video keywords.",
    "invalidCategoryId": "The snippet.categoryId property specifies an invalid category ID. Use "
                         "the videoCategories.list method to retrieve supported categories.",
    "invalidPublishAt": "The request metadata specifies an invalid scheduled publishing time.",
    "invalidVideoMetadata": "The request metadata is invalid.",
    "uploadLimitExceeded": "The user has exceeded the number of videos they may upload.",
    "quotaExceeded": 'The request cannot be completed because you have exceeded your <a '
                     'href="/youtube/v3/getting-started#quota">quota</a>.',
    "rateLimitExceeded": "Resource has been exhausted (e.g. check quota).",
    "userRateLimitExceeded": "The request cannot be completed because you have exceeded your "
                             "per-user rate limit.",
}


def google_error(status: int, reason: str, message: str | None = None, *,
                 domain: str = "youtube.video", headers: Mapping[str, str] | None = None,
                 **extra: str) -> httpx.Response:
    message = message or MESSAGES.get(reason, reason)
    detail = {"message": message, "domain": domain, "reason": reason, **extra}
    body = {"error": {"code": status, "message": message, "errors": [detail],
                      "status": STATUS_NAMES.get(status, "UNKNOWN")}}
    return json_response(status, body, headers)


def fail(status: int, reason: str, message: str | None = None, **kwargs: Any) -> Reply:
    return Reply(google_error(status, reason, message, **kwargs))


def oauth_error(status: int, error: str, description: str) -> Reply:
    return Reply(json_response(status, {"error": error, "error_description": description}))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def etag(seed: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(seed.encode()).digest())[:27].decode()
