"""TikTok's answer envelope, ``{"data": ..., "error": {"code", "message", "log_id"}}``: the data
it carries (and the fields a step cannot do without), and its error classified as a Herald
``PlatformError``."""

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
from core.platforms.http import body_excerpt, error_body, what
from core.platforms.rate_limits import retry_after_header, tiktok_retry_after

AUTH_CODES = frozenset({"access_token_invalid", "scope_not_authorized", "scope_permission_missed"})


def tiktok_error(platform: str, response: httpx.Response, now: datetime) -> PlatformError:
    """Classify a TikTok error: the ``{data, error: {code, message, log_id}}`` envelope, or
    the OAuth endpoints' ``{error, error_description, log_id}``."""
    status = response.status_code
    body = error_body(response)
    error = body.get("error")
    if isinstance(error, Mapping):
        code, message = error.get("code"), error.get("message")
    else:
        code, message = error, body.get("error_description")
    code = str(code) if code else None
    text = str(message or code or f"HTTP {status} from {what(response)}")
    kwargs: dict[str, Any] = {"status": status, "network_code": code or status,
                              "response_body": body_excerpt(response)}
    if status == 429 or code == "rate_limit_exceeded":
        retry_at = retry_after_header(response.headers, now) or tiktok_retry_after(status, body, now)
        return RetryablePlatformError(platform, text, retry_after=retry_at, **kwargs)
    if status == 401 or code in AUTH_CODES:
        return AuthPlatformError(platform, text, **kwargs)
    if status >= 500 or code == "internal_error":
        return RetryablePlatformError(platform, text, retry_after=retry_after_header(
            response.headers, now), **kwargs)
    return PermanentPlatformError(platform, text, **kwargs)  # spam_risk_*, invalid_params, ...


def data_of(body: Mapping[str, Any]) -> Mapping[str, Any]:
    data = body.get("data")
    return data if isinstance(data, Mapping) else {}


def required(platform: str, body: Mapping[str, Any], key: str, what_for: str) -> Any:
    value = data_of(body).get(key)
    if value in (None, "", []):
        raise PermanentPlatformError(platform, f"answered {what_for} without data.{key}",
                                     response_body=str(body)[:2000])
    return value
