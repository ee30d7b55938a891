"""YouTube Data API v3 in the sandbox.

* Google OAuth: consent screen, ``/token`` (authorization code with optional PKCE, refresh
  tokens that do not rotate, ``invalid_grant`` "Token has been expired or revoked."), ``/revoke``
  (ends the whole grant).
* The resumable upload protocol: ``POST /upload/youtube/v3/videos?uploadType=resumable`` checks
  the snippet and status as YouTube does (``invalidTitle``, ``invalidDescription``,
  ``invalidTags``, ``invalidCategoryId``, ``invalidPublishAt``, ``badContent``) and answers 200
  with the session URI in ``Location``; ``PUT`` chunks get ``308`` with ``Range: bytes=0-n`` --
  only whole 256 KiB blocks are kept, as Google's upload service does, so a client must honour
  ``Range`` -- until the last one creates the video (200 with the resource); ``bytes */total``
  probes; sessions expire (404) after ``upload_session_seconds``.
* ``videos.list`` (``snippet,status,processingDetails,fileDetails,statistics``; processing runs
  on the sandbox clock: ``uploaded`` -> ``processed`` | ``failed`` | ``rejected``),
  ``videos.delete``, ``channels.list?mine=true``, ``playlistItems.list`` of the uploads playlist,
  ``search.list?forMine=true`` and the Analytics ``/v2/reports`` endpoint (per-video shares).
* Quota: 10,000 units a day (1 per call) with separate buckets of 100 calls for ``videos.insert``
  and ``search.list`` (PLATFORMS.md §6, 2026 model), reset at midnight Pacific -> 403
  ``quotaExceeded``; a per-channel daily upload cap -> 400 ``uploadLimitExceeded``. Every error
  uses Google's envelope ``{"error": {"code", "message", "errors": [{"message", "domain",
  "reason"}], "status"}}``.

Faults: ``rate_limit`` answers 429 ``rateLimitExceeded`` with ``Retry-After`` (``reason=
"quotaExceeded"`` or ``"uploadLimitExceeded"`` for the daily limits); ``processing_failed``
(on the session) makes processing end ``failed`` (``error_code``: the ``failureReason``) or,
with ``status="rejected"``, ``rejected``; ``duplicate`` has no upload-time equivalent on
YouTube, so it completes the upload with a video that processing rejected as ``duplicate``.
Limits are configurable under ``SandboxConfig.limits["youtube"]``: ``daily_units``,
``insert_calls_per_day``, ``search_calls_per_day``, ``uploads_per_day``,
``upload_session_seconds``, ``chunk_granularity``.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx

from core.domain.rules import RULES
from core.platforms.base import pkce_challenge
from core.platforms.http import PACIFIC
from core.platforms.sandbox.base import (
    Call,
    Reply,
    Route,
    SandboxAccount,
    SandboxNetwork,
    is_invalid_json,
    json_response,
    route,
)
from core.platforms.sandbox.engagement import ZERO, Engagement

ACCESS_TTL = 3599
CHUNK_GRANULARITY = 256 * 1024
VIDEO_MAX_BYTES = 256 * 1024**3
SESSION_SECONDS = 7 * 86400  # a session URI stays usable for about a week
DEFAULTS = {"daily_units": 10_000, "insert_calls_per_day": 100, "search_calls_per_day": 100,
            "uploads_per_day": 100, "upload_session_seconds": SESSION_SECONDS,
            "chunk_granularity": CHUNK_GRANULARITY}
CATEGORIES = frozenset({"1", "2", "10", "15", "17", "19", "20", "22", "23", "24", "25", "26",
                        "27", "28", "29"})
PRIVACY = ("public", "private", "unlisted")
TAGS_MAX_CHARS = 500
STATUS_NAMES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
                404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE"}
MESSAGES = {
    "invalidTitle": "The request metadata specifies an invalid or empty video title.",
    "invalidDescription": "The request metadata specifies an invalid video description.",
    "invalidTags": "The request metadata specifies invalid video keywords.",
    "invalidCategoryId": "The snippet.categoryId property specifies an invalid category ID. Use "
                         "the videoCategories.list method to retrieve supported categories.",
    "invalidPublishAt": "The request metadata specifies an invalid scheduled publishing time.",
    "invalidVideoMetadata": "The request metadata is invalid.",
    "uploadLimitExceeded": "The user has exceeded the number of videos they may upload.",
    "quotaExceeded": 'The request cannot be completed because you have exceeded your <a '
                     'href="/youtube/v3/getting-started#quota">quota</a>.',
    "rateLimitExceeded": "Resource has been exhausted (e.g. check quota).",
    "userRateLimitExceeded": "The request cannot be completed because you have exceeded your "
                             "per-user rate limit.",
}
ANALYTICS_METRICS = ("views", "likes", "comments", "shares")
_RANGE = re.compile(r"bytes (?:(\*)|(\d+)-(\d+))/(\d+)")


def google_error(status: int, reason: str, message: str | None = None, *,
                 domain: str = "youtube.video", headers: Mapping[str, str] | None = None,
                 **extra: str) -> httpx.Response:
    message = message or MESSAGES.get(reason, reason)
    detail = {"message": message, "domain": domain, "reason": reason, **extra}
    body = {"error": {"code": status, "message": message, "errors": [detail],
                      "status": STATUS_NAMES.get(status, "UNKNOWN")}}
    return json_response(status, body, headers)


def fail(status: int, reason: str, message: str | None = None, **kwargs: Any) -> Reply:
    return Reply(google_error(status, reason, message, **kwargs))


def oauth_error(status: int, error: str, description: str) -> Reply:
    return Reply(json_response(status, {"error": error, "error_description": description}))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def etag(seed: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(seed.encode()).digest())[:27].decode()


def tags_length(tags: list[str]) -> int:
    """YouTube counts the commas between tags and the quotes around a tag with a space."""
    return sum(len(t) + (2 if " " in t else 0) for t in tags) + max(0, len(tags) - 1)


class YouTubeSandbox(SandboxNetwork):
    platform = "youtube"
    registered_token_kind = "access"

    def __init__(self, sandbox: Any) -> None:
        self.sessions: dict[str, dict[str, Any]] = {}
        self.videos: dict[str, dict[str, Any]] = {}
        self.quota: dict[tuple[str, str], int] = {}  # (bucket, Pacific date) -> used
        self.offline_codes: set[str] = set()
        super().__init__(sandbox)

    def routes(self) -> list[Route]:
        return [
            route("GET", r"/o/oauth2/v2/auth", self.authorize, "oauth", auth=False),
            route("POST", r"/token", self.token, "oauth", auth=False),
            route("POST", r"/revoke", self.revoke, "oauth", auth=False),
            route("POST", r"/upload/youtube/v3/videos", self.open_session, "media"),
            # The session URI itself authorises the bytes (no token needed).
            route("PUT", r"/upload/youtube/v3/videos", self.receive, "upload", auth=False),
            route("GET", r"/youtube/v3/channels", self.channels),
            route("GET", r"/youtube/v3/videos", self.list_videos),
            route("DELETE", r"/youtube/v3/videos", self.delete_video, "delete"),
            route("GET", r"/youtube/v3/playlistItems", self.playlist_items),
            route("GET", r"/youtube/v3/search", self.search),
            route("GET", r"/v2/reports", self.reports),
        ]

    def kinds_of(self, call: Call, route: Route) -> frozenset[str]:
        """The chunk that completes the upload is the one that creates the video."""
        if route.handler == self.receive:
            header = call.header("content-range")
            found = _RANGE.fullmatch(header or "")
            if (found and found.group(3) and int(found.group(3)) + 1 == int(found.group(4))) or (
                    header is None and call.body):  # the whole file in one PUT
                return frozenset({"publish"})
        return route.kinds

    def default_account(self) -> SandboxAccount:
        return self.sandbox.ensure_account(self.platform, "UCHeraldSandboxChannel01",
                                           "heraldsandbox")

    def setting(self, name: str) -> float:
        return self.sandbox.config.limit(self.platform, name, DEFAULTS[name])

    # -- error bodies
    def auth_error(self, call: Call, reason: str) -> httpx.Response:
        headers = {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'}
        if reason == "missing":
            return google_error(401, "required", "Request is missing required authentication "
                                "credential. Expected OAuth 2 access token, login cookie or other "
                                "valid authentication credential.", domain="global",
                                headers=headers, location="Authorization", locationType="header")
        headers["WWW-Authenticate"] += ', error="invalid_token"'
        return google_error(401, "authError", "Request had invalid authentication credentials. "
                            "Expected OAuth 2 access token, login cookie or other valid "
                            "authentication credential.", domain="global", headers=headers,
                            location="Authorization", locationType="header")

    def rate_limited(self, call: Call, reset_at: datetime, params: Mapping[str, Any]) -> httpx.Response:
        reason = str(params.get("reason", "rateLimitExceeded"))
        if reason in ("quotaExceeded", "dailyLimitExceeded"):
            return google_error(403, reason, domain="youtube.quota")
        if reason == "uploadLimitExceeded":
            return google_error(400, reason)
        seconds = max(1, math.ceil((reset_at - call.now).total_seconds()))
        status = 403 if reason == "userRateLimitExceeded" else 429
        return google_error(status, reason, domain="usageLimits" if status == 403 else "global",
                            headers={"Retry-After": str(seconds)})

    def server_error(self, call: Call, params: Mapping[str, Any]) -> httpx.Response:
        status = int(params.get("status", 503))
        message = ("The service is currently unavailable." if status == 503
                   else "Internal error encountered.")
        return google_error(status, "backendError", message, domain="global")

    def duplicate(self, call: Call, params: Mapping[str, Any]) -> httpx.Response:
        """YouTube refuses no upload as a duplicate; processing may reject the video with
        ``rejectionReason: duplicate``. The upload completes with such a video (not a post)."""
        session = self._session(call)
        session["received"] = session["total"] or len(call.body)
        video = self._create_video(call, session, rejected="duplicate")
        return json_response(200, self.resource(video, session["parts"], owner=True))

    def not_found(self, call: Call) -> httpx.Response:
        return google_error(404, "notFound", "Not Found", domain="global")

    # -- quota
    def check_limits(self, call: Call, route: Route) -> httpx.Response | None:
        if not route.auth or not call.account_id or call.path.startswith("/v2/"):
            return None  # OAuth, session URIs and Analytics do not use Data API quota
        bucket = {"POST /upload/youtube/v3/videos": "insert_calls_per_day",
                  "GET /youtube/v3/search": "search_calls_per_day"}.get(
            f"{call.method} {call.path}", "daily_units")
        day = call.now.astimezone(PACIFIC).date().isoformat()
        used = self.quota.get((bucket, day), 0) + 1  # refused requests cost too
        self.quota[(bucket, day)] = used
        if used > self.setting(bucket):
            return google_error(403, "quotaExceeded", domain="youtube.quota")
        return None

    # -- ids
    def _video_id(self) -> str:
        digest = hashlib.sha256(f"youtube-video:{self.sandbox.next_seq()}".encode()).digest()
        return base64.urlsafe_b64encode(digest)[:11].decode()

    # -- OAuth
    def authorize(self, call: Call) -> httpx.Response:
        q = call.query
        missing = [k for k in ("client_id", "redirect_uri", "response_type", "scope") if not q.get(k)]
        if missing or q.get("response_type") != "code":
            raise oauth_error(400, "invalid_request",
                              f"Missing required parameter: {missing[0] if missing else 'response_type'}")
        login = q.get("sandbox_login")
        account = (self.sandbox.account(self.platform, login) if login else None) or self.default_account()
        code = self.sandbox.issue_code(
            self.platform, account.external_account_id, client_id=q["client_id"],
            redirect_uri=q["redirect_uri"], challenge=q.get("code_challenge"),
            method=q.get("code_challenge_method", "plain"), scopes=tuple(q["scope"].split()))
        if q.get("access_type") == "offline":
            self.offline_codes.add(code)
        query = urlencode({"state": q.get("state", ""), "code": code, "scope": q["scope"]})
        separator = "&" if "?" in q["redirect_uri"] else "?"
        return httpx.Response(302, headers={"Location": f"{q['redirect_uri']}{separator}{query}"})

    def token(self, call: Call) -> httpx.Response:
        form = call.form
        if not form.get("client_id"):
            raise oauth_error(401, "invalid_client", "The OAuth client was not found.")
        if not form.get("client_secret"):
            raise oauth_error(400, "invalid_request", "client_secret is missing.")
        grant = form.get("grant_type")
        if grant == "authorization_code":
            raw_code = form.get("code") or ""
            code = self.sandbox.take_code(self.platform, raw_code)
            if code is None:
                raise oauth_error(400, "invalid_grant", "Bad Request")
            if code.redirect_uri != form.get("redirect_uri"):
                raise oauth_error(400, "redirect_uri_mismatch", "Bad Request")
            verifier = form.get("code_verifier") or ""
            if code.challenge and (pkce_challenge(verifier) if code.method == "S256"
                                   else verifier) != code.challenge:
                raise oauth_error(400, "invalid_grant", "Invalid code verifier.")
            offline = raw_code in self.offline_codes
            self.offline_codes.discard(raw_code)
            return self._issue(code.account_id, code.scopes, form["client_id"], offline=offline)
        if grant == "refresh_token":
            record, _ = self.sandbox.check_token(self.platform, form.get("refresh_token"), ("refresh",))
            if record is None:
                raise oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
            access = self.sandbox.issue_token(self.platform, record.account_id, ttl_seconds=ACCESS_TTL,
                                              scopes=record.scopes, client_id=form["client_id"],
                                              family=record.family, prefix="ya29.")
            return json_response(200, {"access_token": access.token, "expires_in": ACCESS_TTL,
                                       "scope": " ".join(record.scopes), "token_type": "Bearer"})
        raise oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant}")

    def _issue(self, account_id: str, scopes: tuple[str, ...], client_id: str, *,
               offline: bool) -> httpx.Response:
        family = secrets.token_hex(8)
        access = self.sandbox.issue_token(self.platform, account_id, ttl_seconds=ACCESS_TTL,
                                          scopes=scopes, client_id=client_id, family=family,
                                          prefix="ya29.")
        body: dict[str, Any] = {"access_token": access.token, "expires_in": ACCESS_TTL,
                                "scope": " ".join(scopes), "token_type": "Bearer"}
        if offline:
            refresh = self.sandbox.issue_token(self.platform, account_id, kind="refresh",
                                               scopes=scopes, client_id=client_id, family=family,
                                               prefix="1//")
            body["refresh_token"] = refresh.token
        return json_response(200, body)

    def revoke(self, call: Call) -> httpx.Response:
        record = self.sandbox.token_record(call.form.get("token") or call.query.get("token"))
        if record is None or record.platform != self.platform or record.revoked:
            raise oauth_error(400, "invalid_token", "Token expired or revoked")
        self.sandbox.revoke_tokens(self.platform, family=record.family, token=record.token)
        return json_response(200, {})

    # -- channels
    def channels(self, call: Call) -> httpx.Response:
        self._require(call, "part")
        wanted = call.query.get("id")
        if call.query.get("mine") != "true" and not wanted:
            raise fail(400, "missingRequiredParameter", "No filter selected. Expected one of: "
                       "mine, id, forHandle, forUsername, managedByMe", domain="youtube.parameter")
        accounts = [call.account] if call.query.get("mine") == "true" else [
            a for a in self.accounts() if a.external_account_id in (wanted or "").split(",")]
        items = [self._channel(a, call.query["part"]) for a in accounts if a is not None]
        return json_response(200, {"kind": "youtube#channelListResponse", "etag": etag(call.path),
                                   "pageInfo": {"totalResults": len(items),
                                                "resultsPerPage": len(items)}, "items": items})

    def _channel(self, account: SandboxAccount, parts: str) -> dict[str, Any]:
        channel: dict[str, Any] = {"kind": "youtube#channel", "etag": etag(account.external_account_id),
                                   "id": account.external_account_id}
        if "snippet" in parts:
            channel["snippet"] = {"title": account.username, "description": "",
                                  "customUrl": "@" + account.username.lstrip("@").lower(),
                                  "publishedAt": "2015-03-02T10:00:00Z"}
        if "contentDetails" in parts:
            channel["contentDetails"] = {"relatedPlaylists": {
                "likes": "", "uploads": "UU" + account.external_account_id[2:]}}
        return channel

    # -- the resumable upload
    def open_session(self, call: Call) -> httpx.Response:
        account = call.account
        assert account is not None
        if call.query.get("uploadType") != "resumable":
            raise fail(400, "badRequest", "The sandbox simulates only resumable uploads "
                       "(uploadType=resumable).", domain="global")
        parts = self._require(call, "part")
        if is_invalid_json(call.json) or not isinstance(call.json, dict):
            raise fail(400, "parseError", "Parse Error", domain="global")
        snippet, status = call.json.get("snippet") or {}, call.json.get("status") or {}
        self._check_metadata(call, snippet, status)
        total = self._declared_length(call)
        self._check_upload_limit(call, account)
        upload_id = "AUc8" + secrets.token_urlsafe(40)
        self.sessions[upload_id] = {
            "id": upload_id, "owner": account.external_account_id, "parts": parts,
            "snippet": snippet, "status": status, "total": total, "received": 0,
            "content_type": call.header("x-upload-content-type") or "video/*",
            "created_at": call.now, "video": None, "failed": call.notes.get("processing_failed")}
        query = urlencode({"uploadType": "resumable", "part": parts, "upload_id": upload_id})
        return httpx.Response(200, headers={
            "Location": f"{call.base}/upload/youtube/v3/videos?{query}",
            "X-GUploader-UploadID": upload_id})

    def _require(self, call: Call, name: str) -> str:
        value = call.query.get(name)
        if not value:
            raise fail(400, "required", f"Required parameter: {name}", domain="global",
                       location=name, locationType="parameter")
        return value

    def _check_metadata(self, call: Call, snippet: Any, status: Any) -> None:
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

    def _declared_length(self, call: Call) -> int | None:
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

    def _check_upload_limit(self, call: Call, account: SandboxAccount) -> None:
        if not self.sandbox.config.enforce_limits:
            return
        recent = sum(1 for _ in self.sandbox.recent_posts(self.platform, account.external_account_id,
                                                          timedelta(hours=24)))
        if recent >= self.setting("uploads_per_day"):
            raise fail(400, "uploadLimitExceeded")

    def _session(self, call: Call) -> dict[str, Any]:
        session = self.sessions.get(call.query.get("upload_id", ""))
        ttl = timedelta(seconds=self.setting("upload_session_seconds"))
        if session is None or call.now >= session["created_at"] + ttl:
            raise fail(404, "notFound", "The upload session was not found or has expired.",
                       domain="global")
        return session

    def receive(self, call: Call) -> httpx.Response:
        session = self._session(call)
        if session["video"] is not None:
            return json_response(200, self.resource(self.videos[session["video"]],
                                                    session["parts"], owner=True))
        header = call.header("content-range")
        found = _RANGE.fullmatch(header or f"bytes 0-{len(call.body) - 1}/{len(call.body)}")
        if found is None:
            raise fail(400, "badRequest", f"Invalid Content-Range: {header}", domain="global")
        total = int(found.group(4))
        if session["total"] is not None and total != session["total"]:
            raise fail(400, "badRequest", f"The Content-Range total {total} does not match "
                       f"X-Upload-Content-Length {session['total']}.", domain="global")
        if found.group(1) is None:
            self._take_chunk(call, session, int(found.group(2)), int(found.group(3)), total)
        if session["received"] >= total:
            video = self._create_video(call, session)
            return json_response(200, self.resource(video, session["parts"], owner=True))
        headers = {"X-GUploader-UploadID": session["id"]}
        if session["received"]:
            headers["Range"] = f"bytes=0-{session['received'] - 1}"
        return httpx.Response(308, headers=headers)

    def _take_chunk(self, call: Call, session: dict[str, Any], first: int, last: int,
                    total: int) -> None:
        size = len(call.body)
        if first > session["received"] or last < first or size != last - first + 1 or last >= total:
            raise fail(400, "badRequest", f"Invalid Content-Range bytes {first}-{last}/{total} for "
                       f"{size} bytes; the session holds bytes 0-{session['received'] - 1}.",
                       domain="global")
        session["total"] = total
        if last + 1 == total:
            session["received"] = total
            return
        granularity = int(self.setting("chunk_granularity"))
        if size < granularity:
            raise fail(400, "badRequest", "Invalid request. The number of bytes uploaded is "
                       f"required to be equal or greater than {granularity}, except for the final "
                       f"request (it's recommended to be the exact multiple of {granularity}). The "
                       f"received request contained {size} bytes, which does not meet this "
                       "requirement.", domain="global")
        # Only whole blocks are kept; Range tells the client where to go on from.
        session["received"] = max(session["received"], (last + 1) // granularity * granularity)

    def _create_video(self, call: Call, session: dict[str, Any], *,
                      rejected: str | None = None) -> dict[str, Any]:
        account = self.sandbox.account(self.platform, session["owner"])
        assert account is not None
        video_id = self._video_id()
        failed = session["failed"]
        if failed is not None and str(failed.get("status", "failed")).lower() == "rejected":
            rejected, failed = str(failed.get("error_code") or "copyright"), None
        video = {"id": video_id, "owner": session["owner"], "snippet": session["snippet"],
                 "status": session["status"], "size": session["total"],
                 "content_type": session["content_type"], "created_at": call.now,
                 "ready_at": call.now + timedelta(seconds=self.delay("video")),
                 "failed": failed, "rejected": rejected, "deleted": False}
        self.videos[video_id] = video
        session["video"] = video_id
        if rejected is None:  # a rejected video never becomes a post
            self.sandbox.record_post(
                self.platform, account, video_id, str(session["snippet"].get("description") or ""),
                "video", f"https://www.youtube.com/watch?v={video_id}", media=(session["id"],),
                status="failed" if failed is not None else "published")
        return video

    # -- videos
    def state(self, video: dict[str, Any]) -> str:
        if video["deleted"]:
            return "deleted"
        if video["rejected"]:
            return "rejected"
        if self.now < video["ready_at"]:
            return "uploaded"
        return "failed" if video["failed"] is not None else "processed"

    def resource(self, video: dict[str, Any], parts: str, *, owner: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": "youtube#video", "etag": etag(video["id"] + self.state(video)),
                               "id": video["id"]}
        wanted = {p.strip() for p in parts.split(",")}
        if "snippet" in wanted:
            out["snippet"] = self._snippet(video)
        if "status" in wanted:
            out["status"] = self._status(video)
        if "processingDetails" in wanted and owner:
            out["processingDetails"] = self._processing(video)
        if "fileDetails" in wanted and owner:
            # The sandbox's files are not real videos: no streams, no duration.
            out["fileDetails"] = {"fileSize": str(video["size"] or 0), "fileType": "video",
                                  "container": video["content_type"].rsplit("/", 1)[-1]}
        if "statistics" in wanted:
            counts = self._counts(video)
            out["statistics"] = {"viewCount": str(counts.views), "likeCount": str(counts.likes),
                                 "favoriteCount": "0", "commentCount": str(counts.comments)}
        return out

    def _snippet(self, video: dict[str, Any]) -> dict[str, Any]:
        snippet, account = video["snippet"], self.sandbox.account(self.platform, video["owner"])
        thumb = f"https://i.ytimg.com/vi/{video['id']}/default.jpg"
        out = {"publishedAt": iso(video["created_at"]), "channelId": video["owner"],
               "title": snippet.get("title"), "description": snippet.get("description") or "",
               "thumbnails": {"default": {"url": thumb, "width": 120, "height": 90}},
               "channelTitle": account.username if account else "",
               "categoryId": str(snippet.get("categoryId") or "22"), "liveBroadcastContent": "none",
               "localized": {"title": snippet.get("title"), "description": snippet.get("description") or ""}}
        if snippet.get("tags"):
            out["tags"] = list(snippet["tags"])
        return out

    def _status(self, video: dict[str, Any]) -> dict[str, Any]:
        asked, state = video["status"], self.state(video)
        out: dict[str, Any] = {"uploadStatus": state, "privacyStatus": asked.get("privacyStatus", "public"),
                               "license": "youtube", "embeddable": True, "publicStatsViewable": True,
                               "madeForKids": bool(asked.get("selfDeclaredMadeForKids", False)),
                               "selfDeclaredMadeForKids": bool(asked.get("selfDeclaredMadeForKids", False))}
        if asked.get("publishAt"):
            out["publishAt"] = asked["publishAt"]
        if state == "failed":
            out["failureReason"] = str((video["failed"] or {}).get("error_code") or "conversion")
        if state == "rejected":
            out["rejectionReason"] = video["rejected"]
        return out

    def _processing(self, video: dict[str, Any]) -> dict[str, Any]:
        state = self.state(video)
        if state == "uploaded":
            total = max(0.001, (video["ready_at"] - video["created_at"]).total_seconds())
            left = max(0.0, (video["ready_at"] - self.now).total_seconds())
            return {"processingStatus": "processing", "processingProgress": {
                "partsTotal": "1000", "partsProcessed": str(int(1000 * (1 - left / total))),
                "timeLeftMs": str(math.ceil(left * 1000))}, "fileDetailsAvailability": "inProgress"}
        if state in ("failed", "rejected"):
            return {"processingStatus": "failed", "processingFailureReason":
                    "transcodeFailed" if state == "failed" else "other"}
        return {"processingStatus": "terminated" if state == "deleted" else "succeeded",
                "fileDetailsAvailability": "available", "processingIssuesAvailability": "available",
                "thumbnailsAvailability": "available"}

    def _counts(self, video: dict[str, Any]) -> Engagement:
        post = self.sandbox.post(self.platform, video["id"])
        visible = self.state(video) == "processed" and video["status"].get("privacyStatus") != "private"
        return self.sandbox.engagement(post) if post is not None and visible else ZERO

    def _visible(self, video: dict[str, Any] | None, call: Call) -> bool:
        if video is None or video["deleted"]:
            return False
        owner = video["owner"] == call.account_id
        return owner or (video["rejected"] is None and video["status"].get("privacyStatus") != "private")

    def list_videos(self, call: Call) -> httpx.Response:
        parts = self._require(call, "part")
        ids = [i for i in (call.query.get("id") or "").split(",") if i]
        if not ids:
            raise fail(400, "missingRequiredParameter", "No filter selected. Expected one of: id, "
                       "myRating, chart", domain="youtube.parameter")
        if len(ids) > 50:
            raise fail(400, "invalidValue", "The id parameter takes at most 50 ids.",
                       domain="youtube.parameter")
        items = [self.resource(self.videos[i], parts, owner=self.videos[i]["owner"] == call.account_id)
                 for i in ids if self._visible(self.videos.get(i), call)]
        return json_response(200, {"kind": "youtube#videoListResponse", "etag": etag(",".join(ids)),
                                   "items": items, "pageInfo": {"totalResults": len(items),
                                                                "resultsPerPage": len(items)}})

    def delete_video(self, call: Call) -> httpx.Response:
        video = self.videos.get(call.query.get("id", ""))
        if video is None or video["deleted"]:
            raise fail(404, "videoNotFound", "The video that you are trying to delete cannot be "
                       "found.")
        if video["owner"] != call.account_id:
            raise fail(403, "forbidden", "The video that you are trying to delete cannot be "
                       "deleted. The request might not be properly authorized.")
        video["deleted"] = True
        post = self.sandbox.post(self.platform, video["id"])
        if post is not None:
            post.status = "deleted"
        return httpx.Response(204)

    def _uploads(self, channel: str, call: Call) -> list[dict[str, Any]]:
        found = [v for v in self.videos.values() if v["owner"] == channel and self._visible(v, call)]
        return sorted(found, key=lambda v: v["created_at"], reverse=True)

    def _page(self, call: Call, items: list[Any]) -> tuple[list[Any], int, dict[str, Any]]:
        try:
            size = int(call.query.get("maxResults") or 5)
            start = int((call.query.get("pageToken") or "P0")[1:])
        except ValueError:
            raise fail(400, "invalidPageToken", "The request specifies an invalid page token.",
                       domain="youtube.parameter") from None
        if not 0 <= size <= 50:
            raise fail(400, "invalidValue", "maxResults must be between 0 and 50.",
                       domain="youtube.parameter")
        page = items[start:start + size]
        extra: dict[str, Any] = {"pageInfo": {"totalResults": len(items), "resultsPerPage": size}}
        if start + size < len(items):
            extra["nextPageToken"] = f"P{start + size}"
        return page, start, extra

    def playlist_items(self, call: Call) -> httpx.Response:
        self._require(call, "part")
        playlist = call.query.get("playlistId", "")
        channel = "UC" + playlist[2:]
        if not playlist.startswith("UU") or self.sandbox.account(self.platform, channel) is None:
            raise fail(404, "playlistNotFound", "The playlist identified with the request's "
                       "<code>playlistId</code> parameter cannot be found.")
        page, first, extra = self._page(call, self._uploads(channel, call))
        items = [{"kind": "youtube#playlistItem", "etag": etag("pi" + v["id"]),
                  "id": base64.urlsafe_b64encode(f"{playlist}.{v['id']}".encode()).decode().rstrip("="),
                  "snippet": {**self._snippet(v), "playlistId": playlist, "position": first + n,
                              "resourceId": {"kind": "youtube#video", "videoId": v["id"]}},
                  "contentDetails": {"videoId": v["id"], "videoPublishedAt": iso(v["created_at"])},
                  "status": {"privacyStatus": v["status"].get("privacyStatus", "public")}}
                 for n, v in enumerate(page)]
        return json_response(200, {"kind": "youtube#playlistItemListResponse",
                                   "etag": etag(playlist), "items": items, **extra})

    def search(self, call: Call) -> httpx.Response:
        self._require(call, "part")
        if call.query.get("forMine") != "true" or call.query.get("type") != "video":
            raise fail(400, "invalidSearchFilter", "The sandbox simulates search.list only with "
                       "forMine=true&type=video.", domain="youtube.search")
        after = call.query.get("publishedAfter")
        since = datetime.fromisoformat(after.replace("Z", "+00:00")) if after else None
        videos = [v for v in self._uploads(call.account_id, call)
                  if since is None or v["created_at"] >= since]
        page, _, extra = self._page(call, videos)
        items = [{"kind": "youtube#searchResult", "etag": etag("s" + v["id"]),
                  "id": {"kind": "youtube#video", "videoId": v["id"]}, "snippet": self._snippet(v)}
                 for v in page]
        return json_response(200, {"kind": "youtube#searchListResponse", "etag": etag("search"),
                                   "regionCode": "US", "items": items, **extra})

    # -- YouTube Analytics
    def reports(self, call: Call) -> httpx.Response:
        for name in ("ids", "startDate", "endDate", "metrics"):
            if not call.query.get(name):
                raise fail(400, "required", f"Required parameter: {name}", domain="global")
        if call.query["ids"] not in ("channel==MINE", f"channel=={call.account_id}"):
            raise fail(403, "forbidden", "Forbidden", domain="global")
        metrics = call.query["metrics"].split(",")
        unknown = [m for m in metrics if m not in ANALYTICS_METRICS]
        if unknown:
            raise fail(400, "badRequest", f"Unknown identifier ({unknown[0]}) given in field "
                       "parameters.metrics.", domain="global")
        wanted = (call.query.get("filters") or "").removeprefix("video==")
        videos = [v for v in self._uploads(call.account_id, call)
                  if not wanted or v["id"] in wanted.split(",")]
        by_video = call.query.get("dimensions") == "video"
        headers = ([{"name": "video", "columnType": "DIMENSION", "dataType": "STRING"}] if by_video else [])
        headers += [{"name": m, "columnType": "METRIC", "dataType": "INTEGER"} for m in metrics]
        rows = [[v["id"], *(getattr(self._counts(v), m) for m in metrics)] for v in videos]
        if not by_video:
            rows = [[sum(r[i + 1] for r in rows) for i in range(len(metrics))]]
        return json_response(200, {"kind": "youtubeAnalytics#resultTable",
                                   "columnHeaders": headers, "rows": rows})
