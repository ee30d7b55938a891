"""X (API v2) in the sandbox: OAuth 2.0 with PKCE and rotating refresh tokens, ``POST
/2/tweets`` (weighted 280, media, replies, duplicate detection), simple and chunked media upload
with ``STATUS`` processing, lookups, user timelines, and ``x-rate-limit-*`` headers.

This module holds ``TwitterSandbox`` (routes, limits, users, tweets) and the text helpers;
``problems`` the error bodies, ``media_upload`` the media upload, ``oauth`` OAuth 2.0."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from core.domain.rules import RULES
from core.domain.text import x_weighted_length
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
from core.platforms.sandbox.twitter import media_upload, oauth
from core.platforms.sandbox.twitter.media_upload import MEDIA_TTL, processing_state
from core.platforms.sandbox.twitter.problems import invalid_request, problem

TWITTER_EPOCH_MS = 1288834974657
USER_ID_BASE = 1_500_000_000_000_000_000
# (bucket, default limit, window seconds); the limits are configurable per sandbox.
BUCKETS = {"tweets:create": (100, 900), "tweets:read": (900, 900), "users:read": (900, 900),
           "media": (500, 900), "tweets:delete": (50, 900)}
USER_24H_DEFAULT = 2400
TOO_LONG = ("Your Tweet text is too long. For more information on how Twitter determines text "
            "length see https://github.com/twitter/twitter-text.")
_URL = re.compile(r"https?://\S+", re.IGNORECASE)


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

    # -- OAuth 2.0 with PKCE (oauth.py)
    authorize = oauth.authorize
    token = oauth.token
    revoke = oauth.revoke

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
                    or processing_state(self, media) != "succeeded"):
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

    # -- media (media_upload.py)
    simple_upload = media_upload.simple_upload
    initialize = media_upload.initialize
    append = media_upload.append
    finalize = media_upload.finalize
    media_status = media_upload.media_status
