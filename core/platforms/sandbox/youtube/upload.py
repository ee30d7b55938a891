"""The resumable upload in the YouTube sandbox: ``videos.insert`` with ``uploadType=resumable``
checks the snippet and status as YouTube does and opens a session; ``PUT`` chunks (whole
blocks kept, ``308`` with ``Range``) until the last one creates the video; sessions expire.
What the created video shows is ``YouTubeSandbox.resource``."""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx

from core.domain.rules import RULES
from core.platforms.sandbox.base import Call, SandboxAccount, is_invalid_json, json_response
from core.platforms.sandbox.youtube.responses import fail

if TYPE_CHECKING:
    from core.platforms.sandbox.youtube.network import YouTubeSandbox

VIDEO_MAX_BYTES = 256 * 1024**3
CATEGORIES = frozenset({"1", "2", "10", "15", "17", "19", "20", "22", "23", "24", "25", "26",
                        "27", "28", "29"})
PRIVACY = ("public", "private", "unlisted")
TAGS_MAX_CHARS = 500
CONTENT_RANGE = re.compile(r"bytes (?:(\*)|(\d+)-(\d+))/(\d+)")


def tags_length(tags: list[str]) -> int:
    """YouTube counts the commas between tags and the quotes around a tag with a space."""
    return sum(len(t) + (2 if " " in t else 0) for t in tags) + max(0, len(tags) - 1)


def open_session(network: YouTubeSandbox, call: Call) -> httpx.Response:
    account = call.account
    assert account is not None
    if call.query.get("uploadType") != "resumable":
        raise fail(400, "badRequest", "The sandbox simulates only resumable uploads "
                   "(uploadType=resumable).", domain="global")
    parts = network._require(call, "part")
    if is_invalid_json(call.json) or not isinstance(call.json, dict):
        raise fail(400, "parseError", "Parse Error", domain="global")
    snippet, status = call.json.get("snippet") or {}, call.json.get("status") or {}
    _check_metadata(network, call, snippet, status)
    total = _declared_length(network, call)
    _check_upload_limit(network, call, account)
    upload_id = "AUc8" + secrets.token_urlsafe(40)
    network.sessions[upload_id] = {
        "id": upload_id, "owner": account.external_account_id, "parts": parts,
        "snippet": snippet, "status": status, "total": total, "received": 0,
        "content_type": call.header("x-upload-content-type") or "video/*",
        "created_at": call.now, "video": None, "failed": call.notes.get("processing_failed")}
    query = urlencode({"uploadType": "resumable", "part": parts, "upload_id": upload_id})
    return httpx.Response(200, headers={
        "Location": f"{call.base}/upload/youtube/v3/videos?{query}",
        "X-GUploader-UploadID": upload_id})


def _check_metadata(network: YouTubeSandbox, call: Call, snippet: Any, status: Any) -> None:
    if not isinstance(snippet, dict) or not isinstance(status, dict):
        raise fail(400, "invalidVideoMetadata")
    rules = RULES["youtube"]
    title = snippet.get("title")
    assert rules.title is not None
    if (not isinstance(title, str) or not title.strip() or rules.title.length(title) > rules.title.limit
            or any(c in title for c in "<>")):
        raise fail(400, "invalidTitle")
    description = snippet.get("description") or ""
    if (not isinstance(description, str) or rules.text.length(description) > rules.text.limit
            or any(c in description for c in "<>")):
        raise fail(400, "invalidDescription")
    tags = snippet.get("tags") or []
    if (not isinstance(tags, list) or not all(isinstance(t, str) for t in tags)
            or tags_length(tags) > TAGS_MAX_CHARS or any(c in "".join(tags) for c in "<>")):
        raise fail(400, "invalidTags")
    if str(snippet.get("categoryId") or "22") not in CATEGORIES:
        raise fail(400, "invalidCategoryId")
    privacy = status.get("privacyStatus", "public")
    if privacy not in PRIVACY:
        raise fail(400, "invalidVideoMetadata", "The request metadata specifies an invalid "
                   f"privacy status: {privacy!r}.")
    publish_at = status.get("publishAt")
    if publish_at is not None:
        try:
            moment = datetime.fromisoformat(str(publish_at).replace("Z", "+00:00"))
        except ValueError:
            raise fail(400, "invalidPublishAt") from None
        if privacy != "private" or moment.tzinfo is None or moment <= call.now:
            raise fail(400, "invalidPublishAt")


