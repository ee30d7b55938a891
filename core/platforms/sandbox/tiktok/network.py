"""TikTok in the sandbox: the Content Posting API with its ``{data, error}`` envelope.

``creator_info`` (privacy options and interaction settings per account, from the account's
``extra``), video direct posts (``FILE_UPLOAD`` with the Media Transfer Guide's chunk rules and
sequential ``Content-Range`` chunks answered 206/201, or ``PULL_FROM_URL``), photo posts
(``content/init``, ``PULL_FROM_URL`` from verified URL prefixes), ``status/fetch`` moving
``PROCESSING_UPLOAD | PROCESSING_DOWNLOAD -> PUBLISH_COMPLETE | FAILED | SEND_TO_USER_INBOX`` on
the sandbox clock (``publicaly_available_post_id``, sic; empty for ``SELF_ONLY`` posts),
``video/list``, ``video/query``, ``user/info``, Login Kit OAuth with PKCE and rotating refresh
tokens, and the per-token limits (init 6/min, creator_info 20/min, status 30/min, reads 600/min).

A post is recorded (status ``processing``) once TikTok has everything it needs (the last chunk,
or a pull init) and becomes ``published`` or ``failed`` when its processing time has passed.
Until then an unfinished upload posts nothing; its URL takes chunks for an hour after the init
(``UPLOAD_TTL``: PLATFORMS.md is silent, TikTok's reference as third parties quote it), after
which (or once the last chunk is in) a ``PUT`` is 403 ``invalid_file_upload``; an unknown
upload id or token is 404.

Choices where PLATFORMS.md marks things unconfirmed: 2-hour access and 180-day refresh tokens
(``limits={"tiktok": {"access_ttl_seconds": n}}``), 15 posts per creator per day
(``posts_per_day``), HTTP 403 for ``spam_risk_*`` and the other publish refusals, and
``spam_risk_text`` for an injected ``duplicate`` (TikTok documents no duplicate error). TikTok
sends no rate-limit headers; an injected ``rate_limit`` with an explicit ``reset_in`` adds
``Retry-After`` so tests can name a reset time. Chunk limits are configurable
(``min_chunk_bytes``, ``max_chunk_bytes``) so tests can use small files.

This module holds ``TikTokSandbox`` (routes, error bodies, limits, creator_info and post_info
checks, inits, processing and ``status/fetch``); ``envelope`` the answer envelope, ``upload`` the
``FILE_UPLOAD`` chunks, ``reading`` the reads, ``oauth`` Login Kit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx

from core.domain.rules import RULES, image_format
from core.platforms.registry import SANDBOX_HOST
from core.platforms.sandbox.base import (
    Call,
    Reply,
    Route,
    SandboxAccount,
    SandboxNetwork,
    route,
)
from core.platforms.sandbox.tiktok import oauth, reading
from core.platforms.sandbox.tiktok.envelope import envelope, log_id
from core.platforms.sandbox.tiktok.upload import CONTENT_RANGE, open_upload, receive_chunk

OPEN_ID_DEFAULT = "_000HeraldSandboxCreator00000001"
POSTS_PER_DAY = 15
PRIVACY_LEVELS = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY")
DEFAULT_PRIVACY = ("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY")
# bucket -> (default limit per minute per token)
BUCKETS = {"init": 6, "creator_info": 20, "status": 30, "read": 600}


class TikTokSandbox(SandboxNetwork):
    platform = "tiktok"
    registered_token_kind = "access"

    def __init__(self, sandbox: Any) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}  # publish_id -> job
        self.uploads: dict[str, str] = {}  # upload_id -> publish_id
        self.videos: dict[str, dict[str, Any]] = {}  # public id -> what video/list shows
        # URL prefixes verified for PULL_FROM_URL besides the sandbox's own media host.
        self.verified_prefixes: tuple[str, ...] = ()
        super().__init__(sandbox)

    def routes(self) -> list[Route]:
        publish = "/v2/post/publish"
        return [
            route("GET", r"/v2/auth/authorize/", self.authorize, "oauth", auth=False),
            route("POST", r"/v2/oauth/token/", self.token, "oauth", auth=False),
            route("POST", r"/v2/oauth/revoke/", self.revoke, "oauth", auth=False),
            route("GET", r"/v2/user/info/", self.user_info),
            route("POST", publish + r"/creator_info/query/", self.creator_info),
            route("POST", publish + r"/video/init/", self.video_init, "media"),
            route("POST", publish + r"/content/init/", self.content_init, "publish", "media"),
            route("PUT", r"/upload/video/", self.upload, "upload", auth=False),
            route("POST", publish + r"/status/fetch/", self.status_fetch),
            route("POST", r"/v2/video/list/", self.video_list),
            route("POST", r"/v2/video/query/", self.video_query),
        ]

    def kinds_of(self, call: Call, route: Route) -> frozenset[str]:
        """A pull init and the last chunk hand the post to TikTok: they are the publish."""
        if route.handler == self.video_init:
            source = (call.json.get("source_info") or {}) if isinstance(call.json, dict) else {}
            if isinstance(source, dict) and source.get("source") == "PULL_FROM_URL":
                return frozenset({"publish", "media"})
        if route.handler == self.upload:
            found = CONTENT_RANGE.match(call.header("content-range") or "")
            if found and int(found.group(2)) + 1 == int(found.group(3)):
                return frozenset({"upload", "publish"})
        return route.kinds

    def default_account(self) -> SandboxAccount:
        return self.sandbox.ensure_account(self.platform, OPEN_ID_DEFAULT, "herald.sandbox")

    # -- error bodies
    def fail(self, status: int, code: str, message: str) -> Reply:
        return Reply(envelope(status, {}, code, message, now=self.now))

    def auth_error(self, call: Call, reason: str) -> httpx.Response:
        return envelope(401, {}, "access_token_invalid", "The access token is invalid or not "
                        "found in the request.", now=call.now)

    def rate_limited(self, call: Call, reset_at: datetime, params: Mapping[str, Any]) -> httpx.Response:
        headers = {}
        if "reset_in" in params:  # a test naming the reset; TikTok itself says nothing
            headers["Retry-After"] = str(max(0, math.ceil((reset_at - call.now).total_seconds())))
        return envelope(429, {}, "rate_limit_exceeded", "The API rate limit was exceeded. "
                        "Please try again later.", headers, now=call.now)

    def server_error(self, call: Call, params: Mapping[str, Any]) -> httpx.Response:
        return envelope(int(params.get("status", 500)), {}, "internal_error", "Something went "
                        "wrong. Please try again later.", now=call.now)

    def duplicate(self, call: Call, params: Mapping[str, Any]) -> httpx.Response:
        return envelope(403, {}, "spam_risk_text", "The post was flagged as spam: its text "
                        "repeats a recent post.", now=call.now)

    def not_found(self, call: Call) -> httpx.Response:
        return envelope(404, {}, "not_found", f"No API at {call.method} {call.path}", now=call.now)

    def decorate(self, call: Call, route: Route, response: httpx.Response) -> None:
        response.headers.setdefault("x-tt-logid", log_id(call.now))

    # -- limits
    def _bucket(self, call: Call) -> str:
        if call.path.endswith("/init/"):
            return "init"
        if "creator_info" in call.path:
            return "creator_info"
        return "status" if call.path.endswith("/status/fetch/") else "read"

    def check_limits(self, call: Call, route: Route) -> httpx.Response | None:
        if not route.auth or not call.token:
            return None
        bucket = self._bucket(call)
        limit = int(self.sandbox.config.limit(self.platform, bucket, BUCKETS[bucket]))
        state = self.sandbox.hit_window((self.platform, bucket, call.token), limit, 60)
        return self.rate_limited(call, state.reset_at, {}) if state.exceeded else None

    # -- helpers
    def _scope(self, call: Call, scope: str) -> None:
        scopes = call.token_record.scopes if call.token_record else ()
        if scopes and scope not in scopes:
            raise self.fail(401, "scope_not_authorized", "The user did not authorize the scope "
                            f"required for completing this request ({scope}).")

    def _body(self, call: Call) -> dict[str, Any]:
        if not isinstance(call.json, dict):
            raise self.fail(400, "invalid_params", "The request body must be a JSON object.")
        return call.json

    @staticmethod
    def _object(body: Mapping[str, Any], key: str) -> dict[str, Any]:
        value = body.get(key)
        return value if isinstance(value, dict) else {}

    def _creator(self, account: SandboxAccount) -> dict[str, Any]:
        extra = account.extra
        return {"creator_avatar_url": f"https://p16-sign.tiktokcdn.com/{account.external_account_id}.jpeg",
                "creator_username": account.username, "creator_nickname": account.username,
                "privacy_level_options": list(extra.get("privacy_level_options") or DEFAULT_PRIVACY),
                "comment_disabled": bool(extra.get("comment_disabled")),
                "duet_disabled": bool(extra.get("duet_disabled")),
                "stitch_disabled": bool(extra.get("stitch_disabled")),
                "max_video_post_duration_sec": int(extra.get("max_video_post_duration_sec") or 600)}

    def _verified(self, call: Call, url: object) -> str:
        url = str(url or "")
        own = (f"{call.origin}/media/", f"https://{SANDBOX_HOST}/media/", f"http://{SANDBOX_HOST}/media/")
        if not url.startswith((*own, *self.verified_prefixes)):
            raise self.fail(403, "url_ownership_unverified", "Please review our URL ownership "
                            f"verification rules: {url[:200]} is not on a verified domain or prefix.")
        return url

    def _ids(self, call: Call, prefix: str) -> tuple[str, str]:
        """A publish id and the public id the post will have (time in the high bits)."""
        public = str((int(call.now.timestamp()) << 32) | (self.sandbox.next_seq() & 0xFFFFFFFF))
        return f"{prefix}{public}", public

    # -- creator info and post info
    def creator_info(self, call: Call) -> httpx.Response:
        self._scope(call, "video.publish")
        assert call.account is not None
        return envelope(200, self._creator(call.account), now=call.now)

    def _post_info(self, call: Call, body: Mapping[str, Any], photo: bool) -> dict[str, Any]:
        assert call.account is not None
        info = body.get("post_info")
        if not isinstance(info, dict):
            raise self.fail(400, "invalid_params", "post_info is required.")
        privacy = info.get("privacy_level")
        if privacy not in PRIVACY_LEVELS:
            raise self.fail(400, "invalid_params", f"privacy_level must be one of {', '.join(PRIVACY_LEVELS)}.")
        if privacy not in self._creator(call.account)["privacy_level_options"]:
            raise self.fail(403, "privacy_level_option_mismatch", f"privacy_level {privacy} is "
                            "not among the creator's privacy_level_options.")
        if call.account.extra.get("unaudited") and privacy != "SELF_ONLY":
            raise self.fail(403, "unaudited_client_can_only_post_to_private_accounts",
                            "Unaudited clients can only post with SELF_ONLY visibility.")
        if info.get("brand_content_toggle") and privacy == "SELF_ONLY":
            raise self.fail(400, "invalid_params", "Branded content cannot be private (SELF_ONLY).")
        flags = ("disable_comment", "auto_add_music", "brand_content_toggle", "brand_organic_toggle",
                 *(() if photo else ("disable_duet", "disable_stitch", "is_aigc")))
        for name in flags:
            if name in info and not isinstance(info[name], bool):
                raise self.fail(400, "invalid_params", f"post_info.{name} must be a boolean.")
        rules = RULES["tiktok"]
        photos = rules.post_types["carousel"]
        checks = ([(photos.title, "title"), (photos.text, "description")] if photo
                  else [(rules.text, "title")])
        for text_rule, name in checks:
            value = info.get(name, "")
            if text_rule is not None and (not isinstance(value, str)
                                          or text_rule.length(value) > text_rule.limit):
                raise self.fail(400, "invalid_params", f"post_info.{name} must be text of at "
                                f"most {text_rule.limit} characters.")
        self._check_daily_cap(call, call.account)
        return info

    def _check_daily_cap(self, call: Call, account: SandboxAccount) -> None:
        cap = self.sandbox.config.limit(self.platform, "posts_per_day", POSTS_PER_DAY)
        recent = [p for p in self.sandbox.recent_posts(self.platform, account.external_account_id,
                                                       timedelta(hours=24)) if p.status != "failed"]
        if len(recent) >= cap:
            raise self.fail(403, "spam_risk_too_many_posts", "The creator has posted too many "
                            "times in the last 24 hours.")

    # -- video
    def video_init(self, call: Call) -> httpx.Response:
        self._scope(call, "video.publish")
        body = self._body(call)
        info = self._post_info(call, body, photo=False)
        source = self._object(body, "source_info")
        job: dict[str, Any] = {"account": call.account, "kind": "video", "info": info,
                               "text": info.get("title", ""), "failed": call.notes.get("processing_failed"),
                               "created_at": call.now, "ready_at": None, "public": None, "inbox": False}
        if source.get("source") == "PULL_FROM_URL":
            job.update(source="PULL_FROM_URL", media=(self._verified(call, source.get("video_url")),))
            job["publish_id"], job["public"] = self._ids(call, "v_pub_url~v2-1.")
            self.jobs[job["publish_id"]] = job
            self._commit(job, call.now)
            return envelope(200, {"publish_id": job["publish_id"]}, now=call.now)
        if source.get("source") != "FILE_UPLOAD":
            raise self.fail(400, "invalid_params", "source_info.source must be FILE_UPLOAD or PULL_FROM_URL.")
        return open_upload(self, call, job, source)

    upload = receive_chunk  # each PUT of a chunk (upload.py)

    # -- photos
    def content_init(self, call: Call) -> httpx.Response:
        self._scope(call, "video.publish")
        body = self._body(call)
        if body.get("media_type") != "PHOTO" or body.get("post_mode") not in ("DIRECT_POST", "MEDIA_UPLOAD"):
            raise self.fail(400, "invalid_params", "media_type must be PHOTO and post_mode "
                            "DIRECT_POST or MEDIA_UPLOAD.")
        inbox = body["post_mode"] == "MEDIA_UPLOAD"
        info = self._post_info(call, body, photo=True) if not inbox else dict(body.get("post_info") or {})
        source = self._object(body, "source_info")
        images = source.get("photo_images")
        cover = source.get("photo_cover_index", 0)
        if (source.get("source") != "PULL_FROM_URL" or not isinstance(images, list)
                or not 1 <= len(images) <= 35 or not isinstance(cover, int) or not 0 <= cover < len(images)):
            raise self.fail(400, "invalid_params", "source_info needs source PULL_FROM_URL, 1-35 "
                            "photo_images and a photo_cover_index among them.")
        urls = tuple(self._verified(call, url) for url in images)
        failed = call.notes.get("processing_failed")
        if failed is None and any(image_format(u) not in ("jpeg", "webp") for u in urls):
            failed = {"fail_reason": "file_format_check_failed"}
        publish_id, public = self._ids(call, "p_pub_url~v2.")
        job = {"publish_id": publish_id, "public": public, "account": call.account,
               "kind": "photo", "source": "PULL_FROM_URL", "info": info, "media": urls,
               "text": info.get("description", ""), "title": info.get("title", ""),
               "failed": failed, "created_at": call.now, "ready_at": None, "inbox": inbox}
        self.jobs[publish_id] = job
        self._commit(job, call.now)
        return envelope(200, {"publish_id": publish_id}, now=call.now)

    # -- processing
    def _commit(self, job: dict[str, Any], now: datetime) -> None:
        """TikTok has everything: processing starts, and (direct posts) the post exists."""
        kind = "video" if job["kind"] == "video" else "image"
        job["ready_at"] = now + timedelta(seconds=self.delay(kind) or self.delay("image"))
        if job["inbox"]:
            return
        account: SandboxAccount = job["account"]
        path = "video" if job["kind"] == "video" else "photo"
        post_type = "video" if job["kind"] == "video" else ("carousel" if len(job["media"]) > 1 else "image")
        self.sandbox.record_post(self.platform, account, job["public"], job["text"], post_type,
                                 f"https://www.tiktok.com/@{account.username}/{path}/{job['public']}",
                                 media=job["media"], status="processing")

    def _settle(self, job: dict[str, Any]) -> str:
        """The job's status now; a finished post turns published (or failed) on the way."""
        if job["ready_at"] is None or self.now < job["ready_at"]:
            return "PROCESSING_UPLOAD" if job["source"] == "FILE_UPLOAD" else "PROCESSING_DOWNLOAD"
        post = self.sandbox.post(self.platform, job["public"])
        if job["failed"] is not None:
            if post is not None:
                post.status = "failed"
            return "FAILED"
        if job["inbox"]:
            return "SEND_TO_USER_INBOX"
        if post is not None and post.status == "processing":
            post.status, post.created_at = "published", job["ready_at"]
            self.videos[job["public"]] = job
        return "PUBLISH_COMPLETE"

    def _settle_all(self) -> None:
        for job in self.jobs.values():
            self._settle(job)

    def status_fetch(self, call: Call) -> httpx.Response:
        job = self.jobs.get(str(self._body(call).get("publish_id") or ""))
        if job is None or job["account"] is not call.account:
            raise self.fail(400, "invalid_params", "The publish_id is invalid.")
        status = self._settle(job)
        data: dict[str, Any] = {"status": status}
        if status == "FAILED":
            data["fail_reason"] = str(job["failed"].get("fail_reason") or job["failed"].get(
                "error_code") or "file_format_check_failed")
        private = job["info"].get("privacy_level") == "SELF_ONLY"
        data["publicaly_available_post_id"] = (
            [int(job["public"])] if status == "PUBLISH_COMPLETE" and not private else [])
        if job["source"] == "FILE_UPLOAD":
            data["uploaded_bytes"] = job["received"]
        else:
            data["downloaded_bytes"] = 1024 * len(job["media"]) if job["ready_at"] else 0
        return envelope(200, data, now=call.now)

    # -- reading (reading.py)
    video_list = reading.video_list
    video_query = reading.video_query
    user_info = reading.user_info

    # -- OAuth (Login Kit v2; oauth.py)
    authorize = oauth.authorize
    token = oauth.token
    revoke = oauth.revoke
