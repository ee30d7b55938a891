"""X (API v2) in the sandbox: OAuth 2.0 with PKCE and rotating refresh tokens, ``POST
/2/tweets`` (weighted 280, media, replies, duplicate detection), simple and chunked media upload
with ``STATUS`` processing, lookups, user timelines, and ``x-rate-limit-*`` headers."""

from __future__ import annotations

import base64
import hashlib
import html
import math
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from core.domain.rules import RULES
from core.domain.text import x_weighted_length
from core.platforms.base import pkce_challenge
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

TWITTER_EPOCH_MS = 1288834974657
ACCESS_TTL = 7200
MEDIA_TTL = 86400
USER_ID_BASE = 1_500_000_000_000_000_000
MEDIA_LIMITS = {"tweet_image": 5 * 1024**2, "tweet_gif": 15 * 1024**2,
                "tweet_video": 512 * 1024**2, "amplify_video": 512 * 1024**2}
# (bucket, default limit, window seconds); the limits are configurable per sandbox.
BUCKETS = {"tweets:create": (100, 900), "tweets:read": (900, 900), "users:read": (900, 900),
           "media": (500, 900), "tweets:delete": (50, 900)}
USER_24H_DEFAULT = 2400
TOO_LONG = ("Your Tweet text is too long. For more information on how Twitter determines text "
            "length see https://github.com/twitter/twitter-text.")
_URL = re.compile(r"https?://\S+", re.IGNORECASE)


def problem(status: int, title: str, detail: str, type_: str = "about:blank",
            **extra: Any) -> httpx.Response:
    return json_response(status, {"title": title, "detail": detail, "type": type_,
                                  "status": status, **extra})


def invalid_request(message: str) -> Reply:
    return Reply(json_response(400, {
        "errors": [{"message": message}], "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request"}))


def _tco(url: str) -> str:
    return "https://t.co/" + base64.urlsafe_b64encode(
        hashlib.sha256(url.encode()).digest())[:10].decode().replace("-", "a").replace("_", "b")


def displayed_text(text: str) -> str:
    """Text as X returns it: links wrapped in t.co, ``& < >`` as HTML entities."""
    return html.escape(_URL.sub(lambda m: _tco(m.group(0)), text), quote=False)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def weighted_length(text: str) -> int:
    """``x_weighted_length``, without running twitter-text where it would count one per
    character: ASCII (weight 1 each, no emoji) with no dot (twitter-text finds no URL in text
    without one) and no carriage return (it folds CR LF into one character)."""
    if text.isascii() and "." not in text and "\r" not in text:
        return len(text)
    return x_weighted_length(text)


