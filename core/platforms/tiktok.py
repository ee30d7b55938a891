"""TikTok (Content Posting API, ``https://open.tiktokapis.com``).

Every answer is ``{"data": ..., "error": {"code": "ok" | <code>, "message", "log_id"}}``.
Publishing starts with ``creator_info`` (the creator's privacy options and interaction settings,
which TikTok requires apps to honour), then:

* video: ``/v2/post/publish/video/init/`` with ``FILE_UPLOAD`` (chunked ``PUT`` to the
  ``upload_url`` with ``Content-Range``, the Media Transfer Guide's chunk math in ``ChunkPolicy``)
  or ``PULL_FROM_URL`` (``options["source"]``);
* photos (``image``/``carousel``): ``/v2/post/publish/content/init/`` ``PHOTO`` ``DIRECT_POST``
  pulled from the URLs (the domain must be verified with TikTok);

and ``status/fetch`` is polled until ``PUBLISH_COMPLETE``; the public id is
``publicaly_available_post_id`` (sic). Once TikTok has everything it needs (the last chunk, or a
pull init) the post will appear on its own, so trouble after that point is an ``UnknownOutcome``
to reconcile, never a reason to publish again. Refresh tokens rotate.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import httpx

from core.errors import (
    AuthPlatformError,
    PermanentPlatformError,
    PlatformError,
    RetryablePlatformError,
    UnknownOutcome,
)
from core.platforms.base import (
    AccountCredentials,
    Connector,
    ConnectorConfig,
    MetricSnapshot,
    ProcessingTimeout,
    PublishRequest,
    PublishResult,
    TokenSet,
    as_auth_error,
    chunks,
    same_text,
    search_since,
)
from core.platforms.http import (
    body_excerpt,
    json_object,
    retry_after_header,
    tiktok_retry_after,
    what,
)
from core.platforms.media import FetchedMedia, fetch_media

log = logging.getLogger("herald.platforms.tiktok")

WEB = "https://www.tiktok.com"
JSON = {"Content-Type": "application/json; charset=UTF-8"}
MiB = 1024**2
VIDEO_MAX_BYTES = 4 * 1024**3
PRIVACY_LEVELS = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY")
PREFERRED_PRIVACY = "PUBLIC_TO_EVERYONE"
AUTH_CODES = frozenset({"access_token_invalid", "scope_not_authorized", "scope_permission_missed"})
QUERY_BATCH = 20  # video/query takes at most 20 ids
LIST_PAGE = 20
FIND_MAX_PAGES = 5
QUERY_FIELDS = "id,title,video_description,create_time,share_url,like_count,comment_count,share_count,view_count"
LIST_FIELDS = "id,title,video_description,create_time,share_url"
VIDEO_OPTIONS = ("video_cover_timestamp_ms", "brand_content_toggle", "brand_organic_toggle", "is_aigc")
PHOTO_OPTIONS = ("auto_add_music", "brand_content_toggle", "brand_organic_toggle")


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


def tiktok_error(platform: str, response: httpx.Response, now: datetime) -> PlatformError:
    """Classify a TikTok error: the ``{data, error: {code, message, log_id}}`` envelope, or
    the OAuth endpoints' ``{error, error_description, log_id}``."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    body = body if isinstance(body, Mapping) else {}
    error = body.get("error")
    if isinstance(error, Mapping):
        code, message = error.get("code"), error.get("message")
    else:
        code, message = error, body.get("error_description")
    code = str(code) if code else None
    text = str(message or code or f"HTTP {status} from {what(response)}")
    kwargs: dict[str, Any] = {"status": status, "network_code": code or status,
                              "response_body": body_excerpt(response)}
    if status == 429 or code == "rate_limit_exceeded":
        retry_at = retry_after_header(response.headers, now) or tiktok_retry_after(status, body, now)
        return RetryablePlatformError(platform, text, retry_after=retry_at, **kwargs)
    if status == 401 or code in AUTH_CODES:
        return AuthPlatformError(platform, text, **kwargs)
    if status >= 500 or code == "internal_error":
        return RetryablePlatformError(platform, text, retry_after=retry_after_header(
            response.headers, now), **kwargs)
    return PermanentPlatformError(platform, text, **kwargs)  # spam_risk_*, invalid_params, ...


def choose_privacy(requested: object, offered: Sequence[str]) -> str:
    """The privacy level to post with: the requested one if the creator offers it (else a
    clear refusal), otherwise ``PUBLIC_TO_EVERYONE`` if offered, otherwise the first option."""
    if requested:
        if requested not in offered:
            raise PermanentPlatformError(
                "tiktok", f"privacy level {requested} is not offered for this account; "
                f"choose one of {', '.join(offered)}", network_code="privacy_level_option_mismatch")
        return str(requested)
    return PREFERRED_PRIVACY if PREFERRED_PRIVACY in offered else offered[0]


