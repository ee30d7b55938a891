"""TikTok's ``FILE_UPLOAD`` in the sandbox: the chunk plan an init declares (the Media Transfer
Guide's rules), the upload URL it hands out, and the sequential ``Content-Range`` chunks that URL
takes (206 until the last, 201 for the last, which hands the post to TikTok)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx

from core.platforms.sandbox.base import Call
from core.platforms.sandbox.tiktok.envelope import envelope

if TYPE_CHECKING:
    from core.platforms.sandbox.tiktok.network import TikTokSandbox

MiB = 1024**2
MIN_CHUNK, MAX_CHUNK, MAX_CHUNKS = 5 * MiB, 64 * MiB, 1000
VIDEO_MAX_BYTES = 4 * 1024**3
UPLOAD_TTL = timedelta(hours=1)
VIDEO_TYPES = ("video/mp4", "video/quicktime", "video/webm")
CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


def open_upload(network: TikTokSandbox, call: Call, job: dict[str, Any],
                source: Mapping[str, Any]) -> httpx.Response:
    """A ``FILE_UPLOAD`` init: the job waits for its chunks at the upload URL answered."""
    size, chunk, count = chunk_plan(network, source)
    job["publish_id"], job["public"] = network._ids(call, "v_pub_file~v2-1.")
    upload_id = str(network.sandbox.next_seq() + 7_000_000_000)
    job.update(source="FILE_UPLOAD", size=size, chunk=chunk, count=count, received=0,
               upload_id=upload_id, upload_token=secrets.token_urlsafe(12),
               expires_at=call.now + UPLOAD_TTL, media=())
    network.jobs[job["publish_id"]] = job
    network.uploads[upload_id] = job["publish_id"]
    query = urlencode({"upload_id": upload_id, "upload_token": job["upload_token"]})
    return envelope(200, {"publish_id": job["publish_id"],
                          "upload_url": f"{call.base}/upload/video/?{query}"}, now=call.now)


def chunk_plan(network: TikTokSandbox, source: Mapping[str, Any]) -> tuple[int, int, int]:
    """Media Transfer Guide: chunks of min..max bytes, ``total_chunk_count =
    floor(video_size / chunk_size)`` (the last chunk takes the rest), at most 1000; a file
    under the minimum goes whole; a single chunk may not exceed the maximum."""
    values = [source.get(k) for k in ("video_size", "chunk_size", "total_chunk_count")]
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values):
        raise network.fail(400, "invalid_params", "video_size, chunk_size and total_chunk_count "
                           "must be positive integers.")
    size, chunk, count = (int(v) for v in values)  # type: ignore[arg-type]
    low = int(network.sandbox.config.limit(network.platform, "min_chunk_bytes", MIN_CHUNK))
    high = int(network.sandbox.config.limit(network.platform, "max_chunk_bytes", MAX_CHUNK))
    if size > VIDEO_MAX_BYTES:
        raise network.fail(400, "invalid_params", f"video_size exceeds {VIDEO_MAX_BYTES} bytes.")
    if count == 1:
        if chunk != size or size > high:
            raise network.fail(400, "invalid_params", "A single-chunk upload must have "
                               f"chunk_size == video_size and at most {high} bytes.")
        return size, chunk, count
    if size < low:
        raise network.fail(400, "invalid_params", f"Videos under {low} bytes must be uploaded "
                           "as a single chunk.")
    if not low <= chunk <= high or count != size // chunk or count > MAX_CHUNKS:
        raise network.fail(400, "invalid_params", f"chunk_size must be {low}-{high} bytes and "
                           "total_chunk_count must be floor(video_size / chunk_size) (at most "
                           f"{MAX_CHUNKS}).")
    return size, chunk, count


def receive_chunk(network: TikTokSandbox, call: Call) -> httpx.Response:
    """``PUT`` to the upload URL: the next chunk in order, or a refusal."""
    job = network.jobs.get(network.uploads.get(call.query.get("upload_id", ""), ""))
    if job is None or call.query.get("upload_token") != job["upload_token"]:
        raise network.fail(404, "invalid_params", "The upload_id or upload_token is invalid.")
    if call.now >= job["expires_at"] or job["ready_at"] is not None:
        raise network.fail(403, "invalid_file_upload", "The upload URL has expired or the "
                           "upload is already complete.")
    if (call.header("content-type") or "").split(";")[0].strip() not in VIDEO_TYPES:
        raise network.fail(400, "invalid_file_upload", f"Content-Type must be one of {', '.join(VIDEO_TYPES)}.")
    found = CONTENT_RANGE.match(call.header("content-range") or "")
    index = job["received"] // job["chunk"] if job["received"] < job["size"] else job["count"]
    last_chunk = index == job["count"] - 1
    expected_end = job["size"] - 1 if last_chunk else job["received"] + job["chunk"] - 1
    if (found is None or int(found.group(3)) != job["size"] or int(found.group(1)) != job["received"]
            or int(found.group(2)) != expected_end or index >= job["count"]):
        return envelope(416, {}, "invalid_file_upload", f"Expected Content-Range: bytes "
                        f"{job['received']}-{expected_end}/{job['size']} (chunks are sent in "
                        f"order); got {call.header('content-range')!r}.", now=call.now)
    if len(call.body) != expected_end - job["received"] + 1:
        raise network.fail(400, "invalid_file_upload", "The body length does not match Content-Range.")
    job["received"] = expected_end + 1
    if not last_chunk:
        return httpx.Response(206)
    network._commit(job, call.now)
    return httpx.Response(201)
