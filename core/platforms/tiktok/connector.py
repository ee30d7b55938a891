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

Staging ahead (``stage``) reads ``creator_info`` before the scheduled time and keeps the answer.
For a ``FILE_UPLOAD`` video it also makes the init and sends every chunk but the last: nothing is
posted until the last chunk arrives, so the publish is that last ``PUT`` and the status polls.
A pull init (video or photos) is itself the publishing call and is left for the due time. An
upload URL lasts an hour; the staged upload is used only if the video's bytes are still the
ones staged, and an upload TikTok refuses (expired, unknown) is ``StagedMediaGone``.

This module holds the connector (publishing, reconciliation, metrics, OAuth); beside it
``envelope`` reads answers and classifies errors, ``creator`` holds creator_info and the privacy
choice, and ``upload`` the ``FILE_UPLOAD`` and its staging.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from core.errors import (
    AuthPlatformError,
    PermanentPlatformError,
    RetryablePlatformError,
    StagedMediaGone,
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
from core.platforms.http import json_object
from core.platforms.tiktok.creator import (
    PRIVACY_MISMATCH,
    choose_privacy,
    interaction_flags,
    privacy_options,
    read_creator,
)
from core.platforms.tiktok.envelope import data_of, required, tiktok_error
from core.platforms.tiktok.upload import (
    STAGING_TTL,
    UPLOAD_STAGE_AHEAD,
    ChunkPolicy,
    StagedUpload,
    finish_upload,
    stage_upload,
    upload_video,
)

log = logging.getLogger("herald.platforms.tiktok")

WEB = "https://www.tiktok.com"
JSON = {"Content-Type": "application/json; charset=UTF-8"}
QUERY_BATCH = 20  # video/query takes at most 20 ids
LIST_PAGE = 20
FIND_MAX_PAGES = 5
QUERY_FIELDS = "id,title,video_description,create_time,share_url,like_count,comment_count,share_count,view_count"
LIST_FIELDS = "id,title,video_description,create_time,share_url"
VIDEO_OPTIONS = ("video_cover_timestamp_ms", "brand_content_toggle", "brand_organic_toggle", "is_aigc")
PHOTO_OPTIONS = ("auto_add_music", "brand_content_toggle", "brand_organic_toggle")


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _pulled(request: PublishRequest) -> bool:
    return str(request.options.get("source") or "FILE_UPLOAD").upper() == "PULL_FROM_URL"


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

    # -- publishing
    staging_ttl = STAGING_TTL

    def stage(self, request: PublishRequest, account: AccountCredentials) -> dict[str, Any] | None:
        """creator_info's answer; for a ``FILE_UPLOAD`` video due within
        ``UPLOAD_STAGE_AHEAD`` also the init and every chunk but the last (``StagedUpload``)."""
        photo = self._check(request)
        creator = read_creator(self, account.access_token)
        handles: dict[str, Any] = {"creator": creator}
        due = request.scheduled_at
        if photo or _pulled(request) or (due is not None and due - self.now() > UPLOAD_STAGE_AHEAD):
            return handles
        privacy = choose_privacy(request.options.get("privacy_level"), privacy_options(creator))
        post_info = self._video_info(request, creator, privacy)
        handles["upload"] = asdict(stage_upload(self, request, post_info, account.access_token))
        return handles

    def publish(self, request: PublishRequest, account: AccountCredentials) -> PublishResult:
        photo = self._check(request)
        token = account.access_token
        staged = request.staged or {}
        read_ahead = staged.get("creator")
        creator = (read_ahead if isinstance(read_ahead, Mapping) and privacy_options(read_ahead)
                   else read_creator(self, token))
        privacy = choose_privacy(request.options.get("privacy_level"), privacy_options(creator))
        upload = StagedUpload.from_handles(staged.get("upload"))
        try:
            if photo:
                publish_id = self._photos(request, creator, privacy, token)
            elif upload is not None and not _pulled(request):
                publish_id = finish_upload(self, request, upload)
            else:
                publish_id = self._video(request, creator, privacy, token)
        except PermanentPlatformError as exc:
            if creator is read_ahead and exc.network_code == PRIVACY_MISMATCH:  # a stale read
                raise StagedMediaGone(self.platform, f"the creator's privacy options changed since "
                                      f"they were read ahead: {exc.network_message}", status=exc.status,
                                      network_code=exc.network_code) from exc
            raise
        status = self._await_publish(publish_id, token)
        username = str(creator.get("creator_username") or account.username)
        public = [str(i) for i in status.get("publicaly_available_post_id") or [] if i]
        raw = {"publish_id": publish_id, "status": dict(status), "privacy_level": privacy}
        if not public:  # private posts have no public id
            return PublishResult(publish_id, f"{WEB}/@{username}", raw)
        return PublishResult(public[0], post_url(username, public[0], photo=photo), raw)

    def _check(self, request: PublishRequest) -> bool:
        """Refuse what TikTok cannot post; ``True`` for a photo post, ``False`` for a video."""
        if request.post_type not in ("video", "reel", "image", "carousel"):
            raise self.unsupported(request)
        self.require_media(request)
        photo = request.post_type in ("image", "carousel")
        if (photo and set(request.kinds) != {"image"}) or (not photo and request.kinds != ["video"]):
            raise PermanentPlatformError(self.platform, "TikTok posts are one video, or 1-35 "
                                         "photos (JPEG/WEBP); they cannot be mixed")
        return photo

    def _video(self, request: PublishRequest, creator: Mapping[str, Any], privacy: str,
               token: str) -> str:
        post_info = self._video_info(request, creator, privacy)
        if _pulled(request):
            body = self.call("POST", "v2/post/publish/video/init/", token=token, json={
                "post_info": post_info,
                "source_info": {"source": "PULL_FROM_URL", "video_url": request.media_urls[0]}},
                outcome_critical=True)
            return str(required(self.platform, body, "publish_id", "the video init"))
        return upload_video(self, request, post_info, token)

    def _video_info(self, request: PublishRequest, creator: Mapping[str, Any],
                    privacy: str) -> dict[str, Any]:
        return {"title": request.text, "privacy_level": privacy,
                **interaction_flags(request, creator, ("disable_duet", "disable_comment", "disable_stitch")),
                **{k: request.options[k] for k in VIDEO_OPTIONS if k in request.options}}

    def _photos(self, request: PublishRequest, creator: Mapping[str, Any], privacy: str,
                token: str) -> str:
        post_info: dict[str, Any] = {
            "description": request.text, "privacy_level": privacy,
            **interaction_flags(request, creator, ("disable_comment",)),
            **{k: request.options[k] for k in PHOTO_OPTIONS if k in request.options}}
        if request.title:
            post_info["title"] = request.title
        body = self.call("POST", "v2/post/publish/content/init/", token=token, json={
            "post_info": post_info, "post_mode": "DIRECT_POST", "media_type": "PHOTO",
            "source_info": {"source": "PULL_FROM_URL", "photo_images": list(request.media_urls),
                            "photo_cover_index": int(request.options.get("photo_cover_index") or 0)}},
            outcome_critical=True)
        return str(required(self.platform, body, "publish_id", "the photo init"))

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
            data = last["value"] = data_of(body)
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
            data = data_of(body)
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
            for video in data_of(body).get("videos") or []:
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
        user = data_of(info).get("user")
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
