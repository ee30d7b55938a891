"""LinkedIn's error answers as Herald's errors (``linkedin_error``), and which refusal of a post
means its staged media is gone (``_refuses_staged_media``)."""

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
from core.platforms.rate_limits import linkedin_retry_after, retry_after_header

RETRYABLE_MESSAGES = ("unable to obtain activity", "service unavailable")  # postiz retries these
STAGED_GONE_STATUSES = (400, 404, 410, 422)


def linkedin_error(platform: str, response: httpx.Response, now: datetime) -> PlatformError:
    """Classify a LinkedIn error: Rest.li ``{status, serviceErrorCode, code, message}`` (with
    ``errorDetails.inputErrors`` on 422) or OAuth ``{error, error_description}``."""
    status = response.status_code
    body = error_body(response)
    message = str(body.get("message") or body.get("error_description") or body.get("error")
                  or f"HTTP {status} from {what(response)}")
    inputs = mapping(body.get("errorDetails")).get("inputErrors")
    inputs = inputs if isinstance(inputs, list) else []
    input_codes = [str(e.get("code")) for e in inputs if isinstance(e, Mapping)]
    kwargs: dict[str, Any] = {
        "status": status, "response_body": body_excerpt(response),
        "network_code": body.get("serviceErrorCode") or body.get("code") or body.get("error")
        or (input_codes[0] if input_codes else status)}
    if status == 429:
        retry_at = retry_after_header(response.headers, now) or linkedin_retry_after(status, now)
        return RetryablePlatformError(platform, message, retry_after=retry_at, **kwargs)
    if status == 401:
        return AuthPlatformError(platform, message, **kwargs)
    if "DUPLICATE_POST" in input_codes or (status == 422 and "duplicate" in message.lower()):
        kwargs["network_code"] = "DUPLICATE_POST"
        return PermanentPlatformError(platform, message, **kwargs)
    if status >= 500 or any(m in message.lower() for m in RETRYABLE_MESSAGES):
        return RetryablePlatformError(platform, message, retry_after=retry_after_header(
            response.headers, now), **kwargs)
    return PermanentPlatformError(platform, message, **kwargs)


def _staged_urns(content: Mapping[str, Any]) -> list[str]:
    """The media URNs in a post's ``content``."""
    media = [mapping(content.get("media"))]
    images = mapping(content.get("multiImage")).get("images")
    media += [mapping(image) for image in images] if isinstance(images, list) else []
    return [str(m["id"]) for m in media if m.get("id")]


def _refuses_staged_media(exc: PermanentPlatformError, content: Mapping[str, Any]) -> bool:
    """Whether LinkedIn refused the post because of its staged media. Its answer for an asset it
    dropped is undocumented: a validation refusal naming a staged URN or a ``/content`` field."""
    if exc.status not in STAGED_GONE_STATUSES or exc.network_code == "DUPLICATE_POST":
        return False
    said = f"{exc.network_message} {exc.response_body or ''}"
    return "/content" in said or any(urn in said for urn in _staged_urns(content))
