"""The resumable upload session of one video: opening it (the ``videos.insert`` call), sending
the bytes in chunks, probing what the session holds after an interruption, reading its answers,
and taking up a session that ``stage`` opened ahead (``ResumableUpload``)."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from core.errors import (
    PermanentPlatformError,
    PlatformError,
    RetryablePlatformError,
    StagedMediaGone,
)
from core.platforms.base import PublishRequest
from core.platforms.http import body_excerpt, json_object, what
from core.platforms.media import FetchedMedia
from core.platforms.youtube.errors import youtube_error

if TYPE_CHECKING:
    from core.platforms.youtube.connector import YouTubeConnector

log = logging.getLogger("herald.platforms.youtube")

CHUNK_GRANULARITY_BYTES = 256 * 1024  # every chunk but the last is a multiple of this
DEFAULT_CHUNK_BYTES = 32 * CHUNK_GRANULARITY_BYTES  # 8 MiB, as postiz sends
MAX_UPLOAD_TROUBLES = 6  # interruptions + lost sessions of one upload before giving up
MAX_RESUME_WAIT_SECONDS = 60.0
_RANGE = re.compile(r"bytes=(\d+)-(\d+)")
# Google's upload service keeps a resumable session for a week after it is opened (documented for
# Cloud Storage and Drive; YouTube's guide and PLATFORMS.md §6 give no figure, the sandbox keeps
# a week). A staged session is used for an hour less than that.
SESSION_STAGING_TTL = timedelta(days=7) - timedelta(hours=1)


class _SessionGone(Exception):
    """The upload session answered 404/410: it expired or was dropped; open a new one."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class ResumableUpload:
    """One video's upload, through the connector's calls; its ``chunk_bytes`` is the size of a
    ``PUT``."""

    def __init__(self, connector: YouTubeConnector, media: FetchedMedia, metadata: dict[str, Any],
                 request: PublishRequest, token: str) -> None:
        self.connector = connector
        self.platform = connector.platform
        self.media, self.metadata, self.request, self.token = media, metadata, request, token

    def staged_session(self, staged: Mapping[str, Any]) -> str:
        """The session ``stage`` opened, if it was opened for this file: its length and type were
        declared when it was opened, and it takes no other."""
        media = self.media
        declared = (staged.get("size"), staged.get("content_type"))
        if declared != (media.size, media.content_type):
            raise StagedMediaGone(
                self.platform, f"the upload session staged ahead was opened for {declared[0]} "
                f"bytes of {declared[1]}; the media is now {media.size} bytes of "
                f"{media.content_type}")
        return str(staged["session"])

    def open_session(self) -> str:
        media, options = self.media, self.request.options
        params = {"uploadType": "resumable", "part": "snippet,status"}
        if "notify_subscribers" in options:
            params["notifySubscribers"] = str(bool(options["notify_subscribers"])).lower()
        response = self.connector.call(
            "POST", self.connector.api("upload/youtube/v3/videos"), token=self.token,
            params=params, json=self.metadata,
            headers={"X-Upload-Content-Length": str(media.size),
                     "X-Upload-Content-Type": media.content_type})
        session = response.headers.get("location")
        if not session:
            if response.content:
                json_object(self.platform, response)  # a garbled answer says it is not JSON
            raise PermanentPlatformError(
                self.platform, f"answered {what(response)} without the upload session id "
                "(no Location header)", status=response.status_code,
                response_body=body_excerpt(response))
        return session

    def send(self, *, staged: str | None = None) -> tuple[httpx.Response, dict[str, Any]]:
        """Send the bytes, resuming after interruptions; returns the final answer and the
        video resource. A ``staged`` session that is gone before it answered once is
        ``StagedMediaGone`` (nothing was uploaded); later, it is opened again as any other."""
        session = staged or self.open_session()
        offset: int | None = 0  # None: ask the session how much it holds
        troubles = 0
        answered = staged is None
        while True:
            try:
                if offset is None:
                    result = self._probe(session)
                else:
                    result = self._put_chunk(session, offset)
            except _SessionGone as gone:
                if not answered:
                    raise StagedMediaGone(self.platform, "the upload session staged ahead is gone "
                                          "(expired or dropped)", status=gone.status) from None
                troubles = self._trouble(troubles, "the upload session expired")
                log.info("YouTube upload session gone; opening a new one")
                session, offset = self.open_session(), 0
                continue
            except RetryablePlatformError as exc:
                troubles = self._trouble(troubles, exc.network_message, exc)
                self.connector.sleep(min(2.0 ** troubles, MAX_RESUME_WAIT_SECONDS))
                offset = None
                continue
            answered = True
            if isinstance(result, tuple):
                return result
            if offset is not None and result <= offset:
                troubles = self._trouble(troubles, "the upload made no progress")
            offset = result

    def _trouble(self, troubles: int, why: str, cause: PlatformError | None = None) -> int:
        troubles += 1
        if troubles > MAX_UPLOAD_TROUBLES:
            if cause is not None:
                raise cause
            raise RetryablePlatformError(self.platform, f"the video upload failed after "
                                         f"{MAX_UPLOAD_TROUBLES} attempts to resume: {why}")
        return troubles

    def _session_token(self, session: str) -> str | None:
        """The session URI authorises the upload itself; the token only goes to the API host."""
        api, target = urlsplit(self.connector.config.api_base), urlsplit(session)
        return self.token if (api.scheme, api.netloc) == (target.scheme, target.netloc) else None

    def _put_chunk(self, session: str, offset: int) -> int | tuple[httpx.Response, dict[str, Any]]:
        media = self.media
        media.file.seek(offset)
        block = media.file.read(max(1, self.connector.chunk_bytes))
        end = offset + len(block) - 1
        final = end + 1 >= media.size
        response = self.connector.http.send(
            "PUT", session, token=self._session_token(session), content=block,
            outcome_critical=final,  # the chunk that completes the upload creates the video
            headers={"Content-Type": media.content_type,
                     "Content-Range": f"bytes {offset}-{end}/{media.size}"})
        return self._session_answer(response)

    def _probe(self, session: str) -> int | tuple[httpx.Response, dict[str, Any]]:
        response = self.connector.http.send(
            "PUT", session, token=self._session_token(session), content=b"",
            headers={"Content-Range": f"bytes */{self.media.size}"})
        return self._session_answer(response)

    def _session_answer(self, response: httpx.Response) -> int | tuple[httpx.Response, dict[str, Any]]:
        """308: the offset to send next (from ``Range``); 200/201: the video."""
        if response.status_code == 308:
            held = response.headers.get("range")
            if not held:
                return 0
            found = _RANGE.fullmatch(held.strip())
            if found is None or found.group(1) != "0":
                raise PermanentPlatformError(self.platform, f"answered the upload with an "
                                             f"unusable Range header {held!r}", status=308)
            return int(found.group(2)) + 1
        if response.status_code in (200, 201):
            return response, json_object(self.platform, response)
        if response.status_code in (404, 410):
            raise _SessionGone(response.status_code)
        raise youtube_error(self.platform, response, self.connector.now())
