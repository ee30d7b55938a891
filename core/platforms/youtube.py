"""YouTube (Data API v3).

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
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

from core.domain.validation import PostContent, title_for_platform
from core.errors import (
    AuthPlatformError,
    PermanentPlatformError,
    PlatformError,
    RetryablePlatformError,
    StagedMediaGone,
)
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
from core.platforms.http import (
    PACIFIC,
    body_excerpt,
    count,
    json_object,
    mapping,
    parse_time,
    require_str,
    retry_after_header,
    what,
    youtube_retry_after,
)
from core.platforms.media import FetchedMedia, fetch_media

log = logging.getLogger("herald.platforms.youtube")

WEB = "https://www.youtube.com"
TOKEN_HOST = "https://oauth2.googleapis.com"
ANALYTICS_HOST = "https://youtubeanalytics.googleapis.com"
UPLOAD_SCOPE = "https://www.googleapis.com/auth/youtube.upload"
READONLY_SCOPE = "https://www.googleapis.com/auth/youtube.readonly"
ANALYTICS_SCOPE = "https://www.googleapis.com/auth/yt-analytics.readonly"

VIDEO_MAX_BYTES = 256 * 1024**3  # videos.insert: 256 GB
CHUNK_GRANULARITY_BYTES = 256 * 1024  # every chunk but the last is a multiple of this
DEFAULT_CHUNK_BYTES = 32 * CHUNK_GRANULARITY_BYTES  # 8 MiB, as postiz sends
MAX_UPLOAD_TROUBLES = 6  # interruptions + lost sessions of one upload before giving up
MAX_RESUME_WAIT_SECONDS = 60.0
SHORTS_MAX_SECONDS = 180
LOOKUP_BATCH = 50  # videos.list takes at most 50 ids
FIND_PAGES = 4  # uploads-playlist pages of 50 that find_existing reads at most
DEFAULT_CATEGORY_ID = "22"  # People & Blogs
ANALYTICS_START_DATE = "2005-04-23"  # before any YouTube video: lifetime totals
# Daily and per-channel limits wait for their reset; per-minute ones prefer Retry-After.
DAILY_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded", "uploadLimitExceeded"})
AUTH_REASONS = frozenset({"authError", "insufficientPermissions", "invalid_grant", "invalid_token"})
_RANGE = re.compile(r"bytes=(\d+)-(\d+)")
# Google's upload service keeps a resumable session for a week after it is opened (documented for
# Cloud Storage and Drive; YouTube's guide and PLATFORMS.md §6 give no figure, the sandbox keeps
# a week). A staged session is used for an hour less than that.
SESSION_STAGING_TTL = timedelta(days=7) - timedelta(hours=1)


def youtube_error(platform: str, response: httpx.Response, now: datetime) -> PlatformError:
    """Classify a Google error: the API envelope ``{"error": {"code", "message", "errors":
    [{"domain", "reason", "message"}]}}`` or the OAuth one ``{"error", "error_description"}``."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, Mapping) else None
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
        message = str(body.get("error_description") or error) if isinstance(body, Mapping) else error
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


