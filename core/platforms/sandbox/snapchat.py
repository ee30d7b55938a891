"""Snapchat's Public Profile API in the sandbox (allowlisted apps only, Public Profiles only).

Most of this API is unconfirmed (PLATFORMS.md §7), so the sandbox keeps exact what is confirmed
and makes the rest configurable. Confirmed and exact: the media container ``POST
/v1/public_profiles/{profile_id}/media`` ``{type, name, key, iv}`` (32-byte key, 16-byte IV,
base64), AES-256-CBC with PKCS7, parts of at most 32 MB, a container active for 24 hours, the
``/stats`` endpoint with ``assetType``. The encryption is checked for real: at ``FINALIZE`` the
parts are joined and decrypted with the key and IV given at creation, and media that does not
decrypt, or does not decrypt to the declared kind of file (JPEG/PNG, MP4/MOV), is refused.

Designed here (the connector's ``SnapEndpoints`` defaults): ``multipart-upload-v2?action=INIT|
ADD|FINALIZE`` as in the Marketing API (INIT hands out ``add_path`` and ``finalize_path``), the
media status read (``PENDING_UPLOAD`` -> ``PROCESSING`` -> ``READY`` | ``FAILED`` on the sandbox
clock), ``stories`` / ``saved_stories`` (title <= 45) / ``spotlights`` (video only, description
<= 160 with hashtags, ``locale`` required), their listings, Snap's envelope (``request_status``,
``request_id``, ``debug_message``, ``display_message``, ``error_code``; the codes are made up),
OAuth on ``accounts.snapchat.com`` (30-minute access tokens, refresh tokens that do not rotate).
Snap documents no rate limits: a per-profile window answers 429 with ``Retry-After``.

``SandboxConfig.limits["snapchat"]``: ``allowlisted`` (0 refuses every Public Profile call with
403), ``requests_per_minute``, ``max_part_bytes``, ``image_max_bytes``, ``video_max_bytes``,
``media_ttl_seconds``, ``story_ttl_seconds``, ``title_max``, ``description_max``.
Faults: ``duplicate`` has no Snapchat equivalent and is answered as a generic 400 refusal;
``processing_failed`` (on media creation) makes processing end ``FAILED``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
import secrets
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from core.domain.rules import RULES
from core.platforms.base import pkce_challenge
from core.platforms.sandbox.base import (
    Call,
    Reply,
    Route,
    SandboxAccount,
    SandboxNetwork,
    SandboxPost,
    is_invalid_json,
    json_response,
    route,
)
from core.platforms.sandbox.engagement import ZERO, Engagement, engagement

ACCESS_TTL = 1800
DEFAULTS = {"allowlisted": 1, "requests_per_minute": 600, "max_part_bytes": 32 * 1024**2,
            "image_max_bytes": 20 * 1024**2, "video_max_bytes": 500 * 1024**2,
            "media_ttl_seconds": 86400, "story_ttl_seconds": 86400, "title_max": 45,
            "description_max": 160}
MAGIC = {"IMAGE": (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")}
KINDS = {"stories": "story", "saved_stories": "saved_story", "spotlights": "spotlight"}
ASSET_TYPES = {"story": "STORY", "saved_story": "SAVED_STORY", "spotlight": "SPOTLIGHT"}
_LOCALE = re.compile(r"[a-z]{2}_[A-Z]{2}")
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def decrypt(data: bytes, key: bytes, iv: bytes) -> bytes | None:
    """AES-256-CBC + PKCS7, or ``None`` when ``data`` does not decrypt with ``key``/``iv``."""
    if not data or len(data) % 16:
        return None
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(algorithms.AES.block_size).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        return None


def looks_like(media_type: str, plain: bytes) -> bool:
    if media_type == "VIDEO":
        return plain[4:8] == b"ftyp"  # MP4 / MOV
    return plain.startswith(MAGIC["IMAGE"])


class SnapchatSandbox(SandboxNetwork):
    platform = "snapchat"
    registered_token_kind = "access"

    def __init__(self, sandbox: Any) -> None:
        self.media: dict[str, dict[str, Any]] = {}
        self.content: dict[str, dict[str, Any]] = {}
        super().__init__(sandbox)

    def routes(self) -> list[Route]:
        profile = rf"/v1/public_profiles/(?P<profile>{_UUID})"
        return [
            route("GET", r"/login/oauth2/authorize", self.authorize, "oauth", auth=False),
            route("POST", r"/login/oauth2/access_token", self.token, "oauth", auth=False),
            route("POST", r"/accounts/oauth2/revoke", self.revoke, "oauth", auth=False),
            route("GET", r"/v1/me", self.me),
            route("GET", r"/v1/me/public_profiles", self.my_profiles),
            route("POST", profile + r"/media", self.create_media, "media"),
            route("GET", profile + r"/media", self.list_media),
            route("GET", profile + rf"/media/(?P<media>{_UUID})", self.get_media),
            route("POST", rf"/v1/media/(?P<media>{_UUID})/multipart-upload-v2", self.multipart,
                  "upload"),
            route("POST", profile + r"/(?P<kind>stories|saved_stories|spotlights)",
                  self.create_content, "publish"),
            route("GET", profile + r"/(?P<kind>stories|saved_stories|spotlights)", self.list_content),
            route("GET", profile + r"/stats", self.stats),
        ]

    def default_account(self) -> SandboxAccount:
        return self.sandbox.ensure_account(self.platform, "5e1f6a2c-0d3b-4c8e-9a71-000000000001",
                                           "heraldsandbox")

    def token_of(self, call: Call) -> str | None:
        """Public Profile pages show ``Authorization: <token>``, the Ads pages ``Bearer``."""
        auth = (call.header("authorization") or "").strip()
        scheme, _, value = auth.partition(" ")
        return value.strip() if scheme.lower() == "bearer" else (auth or None)

    def setting(self, name: str) -> float:
        return self.sandbox.config.limit(self.platform, name, DEFAULTS[name])

    def _uuid(self, kind: str) -> str:
        digest = hashlib.sha256(f"snapchat:{kind}:{self.sandbox.next_seq()}".encode()).digest()
        return str(uuid.UUID(bytes=digest[:16], version=4))

    # -- Snap's envelope
    def error(self, status: int, message: str, code: str,
              headers: Mapping[str, str] | None = None) -> httpx.Response:
        return json_response(status, {"request_status": "ERROR", "request_id": self._uuid("req"),
                                      "debug_message": message, "display_message": message,
                                      "error_code": code}, headers)

    def fail(self, status: int, message: str, code: str = "E1001") -> Reply:
        return Reply(self.error(status, message, code))

    def ok(self, **body: Any) -> httpx.Response:
        return json_response(200, {"request_status": "SUCCESS", "request_id": self._uuid("req"),
                                   **body})

    def auth_error(self, call: Call, reason: str) -> httpx.Response:
        return self.error(401, "Unauthorized: the access token is missing, invalid or expired",
                          "E3001")

    def rate_limited(self, call: Call, reset_at: datetime, params: Mapping[str, Any]) -> httpx.Response:
        seconds = max(1, math.ceil((reset_at - call.now).total_seconds()))
        return self.error(429, "Too many requests", "E3007", {"Retry-After": str(seconds)})

    def server_error(self, call: Call, params: Mapping[str, Any]) -> httpx.Response:
        return self.error(int(params.get("status", 503)), "Service unavailable, please retry",
                          "E5000")

    def duplicate(self, call: Call, params: Mapping[str, Any]) -> httpx.Response:
        # Snapchat documents no duplicate rejection; a generic refusal stands in for it.
        return self.error(400, "Content rejected: it duplicates content already posted to this "
                          "profile", "E1009")

    def not_found(self, call: Call) -> httpx.Response:
        return self.error(404, f"Resource not found: {call.method} {call.path}", "E1008")

    # -- limits and access
    def check_limits(self, call: Call, route: Route) -> httpx.Response | None:
        if not route.auth or not call.account_id:
            return None
        limit = int(self.setting("requests_per_minute"))
        state = self.sandbox.hit_window((self.platform, "calls", call.account_id), limit, 60)
        return self.rate_limited(call, state.reset_at, {}) if state.exceeded else None

    def _profile(self, call: Call) -> SandboxAccount:
        if not self.setting("allowlisted"):
            raise self.fail(403, "This app is not allowlisted for the Public Profile API",
                            "E3002")
        if call.account is None or call.match["profile"] != call.account_id:
            raise self.fail(403, "The access token does not authorize this public profile",
                            "E3003")
        return call.account

    # -- OAuth
    def authorize(self, call: Call) -> httpx.Response:
        q = call.query
        missing = [k for k in ("client_id", "redirect_uri", "response_type", "scope") if not q.get(k)]
        if missing or q.get("response_type") != "code":
            return json_response(400, {"error": "invalid_request", "error_description":
                                       f"Missing or invalid: {', '.join(missing) or 'response_type'}"})
        login = q.get("sandbox_login")
        account = (self.sandbox.account(self.platform, login) if login else None) or self.default_account()
        code = self.sandbox.issue_code(
            self.platform, account.external_account_id, client_id=q["client_id"],
            redirect_uri=q["redirect_uri"], challenge=q.get("code_challenge"),
            method=q.get("code_challenge_method", "plain"), scopes=tuple(q["scope"].split()))
        separator = "&" if "?" in q["redirect_uri"] else "?"
        query = urlencode({"code": code, "state": q.get("state", "")})
        return httpx.Response(302, headers={"Location": f"{q['redirect_uri']}{separator}{query}"})

    def token(self, call: Call) -> httpx.Response:
        form = call.form
        if not form.get("client_id") or not form.get("client_secret"):
            return json_response(401, {"error": "invalid_client",
                                       "error_description": "Client authentication failed"})
        grant = form.get("grant_type")
        if grant == "authorization_code":
            code = self.sandbox.take_code(self.platform, form.get("code"))
            verifier = form.get("code_verifier") or ""
            if (code is None or code.redirect_uri != form.get("redirect_uri") or (
                    code.challenge and (pkce_challenge(verifier) if code.method == "S256"
                                        else verifier) != code.challenge)):
                return json_response(400, {"error": "invalid_grant",
                                           "error_description": "Invalid authorization code"})
            family = secrets.token_hex(8)
            refresh = self.sandbox.issue_token(self.platform, code.account_id, kind="refresh",
                                               scopes=code.scopes, client_id=form["client_id"],
                                               family=family)
            return self._issue(code.account_id, code.scopes, form["client_id"], refresh.token, family)
        if grant == "refresh_token":
            record, _ = self.sandbox.check_token(self.platform, form.get("refresh_token"), ("refresh",))
            if record is None:
                return json_response(400, {"error": "invalid_grant",
                                           "error_description": "Invalid refresh token"})
            return self._issue(record.account_id, record.scopes, form["client_id"], record.token,
                               record.family)
        return json_response(400, {"error": "unsupported_grant_type",
                                   "error_description": f"grant_type {grant!r} is not supported"})

    def _issue(self, account_id: str, scopes: tuple[str, ...], client_id: str, refresh: str,
               family: str | None) -> httpx.Response:
        access = self.sandbox.issue_token(self.platform, account_id, ttl_seconds=ACCESS_TTL,
                                          scopes=scopes, client_id=client_id, family=family)
        return json_response(200, {"access_token": access.token, "token_type": "Bearer",
                                   "expires_in": ACCESS_TTL, "refresh_token": refresh,
                                   "scope": " ".join(scopes)})

    def revoke(self, call: Call) -> httpx.Response:
        record = self.sandbox.token_record(call.form.get("token"))
        if record is not None and record.platform == self.platform:
            self.sandbox.revoke_tokens(self.platform, family=record.family, token=record.token)
        return json_response(200, {})  # RFC 7009: unknown tokens are "revoked" too

    def me(self, call: Call) -> httpx.Response:
        user = str(uuid.uuid5(uuid.NAMESPACE_URL, f"snapchat-user:{call.account_id}"))
        return self.ok(me={"id": user, "display_name": call.account.username if call.account else "",
                           "organization_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"org:{user}"))})

    def my_profiles(self, call: Call) -> httpx.Response:
        account = call.account
        assert account is not None
        return self.ok(public_profiles=[{"sub_request_status": "SUCCESS", "public_profile": {
            "id": account.external_account_id, "display_name": account.username,
            "username": account.username, "profile_type": "BUSINESS"}}])

    # -- media
    def create_media(self, call: Call) -> httpx.Response:
        account = self._profile(call)
        body = call.json
        if is_invalid_json(body) or not isinstance(body, dict):
            raise self.fail(400, "The request body must be a JSON object")
        media_type, name = body.get("type"), body.get("name")
        if media_type not in ("IMAGE", "VIDEO"):
            raise self.fail(400, "type must be IMAGE or VIDEO")
        if not isinstance(name, str) or not name.strip():
            raise self.fail(400, "name is required")
        key, iv = self._b64(body.get("key"), 32, "key"), self._b64(body.get("iv"), 16, "iv")
        media_id = self._uuid("media")
        self.media[media_id] = {
            "id": media_id, "owner": account.external_account_id, "name": name, "type": media_type,
            "key": key, "iv": iv, "created_at": call.now, "upload": None, "finalized_at": None,
            "ready_at": None, "failed": call.notes.get("processing_failed"), "size": 0}
        return self.ok(media_id=media_id, media=self._render_media(self.media[media_id]))

    def _b64(self, value: Any, size: int, what: str) -> bytes:
        try:
            raw = base64.b64decode(str(value or ""), validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != size:
            raise self.fail(400, f"{what} must be {size} random bytes, base64 encoded "
                            f"(AES-256-CBC needs a {size * 8}-bit {what})")
        return raw

    def media_state(self, media: dict[str, Any]) -> str:
        if media["finalized_at"] is None:
            return "PENDING_UPLOAD"
        if self.now < media["ready_at"]:
            return "PROCESSING"
        return "FAILED" if media["failed"] is not None else "READY"

    def _render_media(self, media: dict[str, Any]) -> dict[str, Any]:
        out = {"id": media["id"], "name": media["name"], "type": media["type"],
               "media_status": self.media_state(media), "created_at": iso(media["created_at"]),
               "expires_at": iso(media["created_at"] + timedelta(seconds=self.setting("media_ttl_seconds")))}
        if out["media_status"] == "FAILED":
            out["failure_reason"] = str(media["failed"].get("error_code") or "TRANSCODING_FAILED")
        return out

    def _own_media(self, call: Call, media_id: str) -> dict[str, Any]:
        media = self.media.get(media_id)
        if media is None or media["owner"] != call.account_id:
            raise self.fail(404, f"Media {media_id} not found", "E1008")
        return media

    def list_media(self, call: Call) -> httpx.Response:
        self._profile(call)
        found = sorted((m for m in self.media.values() if m["owner"] == call.account_id),
                       key=lambda m: m["created_at"], reverse=True)
        limit = int(call.query.get("limit") or 50)
        return self.ok(media=[{"sub_request_status": "SUCCESS", "media": self._render_media(m)}
                              for m in found[:limit]])

    def get_media(self, call: Call) -> httpx.Response:
        self._profile(call)
        return self.ok(media=self._render_media(self._own_media(call, call.match["media"])))

    # -- multipart upload of the encrypted file
    def multipart(self, call: Call) -> httpx.Response:
        media = self._own_media(call, call.match["media"])
        if not self.setting("allowlisted"):
            raise self.fail(403, "This app is not allowlisted for the Public Profile API", "E3002")
        if media["finalized_at"] is not None:
            raise self.fail(400, f"Media {media['id']} has already been uploaded")
        action = (call.query.get("action") or "").upper()
        handlers = {"INIT": self._init, "ADD": self._add, "FINALIZE": self._finalize}
        if action not in handlers:
            raise self.fail(400, "action must be INIT, ADD or FINALIZE")
        return handlers[action](call, media)

    def _int(self, call: Call, name: str) -> int:
        value = str(call.param(name) or "")
        if not value.isdigit():
            raise self.fail(400, f"{name} is required and must be a positive integer")
        return int(value)

    def _init(self, call: Call, media: dict[str, Any]) -> httpx.Response:
        size, parts = self._int(call, "file_size"), self._int(call, "number_of_parts")
        limit = self.setting("image_max_bytes" if media["type"] == "IMAGE" else "video_max_bytes")
        if size == 0 or size % 16:
            raise self.fail(400, "file_size must be that of the AES-256-CBC encrypted file "
                            "(a positive multiple of 16 bytes)")
        if size > limit + 16:
            raise self.fail(400, f"The {media['type'].lower()} is larger than {int(limit)} bytes")
        if not math.ceil(size / self.setting("max_part_bytes")) <= parts <= size:
            raise self.fail(400, "number_of_parts does not fit file_size in parts of at most "
                            f"{int(self.setting('max_part_bytes'))} bytes")
        upload_id = str(uuid.uuid4())
        media["upload"] = {"id": upload_id, "size": size, "parts": parts, "received": {}}
        base = urlsplit(call.base).path + f"/v1/media/{media['id']}/multipart-upload-v2"
        return self.ok(upload_id=upload_id, add_path=f"{base}?action=ADD",
                       finalize_path=f"{base}?action=FINALIZE")

    def _upload_of(self, call: Call, media: dict[str, Any]) -> dict[str, Any]:
        upload = media["upload"]
        if upload is None or call.param("upload_id") != upload["id"]:
            raise self.fail(400, "upload_id does not match an INIT of this media")
        return upload

    def _add(self, call: Call, media: dict[str, Any]) -> httpx.Response:
        upload = self._upload_of(call, media)
        number, part = self._int(call, "part_number"), call.files.get("file")
        if part is None or part.filename is None or not part.data:
            raise self.fail(400, "file is required (a multipart file part)")
        if not 1 <= number <= upload["parts"]:
            raise self.fail(400, f"part_number must be between 1 and {upload['parts']}")
        if len(part.data) > self.setting("max_part_bytes"):
            raise self.fail(400, f"A part may be at most {int(self.setting('max_part_bytes'))} bytes")
        upload["received"][number] = part.data
        return self.ok()

    def _finalize(self, call: Call, media: dict[str, Any]) -> httpx.Response:
        upload = self._upload_of(call, media)
        missing = [n for n in range(1, upload["parts"] + 1) if n not in upload["received"]]
        if missing:
            raise self.fail(400, f"Parts {missing} have not been uploaded")
        data = b"".join(upload["received"][n] for n in range(1, upload["parts"] + 1))
        if len(data) != upload["size"]:
            raise self.fail(400, f"The parts add up to {len(data)} bytes, not file_size "
                            f"{upload['size']}")
        plain = decrypt(data, media["key"], media["iv"])
        if plain is None or not looks_like(media["type"], plain):
            media["upload"] = None  # the bytes are dropped; a new INIT may try again
            raise self.fail(400, f"Media {media['id']} could not be decrypted with the key and "
                            f"iv given at creation into {media['type'].lower()} data",
                            "E2004")
        kind = "video" if media["type"] == "VIDEO" else "image"
        media.update(finalized_at=call.now, size=len(plain), upload=None,
                     ready_at=call.now + timedelta(seconds=self.delay(kind)),
                     digest=hashlib.sha256(plain).hexdigest())
        return self.ok(result=self._render_media(media))

    # -- content
    def create_content(self, call: Call) -> httpx.Response:
        account = self._profile(call)
        kind = KINDS[call.match["kind"]]
        body = call.json if isinstance(call.json, dict) else {}
        media = self._usable_media(call, str(body.get("media_id") or ""))
        text = self._check_content(kind, media, body)
        content_id = self._uuid(kind)
        url = (f"https://www.snapchat.com/spotlight/{content_id}" if kind == "spotlight"
               else f"https://www.snapchat.com/add/{account.username}")
        item = {"id": content_id, "owner": account.external_account_id, "kind": kind,
                "media_id": media["id"], "created_at": call.now, "text": text,
                "locale": body.get("locale"), "saved_to_profile": not body.get("skip_save_to_profile")}
        self.content[content_id] = item
        self.sandbox.record_post(self.platform, account, content_id, text, kind, url,
                                 media=(media["id"],))
        return self.ok(**{kind: self._render_content(item)})

    def _usable_media(self, call: Call, media_id: str) -> dict[str, Any]:
        if not media_id:
            raise self.fail(400, "media_id is required")
        media = self._own_media(call, media_id)
        if call.now >= media["created_at"] + timedelta(seconds=self.setting("media_ttl_seconds")):
            raise self.fail(400, f"Media {media_id} has expired (media is active for 24 hours)",
                            "E2006")
        state = self.media_state(media)
        if state != "READY":
            raise self.fail(400, f"Media {media_id} is {state}, not READY", "E2005")
        return media

    def _check_content(self, kind: str, media: dict[str, Any], body: dict[str, Any]) -> str:
        if kind == "saved_story":
            title = body.get("title")
            limit = int(self.setting("title_max"))
            if not isinstance(title, str) or not 1 <= len(title.strip()) <= limit:
                raise self.fail(400, f"title is required and must be 1 to {limit} characters")
            return title
        if kind == "spotlight":
            if media["type"] != "VIDEO":
                raise self.fail(400, "Spotlight only accepts VIDEO media")
            description = body.get("description") or ""
            limit = int(self.setting("description_max"))
            if not isinstance(description, str) or RULES["snapchat"].text.length(description) > limit:
                raise self.fail(400, f"description must be at most {limit} characters, hashtags "
                                "included")
            if not isinstance(body.get("locale"), str) or not _LOCALE.fullmatch(body["locale"]):
                raise self.fail(400, "locale is required, e.g. en_US")
            return description
        return ""

    def _render_content(self, item: dict[str, Any]) -> dict[str, Any]:
        out = {"id": item["id"], "media_id": item["media_id"], "created_at": iso(item["created_at"])}
        if item["kind"] == "story":
            out["expires_at"] = iso(item["created_at"] + timedelta(seconds=self.setting("story_ttl_seconds")))
        if item["kind"] == "saved_story":
            out["title"] = item["text"]
        if item["kind"] == "spotlight":
            out.update(description=item["text"], locale=item["locale"],
                       saved_to_profile=item["saved_to_profile"])
        return out

    def _live(self, item: dict[str, Any]) -> bool:
        if item["kind"] != "story":
            return True
        return self.now < item["created_at"] + timedelta(seconds=self.setting("story_ttl_seconds"))

    def list_content(self, call: Call) -> httpx.Response:
        self._profile(call)
        kind, key = KINDS[call.match["kind"]], call.match["kind"]
        found = sorted((i for i in self.content.values() if i["owner"] == call.account_id
                        and i["kind"] == kind and self._live(i)),
                       key=lambda i: i["created_at"], reverse=True)
        limit = int(call.query.get("limit") or 50)
        return self.ok(**{key: [{"sub_request_status": "SUCCESS", kind: self._render_content(i)}
                                for i in found[:limit]]})

    # -- metrics
    def stats(self, call: Call) -> httpx.Response:
        self._profile(call)
        asset_type = call.query.get("assetType", "")
        kinds = {v: k for k, v in ASSET_TYPES.items()}
        if asset_type not in kinds:
            raise self.fail(400, "assetType must be one of STORY, SAVED_STORY, SPOTLIGHT")
        wanted = [i for i in (call.query.get("assetIds") or "").split(",") if i]
        items = [i for i in self.content.values() if i["owner"] == call.account_id
                 and i["kind"] == kinds[asset_type] and (not wanted or i["id"] in wanted)]
        rows = []
        for item in items:
            counts = self._counts(item)
            rows.append({"sub_request_status": "SUCCESS", "total_stat": {
                "id": item["id"], "asset_type": asset_type, "granularity": "TOTAL",
                "stats": {"views": counts.views, "viewers": counts.reach,
                          "shares": counts.shares, "screenshots": counts.saves}}})
        return self.ok(total_stats=rows)

    def _counts(self, item: dict[str, Any]) -> Engagement:
        """A story stops gathering views when it expires after 24 hours."""
        post: SandboxPost | None = self.sandbox.post(self.platform, item["id"])
        if post is None or post.status != "published":
            return ZERO
        until = self.now
        if item["kind"] == "story":
            until = min(until, item["created_at"] + timedelta(seconds=self.setting("story_ttl_seconds")))
        return engagement(self.platform, post.id, post.created_at, until,
                          tz=self.sandbox.config.audience_timezone)
