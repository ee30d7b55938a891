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

This module holds ``YouTubeSandbox`` with channels and videos as the Data API shows them;
``oauth``, ``upload``, ``analytics`` and ``responses`` beside it hold the rest (see the package).
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from core.platforms.rate_limits import PACIFIC
from core.platforms.sandbox.base import (
    Call,
    Route,
    SandboxAccount,
    SandboxNetwork,
    json_response,
    route,
)
from core.platforms.sandbox.engagement import ZERO, Engagement
from core.platforms.sandbox.youtube import analytics, oauth, upload
from core.platforms.sandbox.youtube.responses import etag, fail, google_error, iso
from core.platforms.sandbox.youtube.upload import CONTENT_RANGE

CHUNK_GRANULARITY = 256 * 1024
SESSION_SECONDS = 7 * 86400  # a session URI stays usable for about a week
DEFAULTS = {"daily_units": 10_000, "insert_calls_per_day": 100, "search_calls_per_day": 100,
            "uploads_per_day": 100, "upload_session_seconds": SESSION_SECONDS,
            "chunk_granularity": CHUNK_GRANULARITY}


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
            found = CONTENT_RANGE.fullmatch(header or "")
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
        session = upload.session_of(self, call)
        session["received"] = session["total"] or len(call.body)
        video = upload.create_video(self, call, session, rejected="duplicate")
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

    # -- OAuth (oauth.py)
    authorize = oauth.authorize
    token = oauth.token
    revoke = oauth.revoke

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

    # -- the resumable upload (upload.py)
    open_session = upload.open_session
    receive = upload.receive

    def _require(self, call: Call, name: str) -> str:
        value = call.query.get(name)
        if not value:
            raise fail(400, "required", f"Required parameter: {name}", domain="global",
                       location=name, locationType="parameter")
        return value

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

    # -- YouTube Analytics (analytics.py)
    reports = analytics.reports