def _data(body: Mapping[str, Any]) -> Mapping[str, Any]:
    data = body.get("data")
    return data if isinstance(data, Mapping) else {}


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


class TikTokConnector(Connector):
    platform = "tiktok"
    default_scopes = ("user.info.basic", "user.info.profile", "video.publish", "video.upload",
                      "video.list")

    def __init__(self, config: ConnectorConfig) -> None:
        super().__init__(config)
        self.chunks = ChunkPolicy()

    def call(self, method: str, path: str, *, token: str, outcome_critical: bool = False,
             **kwargs: Any) -> dict[str, Any]:
        """One API call; an HTTP error or an ``error.code`` other than ``ok`` raises."""
        def attempt() -> dict[str, Any]:
            response = self.http.send(method, self.api(path), token=token, headers=JSON,
                                      outcome_critical=outcome_critical, **kwargs)
            if response.status_code >= 400:
                raise tiktok_error(self.platform, response, self.now())
            body = json_object(self.platform, response)
            error = body.get("error")
            if isinstance(error, Mapping) and error.get("code") not in (None, "ok"):
                raise tiktok_error(self.platform, response, self.now())
            return body

        return self.step(attempt, what=f"{method} {path}", outcome_critical=outcome_critical)

    def _required(self, body: Mapping[str, Any], key: str, what_for: str) -> Any:
        value = _data(body).get(key)
        if value in (None, "", []):
            raise PermanentPlatformError(self.platform, f"answered {what_for} without data.{key}",
                                         response_body=str(body)[:2000])
        return value

    # -- publishing
    def publish(self, request: PublishRequest, account: AccountCredentials) -> PublishResult:
        if request.post_type not in ("video", "reel", "image", "carousel"):
            raise self.unsupported(request)
        self.require_media(request)
        photo = request.post_type in ("image", "carousel")
        if (photo and set(request.kinds) != {"image"}) or (not photo and request.kinds != ["video"]):
            raise PermanentPlatformError(self.platform, "TikTok posts are one video, or 1-35 "
                                         "photos (JPEG/WEBP); they cannot be mixed")
        token = account.access_token
        creator = _data(self.call("POST", "v2/post/publish/creator_info/query/", token=token))
        offered = [str(o) for o in creator.get("privacy_level_options") or [] if o]
        if not offered:
            raise PermanentPlatformError(
                self.platform, "answered creator_info without data.privacy_level_options; "
                "without them no valid privacy level can be chosen")
        privacy = choose_privacy(request.options.get("privacy_level"), offered)
        publish_id = (self._photos(request, creator, privacy, token) if photo
                      else self._video(request, creator, privacy, token))
        status = self._await_publish(publish_id, token)
        username = str(creator.get("creator_username") or account.username)
        public = [str(i) for i in status.get("publicaly_available_post_id") or [] if i]
        raw = {"publish_id": publish_id, "status": dict(status), "privacy_level": privacy}
        if not public:  # private posts have no public id
            return PublishResult(publish_id, f"{WEB}/@{username}", raw)
        return PublishResult(public[0], post_url(username, public[0], photo=photo), raw)

    def _flags(self, request: PublishRequest, creator: Mapping[str, Any],
               names: Sequence[str]) -> dict[str, Any]:
        """Interaction switches: what the post asks for, but never on when the creator
        turned it off in the app (``comment_disabled`` ...)."""
        flags = {}
        for name in names:
            setting = name.replace("disable_", "") + "_disabled"
            flags[name] = bool(request.options.get(name)) or bool(creator.get(setting))
        return flags

    def _video(self, request: PublishRequest, creator: Mapping[str, Any], privacy: str,
               token: str) -> str:
        post_info = {"title": request.text, "privacy_level": privacy,
                     **self._flags(request, creator, ("disable_duet", "disable_comment",
                                                      "disable_stitch")),
                     **{k: request.options[k] for k in VIDEO_OPTIONS if k in request.options}}
        url = request.media_urls[0]
        if str(request.options.get("source") or "FILE_UPLOAD").upper() == "PULL_FROM_URL":
            body = self.call("POST", "v2/post/publish/video/init/", token=token, json={
                "post_info": post_info, "source_info": {"source": "PULL_FROM_URL", "video_url": url}},
                outcome_critical=True)
            return str(self._required(body, "publish_id", "the video init"))
        with fetch_media(url, max_bytes=VIDEO_MAX_BYTES, allowed_kinds={"video"},
                         allow_hosts=self.config.media_allow_hosts, client=self.http.client,
                         platform=self.platform) as media:
            chunk, count = self.chunks.plan(media.size)
            body = self.call("POST", "v2/post/publish/video/init/", token=token, json={
                "post_info": post_info, "source_info": {
                    "source": "FILE_UPLOAD", "video_size": media.size, "chunk_size": chunk,
                    "total_chunk_count": count}})
            publish_id = str(self._required(body, "publish_id", "the video init"))
            upload_url = str(self._required(body, "upload_url", "the video init"))
            self._upload(media, upload_url, chunk, count)
        return publish_id

    def _upload(self, media: FetchedMedia, upload_url: str, chunk: int, count: int) -> None:
        """``PUT`` each chunk in order with ``Content-Range``; 206 until the last, then 201.
        The last chunk hands the post to TikTok: a lost answer there is an unknown outcome."""
        spans = ChunkPolicy.ranges(media.size, chunk, count)
        for index, (first, last) in enumerate(spans):
            media.file.seek(first)
            response = self.http.send(
                "PUT", upload_url, content=media.file.read(last - first + 1),
                headers={"Content-Type": media.content_type,
                         "Content-Range": f"bytes {first}-{last}/{media.size}"},
                outcome_critical=index == len(spans) - 1)
            if response.status_code >= 400:
                raise tiktok_error(self.platform, response, self.now())

    def _photos(self, request: PublishRequest, creator: Mapping[str, Any], privacy: str,
                token: str) -> str:
        post_info: dict[str, Any] = {
            "description": request.text, "privacy_level": privacy,
            **self._flags(request, creator, ("disable_comment",)),
            **{k: request.options[k] for k in PHOTO_OPTIONS if k in request.options}}
        if request.title:
            post_info["title"] = request.title
        body = self.call("POST", "v2/post/publish/content/init/", token=token, json={
            "post_info": post_info, "post_mode": "DIRECT_POST", "media_type": "PHOTO",
            "source_info": {"source": "PULL_FROM_URL", "photo_images": list(request.media_urls),
                            "photo_cover_index": int(request.options.get("photo_cover_index") or 0)}},
            outcome_critical=True)
        return str(self._required(body, "publish_id", "the photo init"))

    def _await_publish(self, publish_id: str, token: str) -> Mapping[str, Any]:
        """Poll ``status/fetch`` until ``PUBLISH_COMPLETE``. ``FAILED`` is permanent (nothing
        went out); a transient error is one more poll; running out of time or losing the
        token is an ``UnknownOutcome``: TikTok may still publish the post."""
        last: dict[str, Any] = {"value": {}}

        def step() -> tuple[bool, Mapping[str, Any]]:
            try:
                body = self.call("POST", "v2/post/publish/status/fetch/", token=token,
                                 json={"publish_id": publish_id})
            except RetryablePlatformError as exc:
                log.info("TikTok status of %s unavailable (%s); polling again", publish_id, exc)
                return False, last["value"]
            data = last["value"] = _data(body)
            if data.get("status") == "FAILED":
                reason = str(data.get("fail_reason") or "unknown reason")
                raise PermanentPlatformError(self.platform, f"TikTok could not process publish "
                                             f"{publish_id}: {reason}", network_code=reason)
            return data.get("status") in ("PUBLISH_COMPLETE", "SEND_TO_USER_INBOX"), data

        try:
            return self.wait(step, what=f"TikTok publish {publish_id}")
        except (ProcessingTimeout, AuthPlatformError) as exc:
            raise UnknownOutcome(self.platform, f"TikTok has publish {publish_id} but did not "
                                 f"report it complete ({exc.network_message}); reconcile before "
                                 "publishing again", network_code=publish_id) from exc

    # -- reconciliation
    def find_existing(self, request: PublishRequest, account: AccountCredentials, *,
                      since: datetime | None = None) -> PublishResult | None:
        """The creator's recent posts (``video/list``, newest first) matched by caption or
        description and creation time."""
        since_s = int((since or search_since(request, self.now())).timestamp())
        found: list[Mapping[str, Any]] = []
        cursor: int | None = None
        for _page in range(FIND_MAX_PAGES):
            body = self.call("POST", f"v2/video/list/?fields={LIST_FIELDS}", token=account.access_token,
                             json={"max_count": LIST_PAGE, **({"cursor": cursor} if cursor else {})})
            data = _data(body)
            videos = [v for v in data.get("videos") or [] if isinstance(v, Mapping) and v.get("id")]
            found += [v for v in videos if _int(v.get("create_time")) >= since_s and (
                same_text(v.get("video_description"), request.text)
                or same_text(v.get("title"), request.text))]
            if not data.get("has_more") or any(_int(v.get("create_time")) < since_s for v in videos):
                break
            cursor = _int(data.get("cursor")) or None
        if not found:
            return None
        video = min(found, key=lambda v: _int(v.get("create_time")))
        photo = request.post_type in ("image", "carousel")
        return PublishResult(str(video["id"]), post_url(account.username, str(video["id"]),
                                                        photo=photo), dict(video))

    # -- metrics
    def fetch_metrics(self, external_ids: Sequence[str], account: AccountCredentials
                      ) -> dict[str, MetricSnapshot]:
        ids = [i for i in dict.fromkeys(external_ids) if i.isdigit()]  # publish ids have no metrics
        metrics = {}
        for batch in chunks(ids, QUERY_BATCH):
            body = self.call("POST", f"v2/video/query/?fields={QUERY_FIELDS}",
                             token=account.access_token, json={"filters": {"video_ids": list(batch)}})
            for video in _data(body).get("videos") or []:
                if not isinstance(video, Mapping) or not video.get("id"):
                    continue
                metrics[str(video["id"])] = MetricSnapshot(
                    external_id=str(video["id"]), likes=_int(video.get("like_count")),
                    comments=_int(video.get("comment_count")), shares=_int(video.get("share_count")),
                    views=_int(video.get("view_count")))
        return metrics

    # -- OAuth 2.0 (Login Kit v2)
    def authorize_url(self, state: str, redirect_uri: str, code_challenge: str | None = None) -> str:
        params = {"client_key": self.config.client_id or "", "scope": ",".join(self.scopes),
                  "response_type": "code", "redirect_uri": redirect_uri, "state": state}
        if code_challenge:
            params.update(code_challenge=code_challenge, code_challenge_method="S256")
        return self.oauth("v2/auth/authorize/") + "?" + urlencode(params)

    def _token_call(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        form = {"client_key": self.config.client_id or "",
                "client_secret": self.config.client_secret or "", **form}
        response = self.http.send("POST", self.api(path), data=form)
        if response.status_code >= 500 or response.status_code == 429:
            raise tiktok_error(self.platform, response, self.now())
        body = json_object(self.platform, response) if response.content else {}
        error = body.get("error")
        failed = (isinstance(error, str) and error) or (isinstance(error, Mapping)
                                                        and error.get("code") not in (None, "ok"))
        if response.status_code >= 400 or failed:
            raise as_auth_error(tiktok_error(self.platform, response, self.now()))
        return body

    def _token_set(self, body: Mapping[str, Any], account: dict[str, Any]) -> TokenSet:
        return self.oauth_token_set(body, account, scope_pattern=",",
                                    refresh_expires_key="refresh_expires_in")

    def exchange_code(self, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        form = {"code": code, "grant_type": "authorization_code", "redirect_uri": redirect_uri}
        if code_verifier:
            form["code_verifier"] = code_verifier
        body = self._token_call("v2/oauth/token/", form)
        tokens = self._token_set(body, {})
        info = self.call("GET", "v2/user/info/", token=tokens.access_token,
                         params={"fields": "open_id,union_id,avatar_url,display_name,username"})
        user = _data(info).get("user")
        user = user if isinstance(user, Mapping) else {}
        open_id = str(user.get("open_id") or body.get("open_id") or "")
        if not open_id:
            raise PermanentPlatformError(self.platform, "answered user/info without open_id")
        account = {"external_account_id": open_id,
                   "username": str(user.get("username") or user.get("display_name") or open_id),
                   "extra": {"open_id": open_id, "display_name": user.get("display_name")}}
        return self._token_set(body, account)

    def refresh_token(self, account: AccountCredentials) -> TokenSet:
        """New access and refresh tokens: TikTok rotates them, so the old refresh token must
        be replaced by the one returned here."""
        if not account.refresh_token:
            raise AuthPlatformError(self.platform, "no refresh token stored: reconnect the account")
        body = self._token_call("v2/oauth/token/", {"grant_type": "refresh_token",
                                                    "refresh_token": account.refresh_token})
        return self._token_set(body, {"external_account_id": account.external_account_id,
                                      "username": account.username, "extra": dict(account.extra)})

    def revoke(self, account: AccountCredentials) -> None:
        try:
            self._token_call("v2/oauth/revoke/", {"token": account.access_token})
        except AuthPlatformError:
            log.info("TikTok token already invalid; nothing to revoke")


def post_url(username: str, post_id: str, *, photo: bool = False) -> str:
    return f"{WEB}/@{username}/{'photo' if photo else 'video'}/{post_id}"
