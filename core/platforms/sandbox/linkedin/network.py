"""LinkedIn in the sandbox: the versioned Posts API (``/rest``, ``LinkedIn-Version`` and
``X-Restli-Protocol-Version: 2.0.0`` required), image/document/video uploads
(``initializeUpload`` -> ``PUT`` -> ``finalizeUpload`` with ETags for video parts) processing
``WAITING_UPLOAD -> PROCESSING -> AVAILABLE | PROCESSING_FAILED`` on the sandbox clock,
``POST /rest/posts`` answering 201 with ``x-restli-id``, little-text commentary, 422
``DUPLICATE_POST``, bare 429 per member per UTC day, posts by author, ``socialActions``,
organization share statistics, member post analytics, organization ACLs and 3-legged OAuth
(60-day tokens, non-rotating programmatic refresh tokens).

Unconfirmed details (PLATFORMS.md) are choices here: serviceErrorCode 65602 for an expired
token, the 429 body, 4 MiB video parts (``limits={"linkedin": {"video_part_bytes": n}}``), 150
posts per member per day (``posts_per_day``). LinkedIn sends no rate-limit headers; an injected
``rate_limit`` with an explicit ``reset_in`` adds ``Retry-After`` so tests can name a reset time.

A post names its media by URN, and the sandbox refuses (422, an ``INVALID_VALUE`` input error at
the field's path, like its other post validation errors) one naming an asset that does not exist,
belongs to another author, is of the wrong kind or is not ``AVAILABLE`` yet. LinkedIn documents
neither how long an uploaded asset no post uses is kept nor the exact answer for one it dropped
(status, code and message are the sandbox's choice). The sandbox's own assumption: an asset no
post has used is dropped 24 hours after its ``initializeUpload`` (``unused_asset_seconds``), after
which it is unknown (404 on ``GET``, refused in a post); an asset a post uses is kept.

This module holds ``LinkedInSandbox`` with its posts and organizations; ``oauth``, ``uploads``,
``metrics``, ``little_text`` and ``responses`` beside it hold the rest (see the package).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from core.domain.rules import RULES
from core.domain.text import utf16_length
from core.platforms.sandbox.base import (
    Call,
    Reply,
    Route,
    SandboxAccount,
    SandboxNetwork,
    json_response,
    route,
)
from core.platforms.sandbox.linkedin import metrics, oauth, uploads
from core.platforms.sandbox.linkedin.little_text import render_little_text
from core.platforms.sandbox.linkedin.responses import error, input_error, ms

MIN_VERSION = "202501"  # versions stay active for about a year (unconfirmed)
UNUSED_ASSET_SECONDS = 24 * 3600  # the sandbox's assumption (module docstring)
POSTS_PER_DAY = 150
PERSON_DEFAULT = "hErAlDsAnDbOx"
_ASSET = r"(?P<urn>urn:li:(?:image|video|document):[\w-]+)"
_POST = r"(?P<urn>urn:li:(?:share|ugcPost):\d+)"


class LinkedInSandbox(SandboxNetwork):
    platform = "linkedin"
    registered_token_kind = "access"

    def __init__(self, sandbox: Any) -> None:
        self.assets: dict[str, dict[str, Any]] = {}
        self.upload_keys: dict[str, tuple[str, int]] = {}  # upload URL key -> (asset, part)
        self.entries: dict[str, dict[str, Any]] = {}  # post URN -> the post as the API shows it
        self.daily: dict[tuple[str, str], int] = {}
        super().__init__(sandbox)

    def routes(self) -> list[Route]:
        v = self.versioned
        return [
            route("GET", r"/oauth/v2/authorization", self.authorize, "oauth", auth=False),
            route("POST", r"/oauth/v2/accessToken", self.token, "oauth", auth=False),
            route("POST", r"/oauth/v2/revoke", self.revoke, "oauth", auth=False),
            route("GET", r"/v2/userinfo", self.userinfo),
            route("POST", r"/rest/(?P<kind>images|videos|documents)", v(self.asset_action), "media"),
            route("GET", r"/rest/(?P<kind>images|videos|documents)/" + _ASSET, v(self.get_asset)),
            route("PUT", r"/dms-uploads/(?P<key>[\w-]+)", self.upload, "upload"),
            route("POST", r"/rest/posts", v(self.create_post), "publish"),
            route("GET", r"/rest/posts", v(self.find_posts)),
            route("GET", r"/rest/posts/" + _POST, v(self.get_post)),
            route("DELETE", r"/rest/posts/" + _POST, v(self.delete_post), "delete"),
            route("GET", r"/rest/socialActions/" + _POST, v(self.social_actions)),
            route("GET", r"/rest/organizationalEntityShareStatistics", v(self.share_statistics)),
            route("GET", r"/rest/memberCreatorPostAnalytics", v(self.member_analytics)),
            route("GET", r"/rest/organizationAcls", v(self.organization_acls)),
            route("GET", r"/rest/organizations/(?P<id>\d+)", v(self.organization)),
        ]

    def kinds_of(self, call: Call, route: Route) -> frozenset[str]:
        if call.method == "POST" and "kind" in call.match:
            return frozenset({"upload" if call.query.get("action") == "finalizeUpload" else "media"})
        return route.kinds

    def default_account(self) -> SandboxAccount:
        return self.sandbox.ensure_account(self.platform, PERSON_DEFAULT, "Herald Sandbox")

    # -- error bodies
    def auth_error(self, call: Call, reason: str) -> httpx.Response:
        if reason == "missing":
            return error(401, "Empty oauth2 access token", code="EMPTY_ACCESS_TOKEN", service_code=65604)
        if reason == "expired":
            return error(401, "The token used in the request has expired", code="EXPIRED_ACCESS_TOKEN",
                         service_code=65602)
        if reason == "revoked":
            return error(401, "The token used in the request has been revoked by the user",
                         code="REVOKED_ACCESS_TOKEN", service_code=65601)
        return error(401, "Invalid access token", code="INVALID_ACCESS_TOKEN", service_code=65600)

    def rate_limited(self, call: Call, reset_at: datetime, params: Mapping[str, Any]) -> httpx.Response:
        headers = {}
        if "reset_in" in params:  # a test naming the reset; LinkedIn itself says nothing
            headers["Retry-After"] = str(max(0, math.ceil((reset_at - call.now).total_seconds())))
        return error(429, "Resource level throttle APPLICATION DAY limit for calls to this "
                     "resource is reached.", code="TOO_MANY_REQUESTS", headers=headers)

    def server_error(self, call: Call, params: Mapping[str, Any]) -> httpx.Response:
        status = int(params.get("status", 503))
        return error(status, {500: "Internal Server Error", 502: "Bad Gateway",
                              504: "Gateway Timeout"}.get(status, "Service Unavailable"))

    def duplicate(self, call: Call, params: Mapping[str, Any]) -> httpx.Response:
        original = params.get("original") or f"urn:li:share:{self._id(call.now)}"
        return input_error(f"Content is a duplicate of {original}", "DUPLICATE_POST",
                           "/commentary").response

    def not_found(self, call: Call) -> httpx.Response:
        return error(404, "No virtual resource found", code="NOT_FOUND")

    # -- limits: a member's posts per UTC day; a bare 429 until 00:00 UTC
    def check_limits(self, call: Call, route: Route) -> httpx.Response | None:
        if "publish" not in route.kinds or not call.account_id:
            return None
        key = (call.account_id, call.now.astimezone(UTC).date().isoformat())
        self.daily[key] = self.daily.get(key, 0) + 1
        if self.daily[key] > self.sandbox.config.limit(self.platform, "posts_per_day", POSTS_PER_DAY):
            midnight = datetime.combine(call.now.astimezone(UTC).date() + timedelta(days=1),
                                        datetime.min.time(), UTC)
            return self.rate_limited(call, midnight, {})
        return None

    # -- plumbing
    def versioned(self, handler: Callable[[Call], httpx.Response]) -> Callable[[Call], httpx.Response]:
        def checked(call: Call) -> httpx.Response:
            version = call.header("linkedin-version")
            if not version:
                raise Reply(error(400, "A version must be present. Please specify a version by "
                                  "adding the LinkedIn-Version header.", code="VERSION_MISSING"))
            if not re.fullmatch(r"\d{6}(\.\d{2})?", version) or version[:6] < MIN_VERSION:
                raise Reply(error(426, f"Requested version {version} is not active",
                                  code="NONEXISTENT_VERSION"))
            if call.header("x-restli-protocol-version") != "2.0.0":
                raise Reply(error(400, "Rest.li protocol 2.0.0 is required: set "
                                  "X-Restli-Protocol-Version: 2.0.0", code="ILLEGAL_ARGUMENT"))
            return handler(call)
        return checked

    def _member(self, call: Call) -> str:
        account = call.account
        assert account is not None
        return str(account.extra.get("member_id") or account.external_account_id)

    def _organizations(self, call: Call) -> dict[str, str]:
        """Organization URN -> name for the organizations the member administers."""
        extra = call.account.extra if call.account else {}
        found = {str(o["urn"] if "urn" in o else f"urn:li:organization:{o['id']}"): str(o.get("name", ""))
                 for o in extra.get("organizations", []) if isinstance(o, Mapping)}
        urn = extra.get("author_urn")
        if isinstance(urn, str) and urn.startswith("urn:li:organization:"):
            found.setdefault(urn, call.account.username if call.account else "")
        return found

    def _may_act_as(self, call: Call, author: object) -> bool:
        return author == f"urn:li:person:{self._member(call)}" or author in self._organizations(call)

    def _scope(self, call: Call, *any_of: str) -> None:
        scopes = call.token_record.scopes if call.token_record else ()
        if scopes and not set(any_of) & set(scopes):
            raise Reply(error(403, f"Not enough permissions to access: {call.method} {call.path} "
                              f"(needs {' or '.join(any_of)})", code="ACCESS_DENIED", service_code=100))

    def _denied(self, call: Call, what: str) -> Reply:
        return Reply(error(403, f"Not enough permissions to access: {what}", code="ACCESS_DENIED",
                           service_code=100))

    def _id(self, moment: datetime) -> int:
        """Activity ids carry their creation time in the high bits."""
        return (ms(moment) << 22) | (self.sandbox.next_seq() & 0x3FFFFF)

    # -- OAuth (oauth.py)
    authorize = oauth.authorize
    token = oauth.token
    revoke = oauth.revoke
    userinfo = oauth.userinfo

    # -- media assets: their upload and GET (uploads.py); the assets a post may use
    asset_action = uploads.asset_action
    upload = uploads.upload
    get_asset = uploads.get_asset

    def _asset(self, urn: str) -> dict[str, Any] | None:
        """The asset ``urn``, unless it is unknown or was dropped unused (module docstring)."""
        asset = self.assets.get(urn)
        if asset is None or asset["used"]:
            return asset
        keep = timedelta(seconds=self.sandbox.config.limit(self.platform, "unused_asset_seconds",
                                                           UNUSED_ASSET_SECONDS))
        if self.now >= asset["created_at"] + keep:
            del self.assets[urn]
            return None
        return asset

    def status_of(self, asset: Mapping[str, Any]) -> str:
        if asset["ready_at"] is None:
            return "WAITING_UPLOAD"
        if self.now < asset["ready_at"]:
            return "PROCESSING"
        return "PROCESSING_FAILED" if asset["failed"] is not None else "AVAILABLE"

    # -- posts
    def create_post(self, call: Call) -> httpx.Response:
        body = call.json if isinstance(call.json, dict) else None
        if body is None:
            raise input_error("The request body must be a JSON object", "INVALID_VALUE", "/", 400)
        author = body.get("author")
        for field in ("author", "lifecycleState", "visibility", "distribution"):
            if not body.get(field):
                raise input_error(f"{field} is required", "FIELD_REQUIRED", f"/{field}")
        if not self._may_act_as(call, author):
            raise self._denied(call, "partnerApiPostsExternal.CREATE.20260101")
        self._scope(call, "w_organization_social" if str(author).startswith("urn:li:organization:")
                    else "w_member_social")
        raw = body.get("commentary", "")
        if not isinstance(raw, str):
            raise input_error("commentary must be a string", "INVALID_VALUE", "/commentary")
        text = render_little_text(raw)
        self._check_fields(body, text)
        content, post_type, media = self._content(body.get("content"), str(author))
        self._check_duplicate(call, str(author), text)
        kind = "ugcPost" if post_type in ("video", "document") else "share"
        urn = f"urn:li:{kind}:{self._id(call.now)}"
        stamp = ms(call.now)
        self.entries[urn] = {
            "id": urn, "author": author, "commentary": raw, "visibility": body["visibility"],
            "distribution": body["distribution"], "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": bool(body.get("isReshareDisabledByAuthor")),
            "createdAt": stamp, "publishedAt": stamp, "lastModifiedAt": stamp,
            "lifecycleStateInfo": {"isEditedByAuthor": False}, **({"content": content} if content else {})}
        for used in media:
            if used in self.assets:  # kept from now on: a post shows it
                self.assets[used]["used"] = True
        assert call.account is not None
        self.sandbox.record_post(self.platform, call.account, urn, text, post_type,
                                 f"https://www.linkedin.com/feed/update/{urn}", media=media)
        return httpx.Response(201, headers={"x-restli-id": urn, "x-linkedin-id": urn})

    def _check_fields(self, body: Mapping[str, Any], text: str) -> None:
        if body["lifecycleState"] != "PUBLISHED":
            raise input_error("lifecycleState must be PUBLISHED", "INVALID_VALUE", "/lifecycleState")
        if body["visibility"] not in ("PUBLIC", "CONNECTIONS", "LOGGED_IN"):
            raise input_error("visibility must be PUBLIC, CONNECTIONS or LOGGED_IN", "INVALID_VALUE",
                              "/visibility")
        if body["visibility"] == "CONNECTIONS" and str(body["author"]).startswith("urn:li:organization:"):
            raise input_error("Organizations cannot post to CONNECTIONS", "INVALID_VALUE", "/visibility")
        distribution = body["distribution"]
        if not isinstance(distribution, dict) or distribution.get("feedDistribution") not in (
                "MAIN_FEED", "NONE"):
            raise input_error("distribution.feedDistribution must be MAIN_FEED or NONE",
                              "INVALID_VALUE", "/distribution/feedDistribution")
        limit = RULES["linkedin"].text.limit
        if utf16_length(text) > limit:
            raise input_error(f"commentary is longer than {limit} characters", "MAX_LENGTH_EXCEEDED",
                              "/commentary")

    def _available(self, urn: object, author: str, kinds: tuple[str, ...], path: str) -> dict[str, Any]:
        asset = self._asset(str(urn))
        if asset is None:
            raise input_error(f"{urn} does not exist", "INVALID_VALUE", path)
        if asset["kind"] not in kinds or asset["owner"] != author:
            raise input_error(f"{urn} is not an uploaded {' or '.join(kinds)} of {author}",
                              "INVALID_VALUE", path)
        if self.status_of(asset) != "AVAILABLE":
            raise input_error(f"{urn} is not AVAILABLE (status {self.status_of(asset)})",
                              "INVALID_VALUE", path)
        return asset

    def _content(self, content: Any, author: str) -> tuple[dict[str, Any] | None, str, tuple[str, ...]]:
        if not content:
            return None, "text", ()
        if not isinstance(content, dict) or len(content) != 1:
            raise input_error("content takes exactly one of media, multiImage, article",
                              "INVALID_VALUE", "/content")
        if "article" in content:
            article = content["article"] if isinstance(content["article"], dict) else {}
            source = str(article.get("source") or "")
            if urlsplit(source).scheme not in ("http", "https") or not article.get("title"):
                raise input_error("article.source (an http(s) URL) and article.title are required",
                                  "FIELD_REQUIRED", "/content/article")
            return content, "link", (source,)
        if "multiImage" in content:
            images = (content["multiImage"] or {}).get("images") if isinstance(content["multiImage"], dict) else None
            if not isinstance(images, list) or not 2 <= len(images) <= 20:
                raise input_error("multiImage takes 2 to 20 images", "INVALID_VALUE",
                                  "/content/multiImage/images")
            for index, image in enumerate(images):
                self._available(image.get("id") if isinstance(image, dict) else None, author, ("image",),
                                f"/content/multiImage/images/{index}/id")
            return content, "carousel", tuple(str(i["id"]) for i in images)
        media: dict[str, Any] = content["media"] if isinstance(content.get("media"), dict) else {}
        asset = self._available(media.get("id"), author, ("image", "video", "document"),
                                "/content/media/id")
        if asset["kind"] == "document" and not media.get("title"):
            raise input_error("content.media.title is required for documents", "FIELD_REQUIRED",
                              "/content/media/title")
        return content, asset["kind"], (asset["urn"],)

    def _check_duplicate(self, call: Call, author: str, text: str) -> None:
        if not text.strip():
            return
        window = timedelta(seconds=self.sandbox.config.duplicate_window_seconds)
        for post in self.sandbox.recent_posts(self.platform, call.account_id, window):
            entry = self.entries.get(post.id)
            if post.text == text and post.status != "deleted" and entry and entry["author"] == author:
                raise Reply(self.duplicate(call, {"original": post.id}))

    def _entry(self, call: Call) -> dict[str, Any]:
        entry = self.entries.get(call.match["urn"])
        if entry is None or entry.get("_deleted"):
            raise Reply(error(404, f"{call.match['urn']} does not exist", code="NOT_FOUND"))
        return entry

    @staticmethod
    def _shown(entry: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in entry.items() if not k.startswith("_")}

    def find_posts(self, call: Call) -> httpx.Response:
        if call.query.get("q") != "author":
            raise Reply(error(400, "Only the author finder (q=author) is supported",
                              code="ILLEGAL_ARGUMENT"))
        author = call.query.get("author")
        if not self._may_act_as(call, author):
            raise self._denied(call, f"posts of {author}")
        self._scope(call, "r_organization_social" if str(author).startswith("urn:li:organization:")
                    else "r_member_social")
        try:
            count, start = int(call.query.get("count") or 10), int(call.query.get("start") or 0)
        except ValueError:
            raise Reply(error(400, "count and start must be integers", code="ILLEGAL_ARGUMENT")) from None
        if not 1 <= count <= 100 or start < 0:
            raise Reply(error(400, "count must be 1 to 100", code="ILLEGAL_ARGUMENT"))
        order = "createdAt" if call.query.get("sortBy") == "CREATED" else "lastModifiedAt"
        found = sorted((e for e in self.entries.values() if e["author"] == author
                        and not e.get("_deleted")), key=lambda e: e[order], reverse=True)
        page = found[start:start + count]
        return json_response(200, {"paging": {"start": start, "count": count, "links": [],
                                              "total": len(found)},
                                   "elements": [self._shown(e) for e in page]})

    def get_post(self, call: Call) -> httpx.Response:
        entry = self._entry(call)
        if not self._may_act_as(call, entry["author"]) and entry["visibility"] != "PUBLIC":
            raise self._denied(call, entry["id"])
        return json_response(200, self._shown(entry))

    def delete_post(self, call: Call) -> httpx.Response:
        entry = self._entry(call)
        if not self._may_act_as(call, entry["author"]):
            raise self._denied(call, f"delete {entry['id']}")
        entry["_deleted"] = True
        post = self.sandbox.post(self.platform, entry["id"])
        if post is not None:
            post.status = "deleted"
        return httpx.Response(204)

    # -- metrics (metrics.py)
    social_actions = metrics.social_actions
    share_statistics = metrics.share_statistics
    member_analytics = metrics.member_analytics

    # -- organizations
    def organization_acls(self, call: Call) -> httpx.Response:
        if call.query.get("q") != "roleAssignee":
            raise Reply(error(400, "Only q=roleAssignee is supported", code="ILLEGAL_ARGUMENT"))
        self._scope(call, "rw_organization_admin")
        member = f"urn:li:person:{self._member(call)}"
        return json_response(200, {"paging": {"start": 0, "count": 10, "links": []}, "elements": [
            {"roleAssignee": member, "role": "ADMINISTRATOR", "organization": urn,
             "state": "APPROVED"} for urn in self._organizations(call)]})

    def organization(self, call: Call) -> httpx.Response:
        urn = f"urn:li:organization:{call.match['id']}"
        name = self._organizations(call).get(urn)
        if name is None:
            raise self._denied(call, urn)
        return json_response(200, {"id": int(call.match["id"]), "localizedName": name,
                                   "vanityName": re.sub(r"\W+", "-", name.lower()).strip("-")})
