"""YouTube (Data API v3): the connector, ``YouTubeConnector``. The resumable upload session is
in ``upload``, error classification in ``errors``, the video's metadata and URL in ``metadata``.

One video per post, through the resumable upload protocol (PLATFORMS.md §6):

1. ``POST /upload/youtube/v3/videos?uploadType=resumable&part=snippet,status`` with the snippet and
   status as JSON and ``X-Upload-Content-Length`` / ``X-Upload-Content-Type`` opens a session; its
   URI comes back in ``Location`` (this is the ``videos.insert`` call that costs quota);
2. ``PUT {session}`` sends the bytes in chunks (multiples of 256 KiB, ``Content-Range: bytes
   a-b/total``), each answered ``308 Resume Incomplete`` with ``Range: bytes=0-n`` (what the
   server kept, which may be less than was sent) until ``200/201`` returns the video resource;
3. when a chunk gets no answer, or a 5xx/429, nothing is re-sent blindly: the session is asked
   what it holds (``PUT`` with ``Content-Range: bytes */total``) and the upload goes on from
   ``n + 1``; a session that is gone (404/410) is opened again from the start.

Only the chunk that completes the upload creates the video, so only a lost answer to *that* chunk
is an ``UnknownOutcome`` (``find_existing`` then reads the channel's uploads playlist).
Afterwards ``videos.list?part=status,processingDetails,fileDetails`` is polled (bounded) until
``uploadStatus`` is ``processed``; ``failed`` or ``rejected`` is permanent.

Shorts are not a flag: YouTube makes a video a Short when it is vertical or square and at most
three minutes long. Herald gives the ``/shorts/{id}`` URL when ``fileDetails`` says so, else for
post type ``reel``, else when ``options`` say the video is ``vertical`` and ``duration_seconds``
<= 180; everything else is ``/watch?v={id}``.

Staging ahead (``stage``) opens the upload session before the scheduled time: opening it shows
nothing to anyone (no video exists until the last byte arrives), so the publish starts with the
bytes. The session was declared with the file's length and type and takes no other file: when
the media fetched at publish time differs, or the session is gone before it has answered once
(404/410: expired, or dropped), ``StagedMediaGone`` says so with nothing uploaded, and the
publish is made again from the start. Only opening the session is staged, so the bytes, which
take the time, still go up when the post is due.

YouTube has no duplicate-content error at upload time; the nearest real signal is a video that
processing *rejects* with ``rejectionReason: duplicate``, which is permanent here.

Google OAuth 2.0 (``access_type=offline&prompt=consent`` so a refresh token is issued). Refresh
tokens do not rotate; ``invalid_grant`` ("Token has been expired or revoked.") means reconnect.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from core.errors import AuthPlatformError, PermanentPlatformError, PlatformError
from core.platforms.base import (
    AccountCredentials,
    Connector,
    MetricSnapshot,
    ProcessingTimeout,
    PublishRequest,
    PublishResult,
    TokenSet,
    chunks,
    same_text,
    search_since,
)
from core.platforms.http import count, json_object, mapping, parse_time, require_str
from core.platforms.media import FetchedMedia, fetch_media
from core.platforms.rate_limits import PACIFIC
from core.platforms.youtube.errors import check_upload_status, youtube_error
from core.platforms.youtube.metadata import is_short, video_metadata, video_title, video_url
from core.platforms.youtube.upload import (
    DEFAULT_CHUNK_BYTES,
    SESSION_STAGING_TTL,
    ResumableUpload,
)

log = logging.getLogger("herald.platforms.youtube")

TOKEN_HOST = "https://oauth2.googleapis.com"
ANALYTICS_HOST = "https://youtubeanalytics.googleapis.com"
UPLOAD_SCOPE = "https://www.googleapis.com/auth/youtube.upload"
READONLY_SCOPE = "https://www.googleapis.com/auth/youtube.readonly"
ANALYTICS_SCOPE = "https://www.googleapis.com/auth/yt-analytics.readonly"

VIDEO_MAX_BYTES = 256 * 1024**3  # videos.insert: 256 GB
LOOKUP_BATCH = 50  # videos.list takes at most 50 ids
FIND_PAGES = 4  # uploads-playlist pages of 50 that find_existing reads at most
ANALYTICS_START_DATE = "2005-04-23"  # before any YouTube video: lifetime totals


class YouTubeConnector(Connector):
    platform = "youtube"
    default_scopes = (UPLOAD_SCOPE, READONLY_SCOPE, ANALYTICS_SCOPE)
    chunk_bytes: int = DEFAULT_CHUNK_BYTES
    """Bytes per ``PUT``; keep it a multiple of 256 KiB (tests set it small)."""

    def call(self, method: str, url: str, *, token: str | None,
             outcome_critical: bool = False, **kwargs: Any) -> httpx.Response:
        def attempt() -> httpx.Response:
            response = self.http.send(method, url, token=token, outcome_critical=outcome_critical,
                                      **kwargs)
            if response.status_code >= 400:
                raise youtube_error(self.platform, response, self.now())
            return response

        return self.step(attempt, what=f"{method} {urlsplit(url).path}", outcome_critical=outcome_critical)

    def read(self, path: str, token: str, params: Mapping[str, str]) -> dict[str, Any]:
        return json_object(self.platform, self.call("GET", self.api(path), token=token,
                                                    params=params))

    # -- publishing
    def publish(self, request: PublishRequest, account: AccountCredentials) -> PublishResult:
        metadata = self._checked_metadata(request)
        with self._fetch_video(request) as media:
            upload = ResumableUpload(self, media, metadata, request, account.access_token)
            staged = upload.staged_session(request.staged) if request.staged else None
            response, video = upload.send(staged=staged)
        video_id = require_str(self.platform, response, video, "id")
        check_upload_status(self.platform, video_id, video)
        raw: dict[str, Any] = {"video": video}
        if request.options.get("wait_for_processing", True):
            raw["processing"] = self.once_live(
                lambda: self._await_processing(video_id, account),
                fallback=lambda exc: {"unavailable": exc.network_message},
                what=f"watching the processing of video {video_id}")
        return PublishResult(video_id, video_url(video_id, short=is_short(request, raw.get("processing"))),
                             raw)

    staging_ttl = SESSION_STAGING_TTL

    def stage(self, request: PublishRequest, account: AccountCredentials) -> dict[str, Any] | None:
        """Open the upload session (the ``videos.insert`` call, which costs its quota now).

        The session URI is a bearer capability: its ``upload_id`` alone authorises the bytes
        (Google documents so for its upload service's Cloud Storage sessions; YouTube's guide does
        not say otherwise, and the sandbox asks no token). Whoever held it could complete the
        upload once with a file of their own, under this post's title, description and privacy,
        until the session expires: so the queue stores staged handles encrypted, like tokens
        (``core.services.staging``), and logs redact ``upload_id``."""
        metadata = self._checked_metadata(request)
        with self._fetch_video(request) as media:
            session = ResumableUpload(self, media, metadata, request,
                                      account.access_token).open_session()
        return {"session": session, "size": media.size, "content_type": media.content_type}

    def _checked_metadata(self, request: PublishRequest) -> dict[str, Any]:
        if request.post_type not in ("video", "reel"):
            raise self.unsupported(request)
        self.require_media(request)
        return video_metadata(request)

    def _fetch_video(self, request: PublishRequest) -> FetchedMedia:
        return fetch_media(request.media_urls[0], max_bytes=VIDEO_MAX_BYTES, allowed_kinds={"video"},
                           allow_hosts=self.config.media_allow_hosts, client=self.http.client,
                           platform=self.platform)

    def _await_processing(self, video_id: str, account: AccountCredentials) -> dict[str, Any]:
        """Poll until ``uploadStatus`` is ``processed``. The video already exists, so running
        out of time is not an error: the resource seen last is returned."""
        def step() -> tuple[bool, dict[str, Any]]:
            body = self.read("youtube/v3/videos", account.access_token, {
                "part": "status,processingDetails,fileDetails", "id": video_id})
            items = [i for i in body.get("items") or [] if isinstance(i, dict)]
            video = items[0] if items else {}
            check_upload_status(self.platform, video_id, video)
            return (video.get("status") or {}).get("uploadStatus") == "processed", video

        def hint(video: dict[str, Any]) -> float | None:
            progress = (video.get("processingDetails") or {}).get("processingProgress") or {}
            left = progress.get("timeLeftMs") if isinstance(progress, Mapping) else None
            if not isinstance(left, int | float | str) or not str(left).isdigit():
                return None
            return min(max(1.0, int(left) / 1000), self.config.poll.max_interval_seconds)

        try:
            return self.wait(step, what=f"YouTube video {video_id}", hint=hint)
        except ProcessingTimeout as timeout:
            return dict(timeout.last_value or {})

    # -- reconciliation
    def find_existing(self, request: PublishRequest, account: AccountCredentials, *,
                      since: datetime | None = None) -> PublishResult | None:
        """The oldest upload in the window with the request's title and description, read from
        the channel's uploads playlist (1 quota unit a page and no search-index delay, unlike
        ``search.list?forMine=true``)."""
        since = since or search_since(request, self.now())
        title, playlist = video_title(request), self._uploads_playlist(account)
        matches: list[dict[str, Any]] = []
        page: str | None = None
        for _ in range(FIND_PAGES):
            params = {"part": "snippet,contentDetails,status", "playlistId": playlist,
                      "maxResults": "50", **({"pageToken": page} if page else {})}
            body = self.read("youtube/v3/playlistItems", account.access_token, params)
            older = False
            for item in (i for i in body.get("items") or [] if isinstance(i, dict)):
                snippet = item.get("snippet") or {}
                added = parse_time(snippet.get("publishedAt"))
                if added is not None and added < since:
                    older = True  # newest first: the rest is older still
                    break
                if same_text(snippet.get("title"), title) and same_text(
                        snippet.get("description"), request.text):
                    matches.append(item)
            page = body.get("nextPageToken")
            if older or not page:
                break
        if not matches:
            return None
        item = matches[-1]  # the original, not a later re-upload
        video_id = str((item.get("contentDetails") or {}).get("videoId")
                       or ((item.get("snippet") or {}).get("resourceId") or {}).get("videoId"))
        return PublishResult(video_id, video_url(video_id, short=is_short(request, None)), item)

    def _uploads_playlist(self, account: AccountCredentials) -> str:
        known = account.extra.get("uploads_playlist")
        if known:
            return str(known)
        channel = account.external_account_id
        if channel.startswith("UC"):  # the uploads playlist of channel UCxyz is UUxyz
            return "UU" + channel[2:]
        found = self._my_channel(account.access_token)
        return str(((found.get("contentDetails") or {}).get("relatedPlaylists") or {}).get("uploads"))

    # -- metrics
    def fetch_metrics(self, external_ids: Sequence[str], account: AccountCredentials
                      ) -> dict[str, MetricSnapshot]:
        """``videos.list?part=statistics`` (counts are strings; a hidden like count is absent).
        Shares exist only in YouTube Analytics, read when the account granted its scope."""
        metrics: dict[str, MetricSnapshot] = {}
        for batch in chunks(list(dict.fromkeys(external_ids)), LOOKUP_BATCH):
            body = self.read("youtube/v3/videos", account.access_token, {
                "part": "statistics", "id": ",".join(batch), "maxResults": str(LOOKUP_BATCH)})
            for item in (i for i in body.get("items") or [] if isinstance(i, dict) and i.get("id")):
                stats = mapping(item.get("statistics"))
                metrics[str(item["id"])] = MetricSnapshot(
                    external_id=str(item["id"]), likes=count(stats, "likeCount"),
                    comments=count(stats, "commentCount"), shares=0, views=count(stats, "viewCount"))
        if metrics and ANALYTICS_SCOPE in account.scopes:
            shares = self._analytics_shares(list(metrics), account)
            metrics = {i: replace(m, shares=shares.get(i, 0)) for i, m in metrics.items()}
        return metrics

    def _analytics_shares(self, ids: list[str], account: AccountCredentials) -> dict[str, int]:
        """Lifetime shares per video from the Analytics reports API; optional, so a failure is
        logged and the shares stay 0."""
        base = self.config.extra_bases.get("analytics", ANALYTICS_HOST).rstrip("/")
        today = self.now().astimezone(PACIFIC).date().isoformat()
        shares: dict[str, int] = {}
        try:
            for batch in chunks(ids, LOOKUP_BATCH):
                response = self.call("GET", f"{base}/v2/reports", token=account.access_token, params={
                    "ids": "channel==MINE", "startDate": ANALYTICS_START_DATE, "endDate": today,
                    "metrics": "shares", "dimensions": "video",
                    "filters": "video==" + ",".join(batch)})
                body = json_object(self.platform, response)
                columns = [str(c.get("name")) for c in body.get("columnHeaders") or []
                           if isinstance(c, Mapping)]
                for row in body.get("rows") or []:
                    record = dict(zip(columns, row, strict=False)) if isinstance(row, list) else {}
                    if record.get("video") is not None:
                        shares[str(record["video"])] = count(record, "shares")
        except PlatformError as exc:
            log.info("YouTube Analytics shares unavailable: %s", exc.network_message)
        return shares

    # -- OAuth 2.0
    def authorize_url(self, state: str, redirect_uri: str, code_challenge: str | None = None) -> str:
        params = {"client_id": self.config.client_id or "", "redirect_uri": redirect_uri,
                  "response_type": "code", "scope": " ".join(self.scopes),
                  "access_type": "offline", "prompt": "consent",
                  "include_granted_scopes": "true", "state": state}
        if code_challenge:
            params.update(code_challenge=code_challenge, code_challenge_method="S256")
        return self.oauth("o/oauth2/v2/auth") + "?" + urlencode(params)

    def _token_url(self, path: str) -> str:
        return self.config.extra_bases.get("token", TOKEN_HOST).rstrip("/") + "/" + path

    def _token_call(self, form: dict[str, str]) -> dict[str, Any]:
        form.update(client_id=self.config.client_id or "",
                    client_secret=self.config.client_secret or "")
        response = self.http.send("POST", self._token_url("token"), data=form)
        return self.token_answer(response, youtube_error)

    def _token_set(self, body: dict[str, Any], refresh: str | None,
                   identity: dict[str, Any]) -> TokenSet:
        return self.oauth_token_set(body, identity, refresh=refresh)

    def exchange_code(self, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        """Code -> tokens -> the channel they manage (``channels.list?mine=true``)."""
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if code_verifier:
            form["code_verifier"] = code_verifier
        body = self._token_call(form)
        tokens = self._token_set(body, None, {})
        channel = self._my_channel(tokens.access_token)
        snippet = channel.get("snippet") or {}
        uploads = ((channel.get("contentDetails") or {}).get("relatedPlaylists") or {}).get("uploads")
        identity = {"external_account_id": str(channel["id"]),
                    "username": str(snippet.get("customUrl") or snippet.get("title") or channel["id"]),
                    "extra": {"channel_title": snippet.get("title"),
                              **({"uploads_playlist": uploads} if uploads else {})}}
        return replace(tokens, account=identity)

    def _my_channel(self, token: str) -> dict[str, Any]:
        body = self.read("youtube/v3/channels", token, {"part": "snippet,contentDetails",
                                                        "mine": "true"})
        items = [i for i in body.get("items") or [] if isinstance(i, dict) and i.get("id")]
        if not items:
            raise PermanentPlatformError(
                self.platform, "this Google account has no YouTube channel "
                "(youtubeSignupRequired): create one, then connect again",
                network_code="youtubeSignupRequired")
        return items[0]

    def refresh_token(self, account: AccountCredentials) -> TokenSet:
        """A new access token; Google keeps the refresh token (it does not rotate)."""
        if not account.refresh_token:
            raise AuthPlatformError(self.platform, "no refresh token stored (Google issues one "
                                    "only with access_type=offline): reconnect the account")
        body = self._token_call({"grant_type": "refresh_token",
                                 "refresh_token": account.refresh_token})
        return self._token_set(body, account.refresh_token, {
            "external_account_id": account.external_account_id, "username": account.username,
            "extra": dict(account.extra)})

    def revoke(self, account: AccountCredentials) -> None:
        """Revoking the refresh token (or else the access token) ends the whole grant."""
        token = account.refresh_token or account.access_token
        response = self.http.send("POST", self._token_url("revoke"), data={"token": token})
        if response.status_code == 400:
            log.info("YouTube token already invalid; nothing to revoke")
        elif response.status_code >= 400:
            raise youtube_error(self.platform, response, self.now())