class _SessionGone(Exception):
    """The upload session answered 404/410: it expired or was dropped; open a new one."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


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
            staged = self._staged_session(request.staged, media) if request.staged else None
            response, video = self._upload(media, metadata, request, account.access_token,
                                           staged=staged)
        video_id = require_str(self.platform, response, video, "id")
        self._check_upload_status(video_id, video)
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
            session = self._open_session(media, metadata, request, account.access_token)
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

    def _staged_session(self, staged: Mapping[str, Any], media: FetchedMedia) -> str:
        """The session ``stage`` opened, if it was opened for this file: its length and type were
        declared when it was opened, and it takes no other."""
        declared = (staged.get("size"), staged.get("content_type"))
        if declared != (media.size, media.content_type):
            raise StagedMediaGone(
                self.platform, f"the upload session staged ahead was opened for {declared[0]} "
                f"bytes of {declared[1]}; the media is now {media.size} bytes of "
                f"{media.content_type}")
        return str(staged["session"])

    def _open_session(self, media: FetchedMedia, metadata: dict[str, Any],
                      request: PublishRequest, token: str) -> str:
        params = {"uploadType": "resumable", "part": "snippet,status"}
        if "notify_subscribers" in request.options:
            params["notifySubscribers"] = str(bool(request.options["notify_subscribers"])).lower()
        response = self.call("POST", self.api("upload/youtube/v3/videos"), token=token,
                             params=params, json=metadata,
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

    def _upload(self, media: FetchedMedia, metadata: dict[str, Any], request: PublishRequest,
                token: str, *, staged: str | None = None) -> tuple[httpx.Response, dict[str, Any]]:
        """Send the bytes, resuming after interruptions; returns the final answer and the
        video resource. A ``staged`` session that is gone before it answered once is
        ``StagedMediaGone`` (nothing was uploaded); later, it is opened again as any other."""
        session = staged or self._open_session(media, metadata, request, token)
        offset: int | None = 0  # None: ask the session how much it holds
        troubles = 0
        answered = staged is None
        while True:
            try:
                if offset is None:
                    result = self._probe(session, media.size, token)
                else:
                    result = self._put_chunk(session, media, offset, token)
            except _SessionGone as gone:
                if not answered:
                    raise StagedMediaGone(self.platform, "the upload session staged ahead is gone "
                                          "(expired or dropped)", status=gone.status) from None
                troubles = self._trouble(troubles, "the upload session expired")
                log.info("YouTube upload session gone; opening a new one")
                session, offset = self._open_session(media, metadata, request, token), 0
                continue
            except RetryablePlatformError as exc:
                troubles = self._trouble(troubles, exc.network_message, exc)
                self.sleep(min(2.0 ** troubles, MAX_RESUME_WAIT_SECONDS))
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

    def _session_token(self, session: str, token: str) -> str | None:
        """The session URI authorises the upload itself; the token only goes to the API host."""
        api, target = urlsplit(self.config.api_base), urlsplit(session)
        return token if (api.scheme, api.netloc) == (target.scheme, target.netloc) else None

    def _put_chunk(self, session: str, media: FetchedMedia, offset: int,
                   token: str) -> int | tuple[httpx.Response, dict[str, Any]]:
        media.file.seek(offset)
        block = media.file.read(max(1, self.chunk_bytes))
        end = offset + len(block) - 1
        final = end + 1 >= media.size
        response = self.http.send(
            "PUT", session, token=self._session_token(session, token), content=block,
            outcome_critical=final,  # the chunk that completes the upload creates the video
            headers={"Content-Type": media.content_type,
                     "Content-Range": f"bytes {offset}-{end}/{media.size}"})
        return self._session_answer(response)

    def _probe(self, session: str, total: int,
               token: str) -> int | tuple[httpx.Response, dict[str, Any]]:
        response = self.http.send("PUT", session, token=self._session_token(session, token),
                                  content=b"", headers={"Content-Range": f"bytes */{total}"})
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
        raise youtube_error(self.platform, response, self.now())

    def _check_upload_status(self, video_id: str, video: Mapping[str, Any]) -> None:
        status, details = mapping(video.get("status")), mapping(video.get("processingDetails"))
        state = status.get("uploadStatus")
        if state == "rejected":
            reason = status.get("rejectionReason") or "unknown reason"
            raise PermanentPlatformError(
                self.platform, f"YouTube rejected video {video_id} while processing it "
                f"(rejectionReason: {reason})", network_code=reason)
        if state == "failed":
            reason = (status.get("failureReason") or details.get("processingFailureReason")
                      or "unknown reason")
            raise PermanentPlatformError(
                self.platform, f"YouTube could not process video {video_id} (failureReason: "
                f"{reason})", network_code=reason)
        if state == "deleted":
            raise PermanentPlatformError(self.platform, f"video {video_id} was deleted while "
                                         "YouTube processed it", network_code="deleted")

    def _await_processing(self, video_id: str, account: AccountCredentials) -> dict[str, Any]:
        """Poll until ``uploadStatus`` is ``processed``. The video already exists, so running
        out of time is not an error: the resource seen last is returned."""
        def step() -> tuple[bool, dict[str, Any]]:
            body = self.read("youtube/v3/videos", account.access_token, {
                "part": "status,processingDetails,fileDetails", "id": video_id})
            items = [i for i in body.get("items") or [] if isinstance(i, dict)]
            video = items[0] if items else {}
            self._check_upload_status(video_id, video)
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


# --- payloads and URLs ------------------------------------------------------------------------


def video_title(request: PublishRequest) -> str:
    """The title validation checks: the request's title, else the text's first line."""
    post = PostContent(content=request.text, post_type=request.post_type, platforms=("youtube",),
                       title=request.title)
    return title_for_platform(post, "youtube") or ""


def video_metadata(request: PublishRequest) -> dict[str, Any]:
    """The ``snippet`` and ``status`` of ``videos.insert``. ``options``: ``privacy_status``
    (public|private|unlisted, default public), ``category_id`` (default 22), ``tags``,
    ``made_for_kids``, ``publish_at`` (forces private, as YouTube requires),
    ``contains_synthetic_media``, ``default_language``."""
    options = request.options
    snippet: dict[str, Any] = {"title": video_title(request), "description": request.text,
                               "categoryId": str(options.get("category_id") or DEFAULT_CATEGORY_ID)}
    if options.get("tags"):
        snippet["tags"] = [str(tag) for tag in options["tags"]]
    if options.get("default_language"):
        snippet["defaultLanguage"] = str(options["default_language"])
    status: dict[str, Any] = {"privacyStatus": str(options.get("privacy_status") or "public"),
                              "selfDeclaredMadeForKids": bool(options.get("made_for_kids", False))}
    publish_at = options.get("publish_at")
    if publish_at:
        moment = publish_at if isinstance(publish_at, datetime) else parse_time(str(publish_at))
        if moment is None:
            raise PermanentPlatformError("youtube", f"publish_at {publish_at!r} is not a time")
        status.update(privacyStatus="private",
                      publishAt=moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    if options.get("contains_synthetic_media") is not None:
        status["containsSyntheticMedia"] = bool(options["contains_synthetic_media"])
    return {"snippet": snippet, "status": status}


def is_short(request: PublishRequest, video: Mapping[str, Any] | None) -> bool:
    """Whether YouTube shows the video as a Short: vertical or square and at most 3 minutes.
    ``fileDetails`` (after processing) decides when it has the dimensions; else post type
    ``reel``; else ``options["vertical"]`` with ``options["duration_seconds"]``."""
    details = (video or {}).get("fileDetails")
    if isinstance(details, Mapping):
        streams = [s for s in details.get("videoStreams") or [] if isinstance(s, Mapping)]
        width, height = (streams[0].get("widthPixels"), streams[0].get("heightPixels")) if streams else (None, None)
        duration = details.get("durationMs")
        if isinstance(width, int) and isinstance(height, int) and str(duration or "").isdigit():
            return height >= width and int(str(duration)) <= SHORTS_MAX_SECONDS * 1000
    if request.post_type == "reel":
        return True
    seconds = request.options.get("duration_seconds")
    return bool(request.options.get("vertical")) and isinstance(seconds, int | float) and (
        0 < seconds <= SHORTS_MAX_SECONDS)


def video_url(video_id: str, *, short: bool = False) -> str:
    return f"{WEB}/shorts/{video_id}" if short else f"{WEB}/watch?v={video_id}"
