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
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx

from core.errors import (
    AuthPlatformError,
    PermanentPlatformError,
    PlatformError,
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
# What publishing needs of creator_info's answer, kept when it is read ahead of time.
CREATOR_KEYS = ("creator_username", "privacy_level_options", "comment_disabled", "duet_disabled",
                "stitch_disabled", "max_video_post_duration_sec")
# An upload URL is valid for an hour from the init (TikTok's API reference as third parties quote
# it; PLATFORMS.md is silent; the sandbox's UPLOAD_TTL). What was staged is used for 45 minutes:
# the chunks sent while staging come out of that hour, and the last chunk of a late post must
# still arrive in time.
STAGING_TTL = timedelta(minutes=45)
# The upload is staged only for a post due this soon; one due later gets creator_info alone.
UPLOAD_STAGE_AHEAD = timedelta(minutes=30)
# TikTok's answers to a PUT on an upload it no longer takes: the URL expired or is unknown, or
# the upload is not where it was left (416). The PUT carries no access token, so 401 is the URL.
UPLOAD_GONE_STATUSES = frozenset({401, 403, 404, 410, 416})
PRIVACY_MISMATCH = "privacy_level_option_mismatch"


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


@dataclass(frozen=True)
class StagedUpload:
    """A ``FILE_UPLOAD`` made ahead of time: the init's ``publish_id`` and ``upload_url``, the
    declared chunk plan, and the first ``sent_bytes`` of the video already uploaded (their
    SHA-256, so the video sent at due time is known to be the same one)."""

    publish_id: str
    upload_url: str
    video_size: int
    chunk_size: int
    total_chunk_count: int
    sent_bytes: int
    sent_sha256: str

    @classmethod
    def from_handles(cls, value: object) -> StagedUpload | None:
        """The staged upload in ``value``, or ``None`` if there is none (or it is unreadable:
        then the video is uploaded whole, as nothing of it has been sent yet)."""
        if not isinstance(value, Mapping):
            return None
        try:
            upload = cls(str(value["publish_id"]), str(value["upload_url"]), int(value["video_size"]),
                         int(value["chunk_size"]), int(value["total_chunk_count"]),
                         int(value["sent_bytes"]), str(value["sent_sha256"]))
        except (KeyError, TypeError, ValueError):
            upload = None
        if upload is None or min(upload.chunk_size, upload.total_chunk_count) < 1 or not (
                0 <= upload.sent_bytes < upload.video_size):
            log.warning("ignoring an unreadable staged TikTok upload")
            return None
        return upload

    def spans(self) -> list[tuple[int, int]]:
        return ChunkPolicy.ranges(self.video_size, self.chunk_size, self.total_chunk_count)


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


def _offered(creator: Mapping[str, Any]) -> list[str]:
    return [str(o) for o in creator.get("privacy_level_options") or [] if o]


def _pulled(request: PublishRequest) -> bool:
    return str(request.options.get("source") or "FILE_UPLOAD").upper() == "PULL_FROM_URL"


def _digest(media: FetchedMedia, length: int) -> str:
    """SHA-256 of the first ``length`` bytes of ``media``."""
    digest = hashlib.sha256()
    media.file.seek(0)
    left = length
    while left > 0 and (block := media.file.read(min(left, 1024 * 1024))):
        digest.update(block)
        left -= len(block)
    return digest.hexdigest()


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
    staging_ttl = STAGING_TTL

    def stage(self, request: PublishRequest, account: AccountCredentials) -> dict[str, Any] | None:
        """creator_info's answer; for a ``FILE_UPLOAD`` video due within
        ``UPLOAD_STAGE_AHEAD`` also the init and every chunk but the last (``StagedUpload``)."""
        photo = self._check(request)
        creator = self._creator(account.access_token)
        handles: dict[str, Any] = {"creator": creator}
        due = request.scheduled_at
        if photo or _pulled(request) or (due is not None and due - self.now() > UPLOAD_STAGE_AHEAD):
            return handles
        privacy = choose_privacy(request.options.get("privacy_level"), _offered(creator))
        handles["upload"] = asdict(self._stage_upload(request, creator, privacy, account.access_token))
        return handles

    def publish(self, request: PublishRequest, account: AccountCredentials) -> PublishResult:
        photo = self._check(request)
        token = account.access_token
        staged = request.staged or {}
        read_ahead = staged.get("creator")
        creator = (read_ahead if isinstance(read_ahead, Mapping) and _offered(read_ahead)
                   else self._creator(token))
        privacy = choose_privacy(request.options.get("privacy_level"), _offered(creator))
        upload = StagedUpload.from_handles(staged.get("upload"))
        try:
            if photo:
                publish_id = self._photos(request, creator, privacy, token)
            elif upload is not None and not _pulled(request):
                publish_id = self._finish_upload(request, upload)
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

    def _creator(self, token: str) -> dict[str, Any]:
        """What publishing needs of creator_info (``CREATOR_KEYS``)."""
        data = _data(self.call("POST", "v2/post/publish/creator_info/query/", token=token))
        creator = {key: data[key] for key in CREATOR_KEYS if key in data}
        if not _offered(creator):
            raise PermanentPlatformError(
                self.platform, "answered creator_info without data.privacy_level_options; "
                "without them no valid privacy level can be chosen")
        return creator

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
        if _pulled(request):
            body = self.call("POST", "v2/post/publish/video/init/", token=token, json={
                "post_info": self._video_info(request, creator, privacy),
                "source_info": {"source": "PULL_FROM_URL", "video_url": request.media_urls[0]}},
                outcome_critical=True)
            return str(self._required(body, "publish_id", "the video init"))
        with self._fetch_video(request) as media:
            upload = self._init_upload(request, creator, privacy, token, media)
            self._upload(media, upload.upload_url, upload.spans())
        return upload.publish_id

    def _stage_upload(self, request: PublishRequest, creator: Mapping[str, Any], privacy: str,
                      token: str) -> StagedUpload:
        """Init a ``FILE_UPLOAD`` and send every chunk but the last: nothing is posted yet."""
        with self._fetch_video(request) as media:
            upload = self._init_upload(request, creator, privacy, token, media)
            spans = upload.spans()
            self._upload(media, upload.upload_url, spans[:-1])
            sent = spans[-1][0]
            return replace(upload, sent_bytes=sent, sent_sha256=_digest(media, sent))

    def _finish_upload(self, request: PublishRequest, upload: StagedUpload) -> str:
        """Send the chunks of a staged upload still missing (the last one posts the video),
        once the video is known to be the one whose first chunks were sent."""
        with self._fetch_video(request) as media:
            if media.size != upload.video_size or _digest(media, upload.sent_bytes) != upload.sent_sha256:
                raise StagedMediaGone(self.platform, f"the video at {request.media_urls[0][:200]} "
                                      f"changed since it was staged ahead ({media.size} bytes now, "
                                      f"{upload.video_size} then; the first {upload.sent_bytes} "
                                      "were compared)")
            spans = [span for span in upload.spans() if span[0] >= upload.sent_bytes]
            self._upload(media, upload.upload_url, spans, staged=True)
        return upload.publish_id

    def _fetch_video(self, request: PublishRequest) -> FetchedMedia:
        return fetch_media(request.media_urls[0], max_bytes=VIDEO_MAX_BYTES, allowed_kinds={"video"},
                           allow_hosts=self.config.media_allow_hosts, client=self.http.client,
                           platform=self.platform)

    def _video_info(self, request: PublishRequest, creator: Mapping[str, Any],
                    privacy: str) -> dict[str, Any]:
        return {"title": request.text, "privacy_level": privacy,
                **self._flags(request, creator, ("disable_duet", "disable_comment", "disable_stitch")),
                **{k: request.options[k] for k in VIDEO_OPTIONS if k in request.options}}

    def _init_upload(self, request: PublishRequest, creator: Mapping[str, Any], privacy: str,
                     token: str, media: FetchedMedia) -> StagedUpload:
        """The ``FILE_UPLOAD`` init for ``media`` (nothing of it sent yet)."""
        chunk, count = self.chunks.plan(media.size)
        body = self.call("POST", "v2/post/publish/video/init/", token=token, json={
            "post_info": self._video_info(request, creator, privacy), "source_info": {
                "source": "FILE_UPLOAD", "video_size": media.size, "chunk_size": chunk,
                "total_chunk_count": count}})
        return StagedUpload(str(self._required(body, "publish_id", "the video init")),
                            str(self._required(body, "upload_url", "the video init")),
                            media.size, chunk, count, 0, _digest(media, 0))

    def _upload(self, media: FetchedMedia, upload_url: str, spans: Sequence[tuple[int, int]], *,
                staged: bool = False) -> None:
        """``PUT`` each chunk of ``spans`` in order with ``Content-Range``; 206 until the last,
        then 201. The last chunk hands the post to TikTok: a lost answer there is an unknown
        outcome. A ``staged`` upload TikTok no longer takes is ``StagedMediaGone``."""
        for first, last in spans:
            media.file.seek(first)
            response = self.http.send(
                "PUT", upload_url, content=media.file.read(last - first + 1),
                headers={"Content-Type": media.content_type,
                         "Content-Range": f"bytes {first}-{last}/{media.size}"},
                outcome_critical=last == media.size - 1)
            if response.status_code < 400:
                continue
            error = tiktok_error(self.platform, response, self.now())
            if staged and response.status_code in UPLOAD_GONE_STATUSES:
                raise StagedMediaGone(self.platform, f"the upload staged ahead was refused: "
                                      f"{error.network_message}", status=error.status,
                                      network_code=error.network_code,
                                      response_body=error.response_body) from error
            raise error

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
