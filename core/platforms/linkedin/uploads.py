"""Media uploads, made before the post names them: images and documents with
``initializeUpload`` and one ``PUT``; videos with ``initializeUpload`` (the size), one ``PUT`` per
upload instruction collecting each ``ETag``, then ``finalizeUpload``; each polled until
``AVAILABLE``. Functions of the connector, whose ``rest`` calls they make."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from core.errors import PermanentPlatformError
from core.platforms.linkedin.errors import linkedin_error
from core.platforms.linkedin.urns import _urn
from core.platforms.media import FetchedMedia, fetch_media

if TYPE_CHECKING:
    from core.platforms.linkedin import LinkedInConnector

log = logging.getLogger("herald.platforms.linkedin")

# Third-party figures (PLATFORMS.md marks them unconfirmed); LinkedIn enforces its own.
IMAGE_MAX_BYTES = 20 * 1024**2
VIDEO_MAX_BYTES = 500 * 1024**2
DOCUMENT_MAX_BYTES = 100 * 1024**2
ASSET_GRACE_SECONDS = 10.0  # member tokens may not read image/document status: wait this instead


def _value(li: LinkedInConnector, body: Mapping[str, Any], key: str, what_for: str) -> Any:
    value = body.get("value")
    found = value.get(key) if isinstance(value, Mapping) else None
    if found in (None, ""):
        raise PermanentPlatformError(li.platform, f"answered {what_for} without value.{key}",
                                     response_body=str(body)[:2000])
    return found


def upload_single(li: LinkedInConnector, endpoint: str, url: str, kind: str, author: str,
                  token: str) -> str:
    """Images and documents: initializeUpload, one PUT of the whole file, poll."""
    limits = {"image": IMAGE_MAX_BYTES, "document": DOCUMENT_MAX_BYTES}
    allowed = {"image", "gif"} if kind == "image" else {"document"}
    with fetch_media(url, max_bytes=limits[kind], allowed_kinds=allowed,
                     allow_hosts=li.config.media_allow_hosts, client=li.http.client,
                     platform=li.platform) as media:
        body = li.rest_json("POST", f"{endpoint}?action=initializeUpload", token=token,
                            json={"initializeUploadRequest": {"owner": author}})
        upload_url = str(_value(li, body, "uploadUrl", f"{endpoint} initializeUpload"))
        urn = str(_value(li, body, kind, f"{endpoint} initializeUpload"))
        content_type = media.content_type
        if kind == "document" and content_type == "application/octet-stream":
            content_type = "application/pdf"  # storage buckets often say octet-stream
        response = li.http.send("PUT", upload_url, token=token, content=media.read(),
                                headers={"Content-Type": content_type})
    if response.status_code >= 400:
        raise linkedin_error(li.platform, response, li.now())
    await_asset(li, endpoint, urn, kind, token)
    return urn


def upload_video(li: LinkedInConnector, url: str, author: str, token: str) -> str:
    """initializeUpload with the size, one PUT per instruction (collecting ETags),
    finalizeUpload with the ETags in order, poll."""
    with fetch_media(url, max_bytes=VIDEO_MAX_BYTES, allowed_kinds={"video"},
                     allow_hosts=li.config.media_allow_hosts, client=li.http.client,
                     platform=li.platform) as media:
        body = li.rest_json("POST", "videos?action=initializeUpload", token=token, json={
            "initializeUploadRequest": {"owner": author, "fileSizeBytes": media.size,
                                        "uploadCaptions": False, "uploadThumbnail": False}})
        video = str(_value(li, body, "video", "videos initializeUpload"))
        instructions = _value(li, body, "uploadInstructions", "videos initializeUpload")
        etags = [_put_part(li, media, part, token) for part in instructions]
        upload_token = body["value"].get("uploadToken") or ""
    li.rest("POST", "videos?action=finalizeUpload", token=token, json={
        "finalizeUploadRequest": {"video": video, "uploadToken": upload_token,
                                  "uploadedPartIds": etags}})
    await_asset(li, "videos", video, "video", token)
    return video


def _put_part(li: LinkedInConnector, media: FetchedMedia, part: Any, token: str) -> str:
    try:
        first, last = int(part["firstByte"]), int(part["lastByte"])
        upload_url = str(part["uploadUrl"])
    except (TypeError, KeyError, ValueError):
        raise PermanentPlatformError(li.platform, f"answered an upload instruction Herald "
                                     f"cannot follow: {str(part)[:200]}") from None
    if not 0 <= first <= last < media.size:
        raise PermanentPlatformError(li.platform, f"asked for bytes {first}-{last} of a "
                                     f"{media.size}-byte video")
    media.file.seek(first)
    response = li.http.send("PUT", upload_url, token=token, content=media.file.read(
        last - first + 1), headers={"Content-Type": "application/octet-stream"})
    if response.status_code >= 400:
        raise linkedin_error(li.platform, response, li.now())
    etag = response.headers.get("etag")
    if not etag:
        raise PermanentPlatformError(li.platform, f"answered the upload of bytes "
                                     f"{first}-{last} without an ETag",
                                     status=response.status_code)
    return etag


def await_asset(li: LinkedInConnector, endpoint: str, urn: str, kind: str, token: str) -> None:
    """Poll until ``AVAILABLE``; ``PROCESSING_FAILED`` is permanent. Member tokens may not
    read image or document status (postiz): then wait one grace period instead."""
    def step() -> tuple[bool, Mapping[str, Any]]:
        try:
            body = li.rest_json("GET", f"{endpoint}/{_urn(urn)}", token=token)
        except PermanentPlatformError as exc:
            if exc.status != 403 or kind == "video":
                raise
            log.info("LinkedIn %s status unreadable with this token; waiting %.0f s",
                     urn, ASSET_GRACE_SECONDS)
            li.sleep(ASSET_GRACE_SECONDS)
            return True, {}
        status = body.get("status")
        if status == "PROCESSING_FAILED":
            reason = body.get("processingFailureReason") or "no reason given"
            raise PermanentPlatformError(
                li.platform, f"{kind} {urn} failed processing: {reason}",
                network_code="PROCESSING_FAILED")
        return status == "AVAILABLE", body

    li.wait(step, what=f"LinkedIn {kind} {urn}")