class TwitterSandbox(SandboxNetwork):
    platform = "twitter"
    registered_token_kind = "access"

    def __init__(self, sandbox: Any) -> None:
        self.tweets: dict[str, dict[str, Any]] = {}
        self.media: dict[str, dict[str, Any]] = {}
        super().__init__(sandbox)

    def routes(self) -> list[Route]:
        return [
            route("GET", r"/i/oauth2/authorize", self.authorize, "oauth", auth=False),
            route("POST", r"/2/oauth2/token", self.token, "oauth", auth=False),
            route("POST", r"/2/oauth2/revoke", self.revoke, "oauth", auth=False),
            route("GET", r"/2/users/me", self.me),
            route("GET", r"/2/users/(?P<user>\d+)/tweets", self.timeline),
            route("POST", r"/2/tweets", self.create_tweet, "publish"),
            route("GET", r"/2/tweets", self.lookup_many),
            route("GET", r"/2/tweets/(?P<id>\d+)", self.lookup_one),
            route("DELETE", r"/2/tweets/(?P<id>\d+)", self.delete_tweet, "delete"),
            route("POST", r"/2/media/upload", self.simple_upload, "media"),
            route("GET", r"/2/media/upload", self.media_status),
            route("POST", r"/2/media/upload/initialize", self.initialize, "media"),
            route("POST", r"/2/media/upload/(?P<id>\d+)/append", self.append, "upload"),
            route("POST", r"/2/media/upload/(?P<id>\d+)/finalize", self.finalize, "upload"),
        ]

    def default_account(self) -> SandboxAccount:
        return self.sandbox.ensure_account(self.platform, str(USER_ID_BASE + 1), "herald_sandbox")

    # -- error bodies
    def auth_error(self, call: Call, reason: str) -> httpx.Response:
        return problem(401, "Unauthorized", "Unauthorized")

    def rate_limited(self, call: Call, reset_at: datetime, params: Any) -> httpx.Response:
        response = problem(429, "Too Many Requests", "Too Many Requests")
        bucket = self._bucket(call)
        limit = BUCKETS.get(bucket, (100, 900))[0]
        response.headers.update({"x-rate-limit-limit": str(limit), "x-rate-limit-remaining": "0",
                                 "x-rate-limit-reset": str(int(reset_at.timestamp()))})
        call.notes["limited"] = True
        return response

    def server_error(self, call: Call, params: Any) -> httpx.Response:
        return problem(int(params.get("status", 503)), "Service Unavailable", "Service Unavailable")

    def duplicate(self, call: Call, params: Any) -> httpx.Response:
        return problem(403, "Forbidden", "You are not allowed to create a Tweet with duplicate "
                       "content.")

    def not_found(self, call: Call) -> httpx.Response:
        return problem(404, "Not Found Error", f"Sorry, that page does not exist: {call.path}",
                       "https://api.twitter.com/2/problems/resource-not-found")

    # -- limits
    def _bucket(self, call: Call) -> str:
        path = call.path
        if path.startswith("/2/media"):
            return "media"
        if path == "/2/tweets" and call.method == "POST":
            return "tweets:create"
        if call.method == "DELETE":
            return "tweets:delete"
        return "users:read" if path.startswith("/2/users") else "tweets:read"

    def check_limits(self, call: Call, route: Route) -> httpx.Response | None:
        if not route.auth or not call.account_id:
            return None
        bucket = self._bucket(call)
        default, window = BUCKETS[bucket]
        limit = int(self.sandbox.config.limit(self.platform, bucket, default))
        state = self.sandbox.hit_window((self.platform, bucket, call.account_id), limit, window)
        call.notes["window"] = state
        if bucket == "tweets:create":
            day_limit = int(self.sandbox.config.limit(self.platform, "tweets:24h", USER_24H_DEFAULT))
            day = self.sandbox.hit_window((self.platform, "tweets:24h", call.account_id),
                                          day_limit, 86400)
            call.notes["day"] = day
            if day.exceeded:
                return self.rate_limited(call, day.reset_at, {})
        if state.exceeded:
            return self.rate_limited(call, state.reset_at, {})
        return None

    def decorate(self, call: Call, route: Route, response: httpx.Response) -> None:
        state = call.notes.get("window")
        if state is not None and not call.notes.get("limited"):
            response.headers.update({"x-rate-limit-limit": str(state.limit),
                                     "x-rate-limit-remaining": str(state.remaining),
                                     "x-rate-limit-reset": str(int(state.reset_at.timestamp()))})
        day = call.notes.get("day")
        if day is not None:
            response.headers.update({"x-user-limit-24hour-limit": str(day.limit),
                                     "x-user-limit-24hour-remaining": str(day.remaining),
                                     "x-user-limit-24hour-reset": str(int(day.reset_at.timestamp()))})

    # -- ids
    def snowflake(self) -> str:
        seq = self.sandbox.next_seq()
        millis = int(self.now.timestamp() * 1000) - TWITTER_EPOCH_MS + seq // 4096
        return str((millis << 22) | (seq % 4096))

    # -- OAuth 2.0 with PKCE
    def authorize(self, call: Call) -> httpx.Response:
        q = call.query
        missing = [k for k in ("response_type", "client_id", "redirect_uri", "state",
                               "code_challenge") if not q.get(k)]
        if missing or q.get("response_type") != "code":
            return json_response(400, {"error": "invalid_request",
                                       "error_description": f"Missing or invalid: {', '.join(missing) or 'response_type'}"})
        login = q.get("sandbox_login")
        account = (self.sandbox.account(self.platform, login) if login else None) or self.default_account()
        code = self.sandbox.issue_code(
            self.platform, account.external_account_id, client_id=q["client_id"],
            redirect_uri=q["redirect_uri"], challenge=q["code_challenge"],
            method=q.get("code_challenge_method", "plain"), scopes=tuple(q.get("scope", "").split()))
        separator = "&" if "?" in q["redirect_uri"] else "?"
        return httpx.Response(302, headers={
            "Location": f"{q['redirect_uri']}{separator}state={q['state']}&code={code}"})

    def _client_id(self, call: Call) -> str | None:
        auth = call.header("authorization") or ""
        if auth.lower().startswith("basic "):
            try:
                return base64.b64decode(auth[6:]).decode().partition(":")[0]
            except ValueError:
                return None
        return call.form.get("client_id")

    def _grant_error(self, what: str) -> Reply:
        return Reply(json_response(400, {"error": "invalid_request",
                                         "error_description": f"Value passed for the {what} was invalid."}))

    def token(self, call: Call) -> httpx.Response:
        client_id = self._client_id(call)
        if not client_id:
            return json_response(401, {"error": "unauthorized_client",
                                       "error_description": "Missing valid authorization header"})
        grant = call.form.get("grant_type")
        if grant == "authorization_code":
            code = self.sandbox.take_code(self.platform, call.form.get("code"))
            verifier = call.form.get("code_verifier") or ""
            if code is None or code.redirect_uri != call.form.get("redirect_uri"):
                raise self._grant_error("authorization code")
            expected = pkce_challenge(verifier) if code.method == "S256" else verifier
            if expected != code.challenge:
                raise self._grant_error("authorization code")
            return self._issue(code.account_id, code.scopes, client_id)
        if grant == "refresh_token":
            record, _ = self.sandbox.check_token(self.platform, call.form.get("refresh_token"),
                                                 ("refresh",))
            if record is None:
                raise self._grant_error("token")
            record.revoked = True  # rotation: a refresh token works once
            return self._issue(record.account_id, record.scopes, client_id)
        return json_response(400, {"error": "unsupported_grant_type",
                                   "error_description": "grant_type is not supported"})

    def _issue(self, account_id: str, scopes: tuple[str, ...], client_id: str) -> httpx.Response:
        family = secrets.token_hex(8)
        access = self.sandbox.issue_token(self.platform, account_id, kind="access",
                                          ttl_seconds=ACCESS_TTL, scopes=scopes,
                                          client_id=client_id, family=family)
        body: dict[str, Any] = {"token_type": "bearer", "expires_in": ACCESS_TTL,
                                "access_token": access.token, "scope": " ".join(scopes)}
        if "offline.access" in scopes or not scopes:
            refresh = self.sandbox.issue_token(self.platform, account_id, kind="refresh",
                                               scopes=scopes, client_id=client_id, family=family)
            body["refresh_token"] = refresh.token
        return json_response(200, body)

    def revoke(self, call: Call) -> httpx.Response:
        if not self._client_id(call):
            return json_response(401, {"error": "unauthorized_client"})
        record = self.sandbox.token_record(call.form.get("token"))
        if record is not None and record.platform == self.platform:
            if record.family:
                self.sandbox.revoke_tokens(self.platform, family=record.family)
            record.revoked = True
        return json_response(200, {"revoked": True})

    # -- users
    def me(self, call: Call) -> httpx.Response:
        assert call.account is not None
        return json_response(200, {"data": {"id": call.account_id, "name": call.account.username,
                                            "username": call.account.username}})

    def timeline(self, call: Call) -> httpx.Response:
        user = call.match["user"]
        try:
            limit = int(call.query.get("max_results") or 10)
        except ValueError:
            limit = 0
        if not 5 <= limit <= 100:
            value = call.query.get("max_results")
            raise invalid_request(f"The `max_results` query parameter value [{value}] is not "
                                  "between 5 and 100")
        start = call.query.get("start_time")
        since = datetime.fromisoformat(start.replace("Z", "+00:00")) if start else None
        found = sorted((t for t in self.tweets.values() if t["author_id"] == user
                        and not t.get("deleted") and (since is None or t["created_at"] >= since)),
                       key=lambda t: t["created_at"], reverse=True)[:limit]
        meta: dict[str, Any] = {"result_count": len(found)}
        if not found:
            return json_response(200, {"meta": meta})
        meta.update(newest_id=found[0]["id"], oldest_id=found[-1]["id"])
        fields = call.query.get("tweet.fields", "")
        return json_response(200, {"data": [self._render(t, fields, call) for t in found],
                                   "meta": meta})

    # -- tweets
    def create_tweet(self, call: Call) -> httpx.Response:
        body = call.json
        if is_invalid_json(body) or not isinstance(body, dict):
            raise invalid_request("The request body must be a JSON object.")
        text = body.get("text")
        media_ids = [str(m) for m in (body.get("media") or {}).get("media_ids", [])]
        if not isinstance(text, str) and not media_ids:
            raise invalid_request("One of text or media.media_ids is required.")
        text = text or ""
        limit = RULES["twitter"].text.limit
        if weighted_length(text) > limit:
            raise invalid_request(TOO_LONG)
        self._check_media(call, media_ids)
        reply_to = str((body.get("reply") or {}).get("in_reply_to_tweet_id") or "") or None
        if reply_to and (reply_to not in self.tweets or self.tweets[reply_to].get("deleted")):
            raise invalid_request("The Post you are replying to has been deleted or is not "
                                  "visible to you.")
        self._check_duplicate(call, text)
        tweet_id = self.snowflake()
        account = call.account
        assert account is not None
        shown = displayed_text(text)
        parent = self.tweets.get(reply_to or "")
        self.tweets[tweet_id] = {
            "id": tweet_id, "text": shown, "raw_text": text, "author_id": account.external_account_id,
            "created_at": call.now, "in_reply_to": reply_to,
            "conversation_id": parent["conversation_id"] if parent else tweet_id,
            "media_keys": [self.media[m]["media_key"] for m in media_ids]}
        for media_id in media_ids:
            self.media[media_id]["used"] = True
        url = f"https://x.com/{account.username}/status/{tweet_id}"
        kind = "text" if not media_ids else ("video" if self.media[media_ids[0]]["kind"] != "image"
                                             else "image" if len(media_ids) == 1 else "carousel")
        self.sandbox.record_post(self.platform, account, tweet_id, text, kind, url,
                                 media=tuple(media_ids), reply_to=reply_to)
        return json_response(201, {"data": {"id": tweet_id, "text": shown,
                                            "edit_history_tweet_ids": [tweet_id]}})

    def _check_media(self, call: Call, media_ids: list[str]) -> None:
        kinds = []
        for media_id in media_ids:
            media = self.media.get(media_id)
            if (media is None or media["owner"] != call.account_id
                    or call.now >= media["created_at"] + timedelta(seconds=MEDIA_TTL)
                    or self._state(media) != "succeeded"):
                raise invalid_request("Your media IDs are invalid.")
            kinds.append(media["kind"])
        if len(media_ids) > 4 or (len(media_ids) > 1 and set(kinds) != {"image"}):
            raise invalid_request("You can attach up to 4 images, or 1 GIF, or 1 video.")

    def _check_duplicate(self, call: Call, text: str) -> None:
        if not text:
            return
        window = timedelta(seconds=self.sandbox.config.duplicate_window_seconds)
        for post in self.sandbox.recent_posts(self.platform, call.account_id, window):
            if post.text == text and post.status != "deleted":
                raise Reply(self.duplicate(call, {}))

    def _render(self, tweet: dict[str, Any], fields: str, call: Call) -> dict[str, Any]:
        wanted = {f.strip() for f in fields.split(",") if f.strip()}
        out: dict[str, Any] = {"id": tweet["id"], "text": tweet["text"],
                               "edit_history_tweet_ids": [tweet["id"]]}
        if "created_at" in wanted:
            out["created_at"] = iso(tweet["created_at"])
        if "author_id" in wanted:
            out["author_id"] = tweet["author_id"]
        if "conversation_id" in wanted:
            out["conversation_id"] = tweet["conversation_id"]
        post = self.sandbox.post(self.platform, tweet["id"])
        counts = self.sandbox.engagement(post) if post else None
        if "public_metrics" in wanted and counts is not None:
            out["public_metrics"] = {
                "retweet_count": counts.shares, "reply_count": counts.comments,
                "like_count": counts.likes, "quote_count": counts.quotes,
                "bookmark_count": counts.bookmarks, "impression_count": counts.views}
        owner_recent = (tweet["author_id"] == call.account_id
                        and call.now - tweet["created_at"] <= timedelta(days=30))
        if "non_public_metrics" in wanted and counts is not None and owner_recent:
            out["non_public_metrics"] = {"impression_count": counts.views,
                                         "url_link_clicks": counts.clicks,
                                         "user_profile_clicks": counts.clicks // 3}
        return out

    def _missing(self, tweet_id: str) -> dict[str, Any]:
        return {"value": tweet_id, "detail": f"Could not find tweet with ids: [{tweet_id}].",
                "title": "Not Found Error", "resource_type": "tweet", "parameter": "ids",
                "resource_id": tweet_id,
                "type": "https://api.twitter.com/2/problems/resource-not-found"}

    def lookup_many(self, call: Call) -> httpx.Response:
        ids = [i for i in (call.query.get("ids") or "").split(",") if i]
        if not ids or len(ids) > 100:
            raise invalid_request("The `ids` query parameter value must be 1 to 100 ids.")
        fields = call.query.get("tweet.fields", "")
        body: dict[str, Any] = {}
        found = [self.tweets[i] for i in ids if i in self.tweets and not self.tweets[i].get("deleted")]
        if found:
            body["data"] = [self._render(t, fields, call) for t in found]
        missing = [self._missing(i) for i in ids if i not in {t["id"] for t in found}]
        if missing:
            body["errors"] = missing
        return json_response(200, body)

    def lookup_one(self, call: Call) -> httpx.Response:
        tweet = self.tweets.get(call.match["id"])
        if tweet is None or tweet.get("deleted"):
            return json_response(200, {"errors": [self._missing(call.match["id"])]})
        return json_response(200, {"data": self._render(tweet, call.query.get("tweet.fields", ""), call)})

    def delete_tweet(self, call: Call) -> httpx.Response:
        tweet = self.tweets.get(call.match["id"])
        if tweet is None or tweet["author_id"] != call.account_id:
            return problem(403, "Forbidden", "You are not allowed to delete this Tweet.")
        tweet["deleted"] = True
        post = self.sandbox.post(self.platform, tweet["id"])
        if post is not None:
            post.status = "deleted"
        return json_response(200, {"data": {"deleted": True}})

    # -- media
    def _new_media(self, call: Call, category: str, media_type: str, total: int) -> dict[str, Any]:
        media_id = self.snowflake()
        kind = "image" if category == "tweet_image" else ("gif" if category == "tweet_gif" else "video")
        media: dict[str, Any] = {"id": media_id, "media_key": f"{3 if kind == 'image' else 7 if kind == 'video' else 16}_{media_id}",
                 "owner": call.account_id, "kind": kind, "category": category,
                 "media_type": media_type, "total": total, "segments": {}, "finalized": False,
                 "created_at": call.now, "ready_at": None,
                 "failed": call.notes.get("processing_failed")}
        self.media[media_id] = media
        return media

    def _check_size(self, category: str, size: int) -> None:
        if category not in MEDIA_LIMITS:
            raise invalid_request(f"media_category {category!r} is not one of "
                                  f"{', '.join(MEDIA_LIMITS)}.")
        if not 0 < size <= MEDIA_LIMITS[category]:
            raise invalid_request(f"File size {size} is not between 1 and "
                                  f"{MEDIA_LIMITS[category]} bytes for {category}.")

    def simple_upload(self, call: Call) -> httpx.Response:
        part = call.files.get("media")
        if part is None or part.filename is None and not part.data:
            raise invalid_request("The media field is required (multipart file).")
        category = str(call.param("media_category") or "tweet_image")
        if category != "tweet_image":
            raise invalid_request("Use the chunked upload (initialize/append/finalize) for "
                                  "videos and GIFs.")
        self._check_size(category, len(part.data))
        media = self._new_media(call, category, part.content_type or "image/jpeg", len(part.data))
        media.update(finalized=True, ready_at=call.now, segments={0: len(part.data)})
        return json_response(200, {"data": self._media_body(media)})

    def initialize(self, call: Call) -> httpx.Response:
        body = call.json if isinstance(call.json, dict) else {}
        category = str(body.get("media_category") or "")
        media_type = str(body.get("media_type") or "")
        try:
            total = int(body.get("total_bytes") or 0)
        except (TypeError, ValueError):
            total = 0
        if not media_type:
            raise invalid_request("media_type is required.")
        self._check_size(category, total)
        media = self._new_media(call, category, media_type, total)
        return json_response(200, {"data": {"id": media["id"], "media_key": media["media_key"],
                                            "expires_after_secs": MEDIA_TTL}})

    def _upload(self, call: Call) -> dict[str, Any]:
        media = self.media.get(call.match["id"])
        if media is None or media["owner"] != call.account_id:
            raise invalid_request("The media_id is not valid.")
        if media["finalized"]:
            raise invalid_request("This upload has already been finalized.")
        return media

    def append(self, call: Call) -> httpx.Response:
        media = self._upload(call)
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

    def finalize(self, call: Call) -> httpx.Response:
        media = self._upload(call)
        if sum(media["segments"].values()) != media["total"]:
            raise invalid_request("Segments do not add up to provided total file size.")
        media["finalized"] = True
        processing = 0.0 if media["kind"] == "image" else self.delay(media["kind"])
        media["ready_at"] = call.now + timedelta(seconds=processing)
        return json_response(200, {"data": self._media_body(media)})

    def _state(self, media: dict[str, Any]) -> str:
        if not media["finalized"] or media["ready_at"] is None:
            return "pending"
        total = max(0.001, (media["ready_at"] - media["created_at"]).total_seconds())
        elapsed = (self.now - media["created_at"]).total_seconds()
        if media["failed"] is not None and (elapsed >= total / 2 or total <= 0.001):
            return "failed"
        if self.now >= media["ready_at"]:
            return "succeeded"
        return "pending" if elapsed < total * 0.2 else "in_progress"

    def _media_body(self, media: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {"id": media["id"], "media_key": media["media_key"],
                                "size": media["total"], "expires_after_secs": MEDIA_TTL}
        if media["kind"] == "image" and media["failed"] is None:
            body["image"] = {"image_type": media["media_type"], "w": 1200, "h": 675}
            return body
        state = self._state(media)
        info: dict[str, Any] = {"state": state}
        if state in ("pending", "in_progress"):
            left = (media["ready_at"] - self.now).total_seconds() if media["ready_at"] else 1
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

    def media_status(self, call: Call) -> httpx.Response:
        if call.query.get("command", "").upper() != "STATUS":
            raise invalid_request("command must be STATUS for GET.")
        media = self.media.get(call.query.get("media_id", ""))
        if media is None or media["owner"] != call.account_id:
            raise invalid_request("The media_id is not valid.")
        return json_response(200, {"data": self._media_body(media)})
