"""LinkedIn in the sandbox: the versioned Posts API (``/rest``, ``LinkedIn-Version`` and
``X-Restli-Protocol-Version: 2.0.0`` required), image/document/video uploads
(``initializeUpload`` -> ``PUT`` -> ``finalizeUpload`` with ETags for video parts) processing
``WAITING_UPLOAD -> PROCESSING -> AVAILABLE | PROCESSING_FAILED`` on the sandbox clock,
``POST /rest/posts`` answering 201 with ``x-restli-id``, little-text commentary, 422
``DUPLICATE_POST``, bare 429 per member per UTC day, posts by author, ``socialActions``,
organization share statistics, member post analytics, organization ACLs and 3-legged OAuth
(60-day tokens, non-rotating programmatic refresh tokens).

Commentary is read as LinkedIn's little text: ``\\x`` is a literal ``x``, ``#word`` and
``{hashtag|\\#|word}`` are hashtags, ``@[Name](urn:li:person|organization:id)`` a mention; any
other unescaped reserved character ends the visible text (LinkedIn is widely reported to cut
commentary there). The recorded post text is what members would see.

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
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

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

MIN_VERSION = "202501"  # versions stay active for about a year (unconfirmed)
ACCESS_TTL = 60 * 86400
REFRESH_TTL = 365 * 86400
UPLOAD_TTL = timedelta(hours=24)
UNUSED_ASSET_SECONDS = 24 * 3600  # the sandbox's assumption (module docstring)
VIDEO_PART_BYTES = 4 * 1024**2
VIDEO_MAX_BYTES = 500 * 1024**2
POSTS_PER_DAY = 150
PERSON_DEFAULT = "hErAlDsAnDbOx"
DOCUMENT_TYPES = ("application/pdf", "application/vnd.ms-powerpoint", "application/msword",
                  "application/vnd.openxmlformats-officedocument")
RESERVED = set("\\<>#~_|[]*(){}@")
_TEMPLATE = re.compile(
    r"@\[(?P<name>[^\[\]\n]+)\]\(urn:li:(?:person|organization):[\w-]+\)"
    r"|\{hashtag\|\\#\|(?P<tag>\w+)\}|#(?P<hashtag>\w+)")
_ASSET = r"(?P<urn>urn:li:(?:image|video|document):[\w-]+)"
_POST = r"(?P<urn>urn:li:(?:share|ugcPost):\d+)"
_LIST = re.compile(r"^List\((.*)\)$")
_ENTITY = re.compile(r"^\((share|ugc):(urn:li:(?:share|ugcPost):\d+)\)$")
ASSET_PREFIX = {"images": ("image", "C4E10AQ"), "videos": ("video", "D4E05AQ"),
                "documents": ("document", "D4D10AQ")}
METRIC_TYPES = {"IMPRESSION": "views", "MEMBERS_REACHED": "reach", "RESHARE": "shares",
                "REACTION": "likes", "COMMENT": "comments", "POST_SAVE": "saves",
                "POST_SEND": "clicks"}
FAILURE_REASON = "Video processing failed: the file is not a supported MP4 (H.264/AAC)"


def render_little_text(raw: str) -> str:
    """Commentary as members see it (see the module docstring)."""
    out: list[str] = []
    i = 0
    while i < len(raw):
        if raw[i] == "\\" and i + 1 < len(raw):
            out.append(raw[i + 1])
            i += 2
            continue
        found = _TEMPLATE.match(raw, i)
        if found:
            out.append(found["name"] or "#" + (found["tag"] or found["hashtag"]))
            i = found.end()
            continue
        if raw[i] in RESERVED:
            break
        out.append(raw[i])
        i += 1
    return "".join(out)


def error(status: int, message: str, *, code: str | None = None, service_code: int | None = None,
          headers: Mapping[str, str] | None = None) -> httpx.Response:
    body: dict[str, Any] = {"status": status, "message": message}
    if service_code is not None:
        body["serviceErrorCode"] = service_code
    if code:
        body["code"] = code
    return json_response(status, body, headers)


def input_error(message: str, code: str, field: str, status: int = 422) -> Reply:
    return Reply(json_response(status, {
        "errorDetailType": "com.linkedin.common.error.BadRequest", "message": message,
        "errorDetails": {"inputErrors": [{"description": message, "input": {
            "inputPath": {"fieldPath": field}}, "code": code}]}, "status": status}))


def oauth_error(status: int, code: str, description: str) -> Reply:
    return Reply(json_response(status, {"error": code, "error_description": description}))


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


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

    # -- OAuth
    def authorize(self, call: Call) -> httpx.Response:
        q = call.query
        missing = [k for k in ("response_type", "client_id", "redirect_uri", "state", "scope")
                   if not q.get(k)]
        if missing or q.get("response_type") != "code":
            return json_response(400, {"error": "invalid_request", "error_description":
                                       f"Missing or invalid: {', '.join(missing) or 'response_type'}"})
        login = q.get("sandbox_login")
        account = (self.sandbox.account(self.platform, login) if login else None) or self.default_account()
        code = self.sandbox.issue_code(self.platform, account.external_account_id,
                                       client_id=q["client_id"], redirect_uri=q["redirect_uri"],
                                       scopes=tuple(q["scope"].split()))
        return httpx.Response(302, headers={"Location": q["redirect_uri"] + (
            "&" if "?" in q["redirect_uri"] else "?") + urlencode({"code": code, "state": q["state"]})})

    def token(self, call: Call) -> httpx.Response:
        form = call.form
        if not form.get("client_id") or not form.get("client_secret"):
            raise oauth_error(401, "invalid_client", "Client authentication failed")
        grant = form.get("grant_type")
        if grant == "authorization_code":
            code = self.sandbox.take_code(self.platform, form.get("code"))
            if (code is None or code.redirect_uri != form.get("redirect_uri")
                    or code.client_id != form["client_id"]):
                raise oauth_error(400, "invalid_request", "Unable to retrieve access token: appid/"
                                  "redirect uri/code verifier does not match authorization code. "
                                  "Or authorization code expired.")
            return self._issue(code.account_id, code.scopes, form["client_id"])
        if grant == "refresh_token":
            record, _ = self.sandbox.check_token(self.platform, form.get("refresh_token"), ("refresh",))
            if record is None:
                raise oauth_error(400, "invalid_request", "The provided authorization grant or "
                                  "refresh token is invalid, expired or revoked.")
            return self._issue(record.account_id, record.scopes, form["client_id"], refresh=record)
        raise oauth_error(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported")

    def _issue(self, account_id: str, scopes: tuple[str, ...], client_id: str,
               refresh: Any = None) -> httpx.Response:
        family = refresh.family if refresh is not None else secrets.token_hex(8)
        access = self.sandbox.issue_token(self.platform, account_id, ttl_seconds=ACCESS_TTL,
                                          scopes=scopes, client_id=client_id, family=family,
                                          prefix="AQV")
        body: dict[str, Any] = {"access_token": access.token, "expires_in": ACCESS_TTL,
                                "scope": ",".join(scopes)}
        if refresh is None and self.sandbox.config.limit(self.platform, "programmatic_refresh", 1):
            refresh = self.sandbox.issue_token(self.platform, account_id, kind="refresh",
                                               ttl_seconds=REFRESH_TTL, scopes=scopes,
                                               client_id=client_id, family=family, prefix="AQX")
        if refresh is not None:  # the same refresh token, counting down from the first grant
            left = (refresh.expires_at - self.now).total_seconds() if refresh.expires_at else REFRESH_TTL
            body.update(refresh_token=refresh.token, refresh_token_expires_in=int(left))
        return json_response(200, body)

    def revoke(self, call: Call) -> httpx.Response:
        if not call.form.get("client_id") or not call.form.get("client_secret"):
            raise oauth_error(401, "invalid_client", "Client authentication failed")
        record = self.sandbox.token_record(call.form.get("token"))
        if record is not None and record.platform == self.platform:
            self.sandbox.revoke_tokens(self.platform, family=record.family, token=record.token)
        return httpx.Response(200)

    def userinfo(self, call: Call) -> httpx.Response:
        self._scope(call, "openid", "profile")
        account = call.account
        assert account is not None
        given, _, family = account.username.partition(" ")
        return json_response(200, {"sub": account.external_account_id, "name": account.username,
                                   "given_name": given, "family_name": family,
                                   "picture": f"https://media.licdn.com/dms/image/{account.external_account_id}",
                                   "locale": {"country": "US", "language": "en"}})

    # -- media assets
    def asset_action(self, call: Call) -> httpx.Response:
        action = call.query.get("action")
        if action == "initializeUpload":
            return self._initialize(call)
        if action == "finalizeUpload" and call.match["kind"] == "videos":
            return self._finalize(call)
        raise Reply(error(400, f"Unsupported action {action!r} on /{call.match['kind']}",
                          code="ILLEGAL_ARGUMENT"))

    def _initialize(self, call: Call) -> httpx.Response:
        kind, prefix = ASSET_PREFIX[call.match["kind"]]
        request = (call.json or {}).get("initializeUploadRequest") if isinstance(call.json, dict) else None
        if not isinstance(request, dict) or not request.get("owner"):
            raise input_error("initializeUploadRequest.owner is required", "FIELD_REQUIRED",
                              "/initializeUploadRequest/owner", 400)
        if not self._may_act_as(call, request["owner"]):
            raise self._denied(call, f"{call.match['kind']} owned by {request['owner']}")
        self._scope(call, "w_member_social", "w_organization_social")
        urn = f"urn:li:{kind}:{prefix}{secrets.token_urlsafe(9).replace('-', 'x').replace('_', 'y')}"
        asset: dict[str, Any] = {"urn": urn, "kind": kind, "owner": request["owner"], "parts": [],
                                 "etags": {}, "ready_at": None, "created_at": call.now,
                                 "failed": call.notes.get("processing_failed"), "upload_token": "",
                                 "used": False}
        value: dict[str, Any] = {kind: urn}
        expires = ms(call.now + UPLOAD_TTL)
        if kind == "video":
            size = request.get("fileSizeBytes")
            if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= VIDEO_MAX_BYTES:
                raise input_error(f"fileSizeBytes must be 1 to {VIDEO_MAX_BYTES}", "INVALID_VALUE",
                                  "/initializeUploadRequest/fileSizeBytes", 400)
            part = int(self.sandbox.config.limit(self.platform, "video_part_bytes", VIDEO_PART_BYTES))
            asset["parts"] = [(first, min(first + part, size) - 1) for first in range(0, size, part)]
            asset["upload_token"] = "" if len(asset["parts"]) == 1 else secrets.token_hex(16)
            value.update(uploadUrlsExpireAt=expires, uploadToken=asset["upload_token"],
                         uploadInstructions=[{"uploadUrl": self._upload_url(call, urn, index),
                                              "firstByte": first, "lastByte": last}
                                             for index, (first, last) in enumerate(asset["parts"])])
        else:
            value.update(uploadUrlExpiresAt=expires, uploadUrl=self._upload_url(call, urn, 0))
        self.assets[urn] = asset
        return json_response(200, {"value": value})

    def _upload_url(self, call: Call, urn: str, index: int) -> str:
        key = secrets.token_urlsafe(18).replace("-", "x").replace("_", "y")
        self.upload_keys[key] = (urn, index)
        return f"{call.base}/dms-uploads/{key}"

    def upload(self, call: Call) -> httpx.Response:
        urn, index = self.upload_keys.get(call.match["key"], ("", 0))
        asset = self._asset(urn)
        if asset is None or not self._may_act_as(call, asset["owner"]):
            raise Reply(error(404, "Upload URL not found or expired", code="NOT_FOUND"))
        if call.now >= asset["created_at"] + UPLOAD_TTL or asset["ready_at"] is not None:
            raise Reply(error(400, "The upload URL has expired or the upload is complete",
                              code="ILLEGAL_ARGUMENT"))
        if not call.body:
            raise Reply(error(400, "The request body is empty", code="ILLEGAL_ARGUMENT"))
        if asset["kind"] == "document" and not (call.header("content-type") or "").startswith(
                DOCUMENT_TYPES):
            raise Reply(error(400, "Documents are PDF, PPT(X) or DOC(X) files: send their "
                              "Content-Type", code="ILLEGAL_ARGUMENT"))
        if asset["kind"] != "video":
            asset["ready_at"] = call.now + timedelta(seconds=self.delay(asset["kind"]) or self.delay("image"))
            return httpx.Response(201)
        first, last = asset["parts"][index]
        if len(call.body) != last - first + 1:
            raise Reply(error(400, f"Part {index} must be bytes {first}-{last} "
                              f"({last - first + 1} bytes); got {len(call.body)}", code="ILLEGAL_ARGUMENT"))
        etag = "/ambry-video/signedId/" + hashlib.sha256(f"{urn}/{index}".encode() + call.body).hexdigest()[:32]
        asset["etags"][index] = etag
        return httpx.Response(200, headers={"ETag": etag})

    def _finalize(self, call: Call) -> httpx.Response:
        request = (call.json or {}).get("finalizeUploadRequest") if isinstance(call.json, dict) else None
        request = request if isinstance(request, dict) else {}
        asset = self._asset(str(request.get("video") or ""))
        if asset is None or not self._may_act_as(call, asset["owner"]):
            raise input_error("finalizeUploadRequest.video is not a video you are uploading",
                              "INVALID_VALUE", "/finalizeUploadRequest/video", 400)
        expected = [asset["etags"].get(i) for i in range(len(asset["parts"]))]
        if None in expected or list(request.get("uploadedPartIds") or []) != expected:
            raise input_error("uploadedPartIds must list the ETag of every uploaded part, in "
                              "order", "INVALID_VALUE", "/finalizeUploadRequest/uploadedPartIds", 400)
        if (request.get("uploadToken") or "") != asset["upload_token"]:
            raise input_error("uploadToken does not match", "INVALID_VALUE",
                              "/finalizeUploadRequest/uploadToken", 400)
        asset["ready_at"] = call.now + timedelta(seconds=self.delay("video"))
        return httpx.Response(200)

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

    def get_asset(self, call: Call) -> httpx.Response:
        asset = self._asset(call.match["urn"])
        if asset is None or ASSET_PREFIX[call.match["kind"]][0] != asset["kind"]:
            raise Reply(error(404, f"{call.match['urn']} does not exist", code="NOT_FOUND"))
        if not self._may_act_as(call, asset["owner"]):
            raise self._denied(call, f"{asset['urn']}")
        status = self.status_of(asset)
        body: dict[str, Any] = {"id": asset["urn"], "owner": asset["owner"], "status": status}
        if status == "AVAILABLE":
            body.update(downloadUrl=f"https://media.licdn.com/dms/{asset['kind']}/{asset['urn']}",
                        downloadUrlExpiresAt=ms(self.now + timedelta(hours=1)))
        if status == "PROCESSING_FAILED":
            body["processingFailureReason"] = str(asset["failed"].get("reason") or FAILURE_REASON)
        return json_response(200, body)

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

    # -- metrics
    def _counts(self, urn: str) -> Any:
        post = self.sandbox.post(self.platform, urn)
        return self.sandbox.engagement(post) if post is not None else None

    def social_actions(self, call: Call) -> httpx.Response:
        entry = self._entry(call)
        counts = self._counts(entry["id"])
        return json_response(200, {
            "target": entry["id"], "$URN": f"urn:li:socialActions:{entry['id']}",
            "likesSummary": {"selectedLikes": [], "aggregatedTotalLikes": counts.likes,
                             "likedByCurrentUser": False, "totalLikes": counts.likes},
            "commentsSummary": {"selectedComments": [], "totalFirstLevelComments": counts.comments,
                                "aggregatedTotalComments": counts.comments}})

    def share_statistics(self, call: Call) -> httpx.Response:
        organization = call.query.get("organizationalEntity")
        if call.query.get("q") != "organizationalEntity" or not organization:
            raise Reply(error(400, "q=organizationalEntity and organizationalEntity are required",
                              code="ILLEGAL_ARGUMENT"))
        if organization not in self._organizations(call):
            raise self._denied(call, f"share statistics of {organization}")
        self._scope(call, "rw_organization_admin", "r_organization_social")
        elements = []
        for param, key in (("shares", "share"), ("ugcPosts", "ugcPost")):
            listed = _LIST.match(call.query.get(param, ""))
            for urn in (u.strip() for u in (listed.group(1).split(",") if listed else []) if u.strip()):
                entry = self.entries.get(urn)
                if entry is None or entry.get("_deleted") or entry["author"] != organization:
                    continue
                c = self._counts(urn)
                elements.append({key: urn, "organizationalEntity": organization,
                                 "totalShareStatistics": {
                                     "impressionCount": c.views, "uniqueImpressionsCount": c.reach,
                                     "clickCount": c.clicks, "likeCount": c.likes,
                                     "commentCount": c.comments, "shareCount": c.shares,
                                     "engagement": round((c.likes + c.comments + c.shares + c.clicks)
                                                         / max(1, c.views), 6)}})
        return json_response(200, {"paging": {"start": 0, "count": 10, "links": []},
                                   "elements": elements})

    def member_analytics(self, call: Call) -> httpx.Response:
        entity = _ENTITY.match(call.query.get("entity", ""))
        query_type = call.query.get("queryType", "")
        if call.query.get("q") != "entity" or entity is None or query_type not in METRIC_TYPES:
            raise Reply(error(400, "q=entity, entity=(share:urn) or (ugc:urn) and a queryType of "
                              f"{', '.join(METRIC_TYPES)} are required", code="ILLEGAL_ARGUMENT"))
        self._scope(call, "r_member_postAnalytics")
        entry = self.entries.get(entity.group(2))
        if entry is None or entry.get("_deleted"):
            raise Reply(error(404, f"{entity.group(2)} does not exist", code="NOT_FOUND"))
        if entry["author"] != f"urn:li:person:{self._member(call)}":
            raise self._denied(call, f"analytics of {entry['id']}")
        count = getattr(self._counts(entry["id"]), METRIC_TYPES[query_type])
        return json_response(200, {"paging": {"start": 0, "count": 10, "links": []}, "elements": [{
            "count": count, "targetEntity": {entity.group(1): entry["id"]},
            "metricType": {"com.linkedin.adsexternalapi.memberanalytics.v1."
                           "CreatorPostAnalyticsMetricTypeV1": query_type}}]})

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
