"""Reading Snap's answers: an error answer as Herald's error (``snapchat_error``) and the items of
a Snap list, plain or wrapped (``unwrap``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx

from core.errors import (
    AuthPlatformError,
    PermanentPlatformError,
    PlatformError,
    RetryablePlatformError,
)
from core.platforms.http import body_excerpt, error_body, what
from core.platforms.rate_limits import retry_after_header

THROTTLE_DEFAULT_WAIT = timedelta(seconds=60)  # a 429 without Retry-After


def snapchat_error(platform: str, response: httpx.Response, now: datetime) -> PlatformError:
    """Classify a Snap answer: ``{"request_status": "ERROR", "debug_message", "display_message",
    "error_code"}`` or OAuth's ``{"error", "error_description"}``."""
    status = response.status_code
    body = error_body(response)
    if isinstance(body.get("error"), str):
        code: Any = body["error"]
        message = str(body.get("error_description") or code)
    else:
        code = body.get("error_code") or status
        excerpt = body_excerpt(response)
        message = str(body.get("debug_message") or body.get("display_message")
                      or body.get("message") or f"HTTP {status} from {what(response)}"
                      + (f": {excerpt[:200]}" if excerpt and not body else ""))
    kwargs: dict[str, Any] = {"status": status, "network_code": code,
                              "response_body": body_excerpt(response)}
    if status == 401:
        return AuthPlatformError(platform, message, **kwargs)
    if status == 429:
        retry_at = retry_after_header(response.headers, now) or now + THROTTLE_DEFAULT_WAIT
        return RetryablePlatformError(platform, message, retry_after=retry_at, **kwargs)
    if status >= 500:
        return RetryablePlatformError(platform, message,
                                      retry_after=retry_after_header(response.headers, now), **kwargs)
    return PermanentPlatformError(platform, message, **kwargs)


def unwrap(body: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    """Items of a Snap list, plain or wrapped as ``{"sub_request_status", "<singular>": {...}}``."""
    items: list[dict[str, Any]] = []
    for entry in body.get(key) or []:
        if not isinstance(entry, Mapping):
            continue
        inner = [v for k, v in entry.items() if k != "sub_request_status" and isinstance(v, Mapping)]
        items.append(dict(inner[0]) if len(entry) == 2 and "sub_request_status" in entry and inner
                     else dict(entry))
    return items
