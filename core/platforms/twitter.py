"""X (API v2).

``POST /2/tweets`` (201 ``{data: {id}}``) after media upload: images with the simple upload,
videos and GIFs chunked (initialize / append / finalize, then ``STATUS`` polling). Threads
(``options["thread"]``) are chained replies. OAuth 2.0 with PKCE (S256); refresh tokens rotate,
so the new one is returned and the old one is dead. Staging ahead (``stage``) uploads the media
before the scheduled time (media ids last 24 hours), so the publish is ``POST /2/tweets`` alone.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx

from core.domain.text import normalize_text
from core.errors import (
    AuthPlatformError,
    PermanentPlatformError,
    PlatformError,
    RetryablePlatformError,
)
from core.platforms.base import (
    AccountCredentials,
    Connector,
    MetricSnapshot,
    PublishRequest,
    PublishResult,
    TokenSet,
    chunks,
    same_text,
    search_since,
)
from core.platforms.http import body_excerpt, error_body, json_object, require_str
from core.platforms.media import FetchedMedia, fetch_media
from core.platforms.rate_limits import retry_after_header, x_retry_after

log = logging.getLogger("herald.platforms.twitter")

WEB = "https://x.com"
IMAGE_MAX_BYTES = 5 * 1024**2
GIF_MAX_BYTES = 15 * 1024**2
VIDEO_MAX_BYTES = 512 * 1024**2
CHUNK_BYTES = 4 * 1024**2  # APPEND takes up to 5 MB per segment
LOOKUP_BATCH = 100
# Uploaded media expires 24 hours after upload (``expires_after_secs``); staged media is used for
# an hour less. X's answer when a media id is unusable says so in this message.
MEDIA_STAGING_TTL = timedelta(hours=23)
STAGED_GONE_MESSAGE = "media IDs are invalid"
OPTION_KEYS = ("reply_settings", "quote_tweet_id", "poll", "community_id", "for_super_followers_only")


def x_error(platform: str, response: httpx.Response, now: datetime) -> PlatformError:
    """Classify an X error response (RFC 7807 problem or ``{"errors": [...]}``)."""
    status = response.status_code
    body = error_body(response)
    errors = body.get("errors") if isinstance(body.get("errors"), list) else []
    first = errors[0] if errors and isinstance(errors[0], Mapping) else {}
    message = str(first.get("message") or body.get("detail") or body.get("error_description")
                  or body.get("title") or body.get("error") or f"HTTP {status} from "
                  f"{response.request.method} {response.request.url.path}")
    problem_type = body.get("type") if body.get("type") != "about:blank" else None
    kwargs: dict[str, Any] = {"status": status, "response_body": body_excerpt(response),
                              "network_code": problem_type or first.get("code") or body.get("error") or status}
    if status == 429:
        retry_at = x_retry_after(response.headers) or retry_after_header(response.headers, now)
        return RetryablePlatformError(platform, message, retry_after=retry_at, **kwargs)
    if status == 401:
        return AuthPlatformError(platform, message, **kwargs)
    if status >= 500:
        return RetryablePlatformError(platform, message, retry_after=retry_after_header(
            response.headers, now), **kwargs)
    if status == 403 and "duplicate content" in message.lower():
        kwargs["network_code"] = "duplicate"
    return PermanentPlatformError(platform, message, **kwargs)


class TwitterConnector(Connector):
    platform = "twitter"
    default_scopes = ("tweet.read", "tweet.write", "users.read", "media.write", "offline.access")

    def call(self, method: str, path: str, *, token: str, outcome_critical: bool = False,
             **kwargs: Any) -> dict[str, Any]:
        def attempt() -> dict[str, Any]:
            response = self.http.send(method, self.api(path), token=token,
                                      outcome_critical=outcome_critical, **kwargs)
            if response.status_code >= 400:
                raise x_error(self.platform, response, self.now())
            return json_object(self.platform, response) if response.content else {}

        return self.step(attempt, what=f"{method} {path}", outcome_critical=outcome_critical)

    # -- publishing
    def publish(self, request: PublishRequest, account: AccountCredentials) -> PublishResult:
        if request.post_type not in ("text", "link", "image", "carousel", "video"):
            raise self.unsupported(request)
        if request.post_type in ("image", "carousel", "video"):
            self.require_media(request)
        payload: dict[str, Any] = {"text": request.text} if request.text else {}
        if request.staged:
            media_ids = [str(m) for m in request.staged["media_ids"]]
        else:
            media_ids = self._uploaded(request, account)
        if media_ids:
            payload["media"] = {"media_ids": media_ids}
        payload.update({k: request.options[k] for k in OPTION_KEYS if request.options.get(k)})
        if request.options.get("reply_to"):
            payload["reply"] = {"in_reply_to_tweet_id": str(request.options["reply_to"])}
        with self.refusing_staged(request, "the media", gone=lambda exc: STAGED_GONE_MESSAGE in exc.network_message):
            head = self._tweet(payload, account)
        raw: dict[str, Any] = {"data": head, "thread_ids": [head["id"]]}
        self._thread(request, account, head["id"], raw)
        return PublishResult(head["id"], status_url(account.username, head["id"]), raw)

    staging_ttl = MEDIA_STAGING_TTL

    def stage(self, request: PublishRequest, account: AccountCredentials) -> dict[str, Any] | None:
        if not request.media_urls:
            return None  # a text post is one call: nothing to do ahead
        if request.post_type in ("image", "carousel", "video"):
            self.require_media(request)
        return {"media_ids": self._uploaded(request, account)}

    def _uploaded(self, request: PublishRequest, account: AccountCredentials) -> list[str]:
        return [self._upload(url, request.kind_of(url), account) for url in request.media_urls]

    def _tweet(self, payload: dict[str, Any], account: AccountCredentials) -> dict[str, Any]:
        body = self.call("POST", "2/tweets", token=account.access_token, json=payload,
                         outcome_critical=True)
        data = body.get("data")
        if not isinstance(data, Mapping) or not data.get("id"):
            raise PermanentPlatformError(self.platform, "answered POST /2/tweets without data.id",
                                         response_body=str(body)[:2000])
        return {**data, "id": str(data["id"])}

    def _thread(self, request: PublishRequest, account: AccountCredentials, head: str,
                raw: dict[str, Any]) -> None:
        """Post ``options["thread"]`` as chained replies. The head is already public, so a
        failing reply does not fail the publish: it is reported in ``raw["thread_error"]``
        with the index of the first reply that did not go out."""
        previous = head
        for index, text in enumerate(request.options.get("thread") or []):
            try:
                reply = self._tweet({"text": normalize_text(str(text)),
                                     "reply": {"in_reply_to_tweet_id": previous}}, account)
            except PlatformError as exc:
                log.warning("X thread of %s stopped at reply %d: %s", head, index, exc)
                raw["thread_error"] = {"index": index, "error": exc.code,
                                       "message": exc.network_message}
                return
            previous = reply["id"]
            raw["thread_ids"].append(previous)

    def _upload(self, url: str, kind: str, account: AccountCredentials) -> str:
        limits = {"image": IMAGE_MAX_BYTES, "gif": GIF_MAX_BYTES, "video": VIDEO_MAX_BYTES}
        if kind not in limits:
            raise PermanentPlatformError(self.platform, f"cannot tell whether {url} is an image, "
                                         "GIF or video")
        with fetch_media(url, max_bytes=limits[kind], allowed_kinds={kind},
                         allow_hosts=self.config.media_allow_hosts, client=self.http.client,
                         platform=self.platform) as media:
            if kind == "image":
                return self._simple_upload(media, account)
            return self._chunked_upload(media, kind, account)

    def _simple_upload(self, media: FetchedMedia, account: AccountCredentials) -> str:
        response_body = self.call(
            "POST", "2/media/upload", token=account.access_token,
            data={"media_category": "tweet_image"},
            files={"media": (f"media.{media.extension}", media.read(), media.content_type)})
        return self._media_id(response_body)

    def _chunked_upload(self, media: FetchedMedia, kind: str, account: AccountCredentials) -> str:
        token = account.access_token
        category = "tweet_gif" if kind == "gif" else "tweet_video"
        init = self.call("POST", "2/media/upload/initialize", token=token, json={
            "media_type": media.content_type, "total_bytes": media.size,
            "media_category": category})
        media_id = self._media_id(init)
        for index, block in enumerate(media.iter_chunks(CHUNK_BYTES)):
            self.call("POST", f"2/media/upload/{media_id}/append", token=token,
                      data={"segment_index": str(index)},
                      files={"media": ("blob", block, "application/octet-stream")})
        final = self.call("POST", f"2/media/upload/{media_id}/finalize", token=token)
        info = (final.get("data") or {}).get("processing_info")
        if isinstance(info, Mapping) and info.get("state") != "succeeded":
            self._await_media(media_id, info, token)
        return media_id

    def _await_media(self, media_id: str, first: Mapping[str, Any], token: str) -> None:
        """Poll ``STATUS`` until ``succeeded``, sleeping ``check_after_secs`` between checks;
        the first state comes from FINALIZE."""
        seen: dict[str, Any] = {"info": first, "fresh": True}

        def step() -> tuple[bool, Mapping[str, Any]]:
            if not seen["fresh"]:
                body = self.call("GET", "2/media/upload", token=token,
                                 params={"command": "STATUS", "media_id": media_id})
                seen["info"] = (body.get("data") or {}).get("processing_info") or {"state": "succeeded"}
            seen["fresh"] = False
            info = seen["info"]
            if info.get("state") == "failed":
                error = info.get("error") or {}
                raise PermanentPlatformError(
                    self.platform, f"media {media_id} failed processing: "
                    f"{error.get('message') or error.get('name') or 'unknown error'}",
                    network_code=error.get("name") or "failed")
            return info.get("state") == "succeeded", info

        def hint(info: Mapping[str, Any]) -> float | None:
            seconds = info.get("check_after_secs")
            return float(seconds) if isinstance(seconds, int | float) else None

        self.wait(step, what=f"X media {media_id}", hint=hint)

    def _media_id(self, body: Mapping[str, Any]) -> str:
        data = body.get("data")
        if not isinstance(data, Mapping) or not data.get("id"):
            raise PermanentPlatformError(self.platform, "answered the media upload without "
                                         "data.id", response_body=str(body)[:2000])
        return str(data["id"])

    # -- reconciliation
    def find_existing(self, request: PublishRequest, account: AccountCredentials, *,
                      since: datetime | None = None) -> PublishResult | None:
        since = since or search_since(request, self.now())
        body = self.call("GET", f"2/users/{account.external_account_id}/tweets",
                         token=account.access_token, params={
                             "max_results": "100", "exclude": "retweets",
                             "start_time": since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                             "tweet.fields": "created_at,text,conversation_id"})
        tweets = [t for t in body.get("data") or [] if isinstance(t, Mapping) and t.get("id")]
        for tweet in reversed(tweets):  # oldest first: the original, not a later duplicate
            if same_text(tweet.get("text"), request.text):
                return PublishResult(str(tweet["id"]), status_url(account.username, str(tweet["id"])),
                                     dict(tweet))
        return None

    # -- metrics
    def fetch_metrics(self, external_ids: Sequence[str], account: AccountCredentials
                      ) -> dict[str, MetricSnapshot]:
        metrics: dict[str, MetricSnapshot] = {}
        for batch in chunks(list(dict.fromkeys(external_ids)), LOOKUP_BATCH):
            body = self.call("GET", "2/tweets", token=account.access_token,
                             params={"ids": ",".join(batch), "tweet.fields": "public_metrics"})
            for tweet in body.get("data") or []:
                public = tweet.get("public_metrics") if isinstance(tweet, Mapping) else None
                if not isinstance(public, Mapping):
                    continue

                def count(name: str, values: Mapping[str, Any] = public) -> int:
                    value = values.get(name)
                    return int(value) if isinstance(value, int | float) else 0

                metrics[str(tweet["id"])] = MetricSnapshot(
                    external_id=str(tweet["id"]), likes=count("like_count"),
                    comments=count("reply_count"),
                    shares=count("retweet_count") + count("quote_count"),
                    views=count("impression_count"), saves=count("bookmark_count"))
        return metrics

    # -- OAuth 2.0 with PKCE
    def authorize_url(self, state: str, redirect_uri: str, code_challenge: str | None = None) -> str:
        if not code_challenge:
            raise ValueError("X requires PKCE: pass the S256 code_challenge "
                             "(core.platforms.base.make_pkce_pair)")
        return self.oauth("i/oauth2/authorize") + "?" + urlencode({
            "response_type": "code", "client_id": self.config.client_id or "",
            "redirect_uri": redirect_uri, "scope": " ".join(self.scopes), "state": state,
            "code_challenge": code_challenge, "code_challenge_method": "S256"})

    def _client_auth(self, form: dict[str, str]) -> dict[str, str]:
        """Confidential clients authenticate with HTTP Basic; public ones send client_id."""
        form["client_id"] = self.config.client_id or ""
        if not self.config.client_secret:
            return {}
        pair = f"{self.config.client_id}:{self.config.client_secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}

    def _token_call(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        headers = self._client_auth(form)
        response = self.http.send("POST", self.api(path), data=form, headers=headers)
        return self.token_answer(response, x_error)

    def _token_set(self, body: dict[str, Any], identity: dict[str, Any] | None = None) -> TokenSet:
        return self.oauth_token_set(body, identity or {})

    def exchange_code(self, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        if not code_verifier:
            raise ValueError("X requires the PKCE code_verifier to exchange a code")
        body = self._token_call("2/oauth2/token", {
            "code": code, "grant_type": "authorization_code", "redirect_uri": redirect_uri,
            "code_verifier": code_verifier})
        tokens = self._token_set(body)
        response = self.http.send("GET", self.api("2/users/me"), token=tokens.access_token)
        if response.status_code >= 400:
            raise x_error(self.platform, response, self.now())
        me = json_object(self.platform, response)
        user_id = require_str(self.platform, response, me, "data", "id")
        username = require_str(self.platform, response, me, "data", "username")
        return self._token_set(body, identity={"external_account_id": user_id,
                                               "username": username, "extra": {}})

    def refresh_token(self, account: AccountCredentials) -> TokenSet:
        """A new access token and a new refresh token: X rotates them, the old one is dead."""
        if not account.refresh_token:
            raise AuthPlatformError(self.platform, "no refresh token stored (the offline.access "
                                    "scope was not granted): reconnect the account")
        body = self._token_call("2/oauth2/token", {"grant_type": "refresh_token",
                                                   "refresh_token": account.refresh_token})
        return self._token_set(body, identity={"external_account_id": account.external_account_id,
                                               "username": account.username,
                                               "extra": dict(account.extra)})

    def revoke(self, account: AccountCredentials) -> None:
        for token, hint in ((account.access_token, "access_token"),
                            (account.refresh_token, "refresh_token")):
            if token:
                try:
                    self._token_call("2/oauth2/revoke", {"token": token, "token_type_hint": hint})
                except AuthPlatformError:
                    log.info("X %s already invalid; nothing to revoke", hint)


def status_url(username: str, tweet_id: str) -> str:
    return f"{WEB}/{username}/status/{tweet_id}"