def _declared_length(network: YouTubeSandbox, call: Call) -> int | None:
    content_type = (call.header("x-upload-content-type") or "video/*").lower()
    if not (content_type.startswith("video/") or content_type == "application/octet-stream"):
        raise fail(400, "badContent", f"Media type '{content_type}' is not supported. Valid "
                   "media types: [video/*, application/octet-stream]", domain="global")
    raw = call.header("x-upload-content-length")
    if raw is None:
        return None  # the length may be given by the last chunk's Content-Range
    if not raw.isdigit() or not 0 < int(raw) <= VIDEO_MAX_BYTES:
        raise fail(400, "badRequest", f"Invalid X-Upload-Content-Length: {raw}", domain="global")
    return int(raw)


def _check_upload_limit(network: YouTubeSandbox, call: Call, account: SandboxAccount) -> None:
    if not network.sandbox.config.enforce_limits:
        return
    recent = sum(1 for _ in network.sandbox.recent_posts(network.platform, account.external_account_id,
                                                         timedelta(hours=24)))
    if recent >= network.setting("uploads_per_day"):
        raise fail(400, "uploadLimitExceeded")


def session_of(network: YouTubeSandbox, call: Call) -> dict[str, Any]:
    session = network.sessions.get(call.query.get("upload_id", ""))
    ttl = timedelta(seconds=network.setting("upload_session_seconds"))
    if session is None or call.now >= session["created_at"] + ttl:
        raise fail(404, "notFound", "The upload session was not found or has expired.",
                   domain="global")
    return session


def receive(network: YouTubeSandbox, call: Call) -> httpx.Response:
    session = session_of(network, call)
    if session["video"] is not None:
        return json_response(200, network.resource(network.videos[session["video"]],
                                                   session["parts"], owner=True))
    header = call.header("content-range")
    found = CONTENT_RANGE.fullmatch(header or f"bytes 0-{len(call.body) - 1}/{len(call.body)}")
    if found is None:
        raise fail(400, "badRequest", f"Invalid Content-Range: {header}", domain="global")
    total = int(found.group(4))
    if session["total"] is not None and total != session["total"]:
        raise fail(400, "badRequest", f"The Content-Range total {total} does not match "
                   f"X-Upload-Content-Length {session['total']}.", domain="global")
    if found.group(1) is None:
        _take_chunk(network, call, session, int(found.group(2)), int(found.group(3)), total)
    if session["received"] >= total:
        video = create_video(network, call, session)
        return json_response(200, network.resource(video, session["parts"], owner=True))
    headers = {"X-GUploader-UploadID": session["id"]}
    if session["received"]:
        headers["Range"] = f"bytes=0-{session['received'] - 1}"
    return httpx.Response(308, headers=headers)


def _take_chunk(network: YouTubeSandbox, call: Call, session: dict[str, Any], first: int,
                last: int, total: int) -> None:
    size = len(call.body)
    if first > session["received"] or last < first or size != last - first + 1 or last >= total:
        raise fail(400, "badRequest", f"Invalid Content-Range bytes {first}-{last}/{total} for "
                   f"{size} bytes; the session holds bytes 0-{session['received'] - 1}.",
                   domain="global")
    session["total"] = total
    if last + 1 == total:
        session["received"] = total
        return
    granularity = int(network.setting("chunk_granularity"))
    if size < granularity:
        raise fail(400, "badRequest", "Invalid request. The number of bytes uploaded is "
                   f"required to be equal or greater than {granularity}, except for the final "
                   f"request (it's recommended to be the exact multiple of {granularity}). The "
                   f"received request contained {size} bytes, which does not meet this "
                   "requirement.", domain="global")
    # Only whole blocks are kept; Range tells the client where to go on from.
    session["received"] = max(session["received"], (last + 1) // granularity * granularity)


def create_video(network: YouTubeSandbox, call: Call, session: dict[str, Any], *,
                 rejected: str | None = None) -> dict[str, Any]:
    account = network.sandbox.account(network.platform, session["owner"])
    assert account is not None
    video_id = network._video_id()
    failed = session["failed"]
    if failed is not None and str(failed.get("status", "failed")).lower() == "rejected":
        rejected, failed = str(failed.get("error_code") or "copyright"), None
    video = {"id": video_id, "owner": session["owner"], "snippet": session["snippet"],
             "status": session["status"], "size": session["total"],
             "content_type": session["content_type"], "created_at": call.now,
             "ready_at": call.now + timedelta(seconds=network.delay("video")),
             "failed": failed, "rejected": rejected, "deleted": False}
    network.videos[video_id] = video
    session["video"] = video_id
    if rejected is None:  # a rejected video never becomes a post
        network.sandbox.record_post(
            network.platform, account, video_id, str(session["snippet"].get("description") or ""),
            "video", f"https://www.youtube.com/watch?v={video_id}", media=(session["id"],),
            status="failed" if failed is not None else "published")
    return video
