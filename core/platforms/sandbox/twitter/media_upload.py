"""X's media upload in the sandbox: the simple upload (images), the chunked one (``initialize``,
``append``, ``finalize``) with each category's size limit, media that expires after a day, and
the ``STATUS`` read with ``processing_info`` while videos and GIFs process."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx

from core.platforms.sandbox.base import Call, json_response
from core.platforms.sandbox.twitter.problems import invalid_request

if TYPE_CHECKING:
    from core.platforms.sandbox.twitter.network import TwitterSandbox

MEDIA_TTL = 86400
MEDIA_LIMITS = {"tweet_image": 5 * 1024**2, "tweet_gif": 15 * 1024**2,
                "tweet_video": 512 * 1024**2, "amplify_video": 512 * 1024**2}


def new_media(network: TwitterSandbox, call: Call, category: str, media_type: str,
              total: int) -> dict[str, Any]:
    media_id = network.snowflake()
    kind = "image" if category == "tweet_image" else ("gif" if category == "tweet_gif" else "video")
    media: dict[str, Any] = {"id": media_id, "media_key": f"{3 if kind == 'image' else 7 if kind == 'video' else 16}_{media_id}",
             "owner": call.account_id, "kind": kind, "category": category,
             "media_type": media_type, "total": total, "segments": {}, "finalized": False,
             "created_at": call.now, "ready_at": None,
             "failed": call.notes.get("processing_failed")}
    network.media[media_id] = media
    return media


def check_size(category: str, size: int) -> None:
    if category not in MEDIA_LIMITS:
        raise invalid_request(f"media_category {category!r} is not one of "
                              f"{', '.join(MEDIA_LIMITS)}.")
    if not 0 < size <= MEDIA_LIMITS[category]:
        raise invalid_request(f"File size {size} is not between 1 and "
                              f"{MEDIA_LIMITS[category]} bytes for {category}.")


def simple_upload(network: TwitterSandbox, call: Call) -> httpx.Response:
    part = call.files.get("media")
    if part is None or part.filename is None and not part.data:
        raise invalid_request("The media field is required (multipart file).")
    category = str(call.param("media_category") or "tweet_image")
    if category != "tweet_image":
        raise invalid_request("Use the chunked upload (initialize/append/finalize) for "
                              "videos and GIFs.")
    check_size(category, len(part.data))
    media = new_media(network, call, category, part.content_type or "image/jpeg", len(part.data))
    media.update(finalized=True, ready_at=call.now, segments={0: len(part.data)})
    return json_response(200, {"data": media_body(network, media)})


def initialize(network: TwitterSandbox, call: Call) -> httpx.Response:
    body = call.json if isinstance(call.json, dict) else {}
    category = str(body.get("media_category") or "")
    media_type = str(body.get("media_type") or "")
    try:
        total = int(body.get("total_bytes") or 0)
    except (TypeError, ValueError):
        total = 0
    if not media_type:
        raise invalid_request("media_type is required.")
    check_size(category, total)
    media = new_media(network, call, category, media_type, total)
    return json_response(200, {"data": {"id": media["id"], "media_key": media["media_key"],
                                        "expires_after_secs": MEDIA_TTL}})


def unfinished(network: TwitterSandbox, call: Call) -> dict[str, Any]:
    media = network.media.get(call.match["id"])
    if media is None or media["owner"] != call.account_id:
        raise invalid_request("The media_id is not valid.")
    if media["finalized"]:
        raise invalid_request("This upload has already been finalized.")
    return media


def append(network: TwitterSandbox, call: Call) -> httpx.Response:
    media = unfinished(network, call)
    part = call.files.get("media")
    try:
        index = int(call.param("segment_index"))
    except (TypeError, ValueError):
        index = -1
    if part is None or not 0 <= index <= 999:
        raise invalid_request("segment_index (0-999) and media are required.")
    media["segments"][index] = len(part.data)
    expires = int((media["created_at"] + timedelta(seconds=MEDIA_TTL)).timestamp())
    return json_response(200, {"data": {"expires_at": expires}})


def finalize(network: TwitterSandbox, call: Call) -> httpx.Response:
    media = unfinished(network, call)
    if sum(media["segments"].values()) != media["total"]:
        raise invalid_request("Segments do not add up to provided total file size.")
    media["finalized"] = True
    processing = 0.0 if media["kind"] == "image" else network.delay(media["kind"])
    media["ready_at"] = call.now + timedelta(seconds=processing)
    return json_response(200, {"data": media_body(network, media)})


def processing_state(network: TwitterSandbox, media: dict[str, Any]) -> str:
    """``pending -> in_progress -> succeeded | failed`` on the sandbox clock."""
    if not media["finalized"] or media["ready_at"] is None:
        return "pending"
    total = max(0.001, (media["ready_at"] - media["created_at"]).total_seconds())
    elapsed = (network.now - media["created_at"]).total_seconds()
    if media["failed"] is not None and (elapsed >= total / 2 or total <= 0.001):
        return "failed"
    if network.now >= media["ready_at"]:
        return "succeeded"
    return "pending" if elapsed < total * 0.2 else "in_progress"


def media_body(network: TwitterSandbox, media: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"id": media["id"], "media_key": media["media_key"],
                            "size": media["total"], "expires_after_secs": MEDIA_TTL}
    if media["kind"] == "image" and media["failed"] is None:
        body["image"] = {"image_type": media["media_type"], "w": 1200, "h": 675}
        return body
    state = processing_state(network, media)
    info: dict[str, Any] = {"state": state}
    if state in ("pending", "in_progress"):
        left = (media["ready_at"] - network.now).total_seconds() if media["ready_at"] else 1
        info["check_after_secs"] = max(1, math.ceil(min(left, 5)))
        total = max(0.001, (media["ready_at"] - media["created_at"]).total_seconds())
        info["progress_percent"] = int(100 * max(0.0, 1 - left / total))
    elif state == "failed":
        info["error"] = {"code": int(media["failed"].get("error_code", 1)),
                         "name": "InvalidMedia",
                         "message": "Invalid or Unsupported media, Reason: UnsupportedMedia."}
    else:
        info["progress_percent"] = 100
    body["processing_info"] = info
    return body


def media_status(network: TwitterSandbox, call: Call) -> httpx.Response:
    if call.query.get("command", "").upper() != "STATUS":
        raise invalid_request("command must be STATUS for GET.")
    media = network.media.get(call.query.get("media_id", ""))
    if media is None or media["owner"] != call.account_id:
        raise invalid_request("The media_id is not valid.")
    return json_response(200, {"data": media_body(network, media)})
