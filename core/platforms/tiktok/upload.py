"""The ``FILE_UPLOAD`` video upload: the Media Transfer Guide's chunk math (``ChunkPolicy``), the
init and the chunked ``PUT`` to its ``upload_url`` with ``Content-Range``, and the upload staged
ahead of time (``StagedUpload``: every chunk but the last, which is sent at the due time)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from core.errors import StagedMediaGone
from core.platforms.base import PublishRequest
from core.platforms.media import FetchedMedia, fetch_media
from core.platforms.tiktok.envelope import required, tiktok_error

if TYPE_CHECKING:
    from core.platforms.tiktok.connector import TikTokConnector

log = logging.getLogger("herald.platforms.tiktok")

MiB = 1024**2
VIDEO_MAX_BYTES = 4 * 1024**3
# An upload URL is valid for an hour from the init (TikTok's API reference as third parties quote
# it; PLATFORMS.md is silent; the sandbox's UPLOAD_TTL). What was staged is used for 45 minutes:
# the chunks sent while staging come out of that hour, and the last chunk of a late post must
# still arrive in time.
STAGING_TTL = timedelta(minutes=45)
# The upload is staged only for a post due this soon; one due later gets creator_info alone.
UPLOAD_STAGE_AHEAD = timedelta(minutes=30)
# TikTok's answers to a PUT on an upload it no longer takes: the URL expired or is unknown, or
# the upload is not where it was left (416). The PUT carries no access token, so 401 is the URL.
UPLOAD_GONE_STATUSES = frozenset({401, 403, 404, 410, 416})


@dataclass(frozen=True)
class ChunkPolicy:
    """How a ``FILE_UPLOAD`` is cut (Media Transfer Guide): chunks of ``min_bytes`` to
    ``max_bytes``, the last one taking the remainder (so it may be larger, below 2 x
    ``max_bytes``); a file under ``min_bytes`` goes whole, as does one no larger than
    ``chunk_bytes``; at most ``max_chunks`` chunks. Tests shrink every value."""

    chunk_bytes: int = 10 * MiB  # postiz: 10 MB chunks
    min_bytes: int = 5 * MiB
    max_bytes: int = 64 * MiB
    max_chunks: int = 1000

    def plan(self, size: int) -> tuple[int, int]:
        """``(chunk_size, total_chunk_count)`` for a file of ``size`` bytes;
        ``total_chunk_count = floor(size / chunk_size)``."""
        if size <= 0:
            raise ValueError("an empty file cannot be uploaded")
        if size < self.min_bytes or size <= min(self.chunk_bytes, self.max_bytes):
            return size, 1
        chunk = min(max(self.chunk_bytes, self.min_bytes), self.max_bytes)
        chunk = max(chunk, -(-size // self.max_chunks))
        return chunk, size // chunk

    @staticmethod
    def ranges(size: int, chunk: int, count: int) -> list[tuple[int, int]]:
        """Inclusive byte ranges of each chunk; the last one runs to the end of the file."""
        spans = [(i * chunk, (i + 1) * chunk - 1) for i in range(count)]
        spans[-1] = (spans[-1][0], size - 1)
        return spans


@dataclass(frozen=True)
class StagedUpload:
    """A ``FILE_UPLOAD`` made ahead of time: the init's ``publish_id`` and ``upload_url``, the
    declared chunk plan, and the first ``sent_bytes`` of the video already uploaded (their
    SHA-256, so the video sent at due time is known to be the same one)."""

    publish_id: str
    upload_url: str
    video_size: int
    chunk_size: int
    total_chunk_count: int
    sent_bytes: int
    sent_sha256: str

    @classmethod
    def from_handles(cls, value: object) -> StagedUpload | None:
        """The staged upload in ``value``, or ``None`` if there is none (or it is unreadable:
        then the video is uploaded whole, as nothing of it has been sent yet)."""
        if not isinstance(value, Mapping):
            return None
        try:
            upload = cls(str(value["publish_id"]), str(value["upload_url"]), int(value["video_size"]),
                         int(value["chunk_size"]), int(value["total_chunk_count"]),
                         int(value["sent_bytes"]), str(value["sent_sha256"]))
        except (KeyError, TypeError, ValueError):
            upload = None
        if upload is None or min(upload.chunk_size, upload.total_chunk_count) < 1 or not (
                0 <= upload.sent_bytes < upload.video_size):
            log.warning("ignoring an unreadable staged TikTok upload")
            return None
        return upload

    def spans(self) -> list[tuple[int, int]]:
        return ChunkPolicy.ranges(self.video_size, self.chunk_size, self.total_chunk_count)


def upload_video(connector: TikTokConnector, request: PublishRequest, post_info: dict[str, Any],
                 token: str) -> str:
    """Init a ``FILE_UPLOAD`` and send every chunk: the last one posts the video."""
    with _fetch_video(connector, request) as media:
        upload = _init_upload(connector, post_info, token, media)
        _put_chunks(connector, media, upload.upload_url, upload.spans())
    return upload.publish_id


def stage_upload(connector: TikTokConnector, request: PublishRequest, post_info: dict[str, Any],
                 token: str) -> StagedUpload:
    """Init a ``FILE_UPLOAD`` and send every chunk but the last: nothing is posted yet."""
    with _fetch_video(connector, request) as media:
        upload = _init_upload(connector, post_info, token, media)
        spans = upload.spans()
        _put_chunks(connector, media, upload.upload_url, spans[:-1])
        sent = spans[-1][0]
        return replace(upload, sent_bytes=sent, sent_sha256=_digest(media, sent))


def finish_upload(connector: TikTokConnector, request: PublishRequest, upload: StagedUpload) -> str:
    """Send the chunks of a staged upload still missing (the last one posts the video),
    once the video is known to be the one whose first chunks were sent."""
    with _fetch_video(connector, request) as media:
        if media.size != upload.video_size or _digest(media, upload.sent_bytes) != upload.sent_sha256:
            raise StagedMediaGone(connector.platform, f"the video at {request.media_urls[0][:200]} "
                                  f"changed since it was staged ahead ({media.size} bytes now, "
                                  f"{upload.video_size} then; the first {upload.sent_bytes} "
                                  "were compared)")
        spans = [span for span in upload.spans() if span[0] >= upload.sent_bytes]
        _put_chunks(connector, media, upload.upload_url, spans, staged=True)
    return upload.publish_id


def _fetch_video(connector: TikTokConnector, request: PublishRequest) -> FetchedMedia:
    return fetch_media(request.media_urls[0], max_bytes=VIDEO_MAX_BYTES, allowed_kinds={"video"},
                       allow_hosts=connector.config.media_allow_hosts, client=connector.http.client,
                       platform=connector.platform)


def _init_upload(connector: TikTokConnector, post_info: dict[str, Any], token: str,
                 media: FetchedMedia) -> StagedUpload:
    """The ``FILE_UPLOAD`` init for ``media`` (nothing of it sent yet)."""
    chunk, count = connector.chunks.plan(media.size)
    body = connector.call("POST", "v2/post/publish/video/init/", token=token, json={
        "post_info": post_info, "source_info": {
            "source": "FILE_UPLOAD", "video_size": media.size, "chunk_size": chunk,
            "total_chunk_count": count}})
    return StagedUpload(str(required(connector.platform, body, "publish_id", "the video init")),
                        str(required(connector.platform, body, "upload_url", "the video init")),
                        media.size, chunk, count, 0, _digest(media, 0))


def _put_chunks(connector: TikTokConnector, media: FetchedMedia, upload_url: str,
                spans: Sequence[tuple[int, int]], *, staged: bool = False) -> None:
    """``PUT`` each chunk of ``spans`` in order with ``Content-Range``; 206 until the last,
    then 201. The last chunk hands the post to TikTok: a lost answer there is an unknown
    outcome. A ``staged`` upload TikTok no longer takes is ``StagedMediaGone``."""
    for first, last in spans:
        media.file.seek(first)
        response = connector.http.send(
            "PUT", upload_url, content=media.file.read(last - first + 1),
            headers={"Content-Type": media.content_type,
                     "Content-Range": f"bytes {first}-{last}/{media.size}"},
            outcome_critical=last == media.size - 1)
        if response.status_code < 400:
            continue
        error = tiktok_error(connector.platform, response, connector.now())
        if staged and response.status_code in UPLOAD_GONE_STATUSES:
            raise StagedMediaGone(connector.platform, f"the upload staged ahead was refused: "
                                  f"{error.network_message}", status=error.status,
                                  network_code=error.network_code,
                                  response_body=error.response_body) from error
        raise error


def _digest(media: FetchedMedia, length: int) -> str:
    """SHA-256 of the first ``length`` bytes of ``media``."""
    digest = hashlib.sha256()
    media.file.seek(0)
    left = length
    while left > 0 and (block := media.file.read(min(left, 1024 * 1024))):
        digest.update(block)
        left -= len(block)
    return digest.hexdigest()
