"""YouTube's failures as Herald's errors: a Google error answer (``youtube_error``) and a video
that processing failed or rejected (``check_upload_status``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from core.errors import (
    AuthPlatformError,
    PermanentPlatformError,
    PlatformError,
    RetryablePlatformError,
)
from core.platforms.http import body_excerpt, error_body, mapping, what
from core.platforms.rate_limits import retry_after_header, youtube_retry_after

# Daily and per-channel limits wait for their reset; per-minute ones prefer Retry-After.
DAILY_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded", "uploadLimitExceeded"})
AUTH_REASONS = frozenset({"authError", "insufficientPermissions", "invalid_grant", "invalid_token"})


def youtube_error(platform: str, response: httpx.Response, now: datetime) -> PlatformError:
    """Classify a Google error: the API envelope ``{"error": {"code", "message", "errors":
    [{"domain", "reason", "message"}]}}`` or the OAuth one ``{"error", "error_description"}``."""
    status = response.status_code
    body = error_body(response)
    error = body.get("error")
    reasons: set[str] = set()
    if isinstance(error, Mapping):
        errors = [e for e in error.get("errors") or [] if isinstance(e, Mapping)]
        reasons = {str(e["reason"]) for e in errors if e.get("reason")}
        first_reason = errors[0].get("reason") if errors else None
        code = first_reason or error.get("status")
        message = str(error.get("message") or (errors[0].get("message") if errors else "")
                      or f"HTTP {status}")
    elif isinstance(error, str):
        reasons, code = {error}, error
        message = str(body.get("error_description") or error)
    else:
        excerpt = body_excerpt(response)
        code, message = None, f"HTTP {status} from {what(response)}" + (
            f": {excerpt[:200]}" if excerpt else "")
    kwargs: dict[str, Any] = {"status": status, "network_code": code or status,
                              "response_body": body_excerpt(response)}
    if status == 401 or reasons & AUTH_REASONS:
        return AuthPlatformError(platform, message, **kwargs)
    limit_reset = youtube_retry_after(status, body, now)
    if limit_reset is not None or status >= 500:
        header = retry_after_header(response.headers, now)
        retry_at = limit_reset if reasons & DAILY_REASONS else (header or limit_reset)
        return RetryablePlatformError(platform, message, retry_after=retry_at, **kwargs)
    return PermanentPlatformError(platform, message, **kwargs)


def check_upload_status(platform: str, video_id: str, video: Mapping[str, Any]) -> None:
    """Raise when the video resource's ``uploadStatus`` says it will never play: ``rejected``
    (among the reasons, ``duplicate``), ``failed`` or ``deleted``; all are permanent."""
    status, details = mapping(video.get("status")), mapping(video.get("processingDetails"))
    state = status.get("uploadStatus")
    if state == "rejected":
        reason = status.get("rejectionReason") or "unknown reason"
        raise PermanentPlatformError(
            platform, f"YouTube rejected video {video_id} while processing it "
            f"(rejectionReason: {reason})", network_code=reason)
    if state == "failed":
        reason = (status.get("failureReason") or details.get("processingFailureReason")
                  or "unknown reason")
        raise PermanentPlatformError(
            platform, f"YouTube could not process video {video_id} (failureReason: "
            f"{reason})", network_code=reason)
    if state == "deleted":
        raise PermanentPlatformError(platform, f"video {video_id} was deleted while "
                                     "YouTube processed it", network_code="deleted")
