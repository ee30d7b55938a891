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

This module holds ``SnapchatSandbox`` (routes, Snap's envelope, limits and access, profiles,
media containers, stats); ``multipart_upload`` the encrypted file's upload and decryption,
``content`` stories and Spotlight, ``oauth`` OAuth.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

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
from core.platforms.sandbox.snapchat import content, multipart_upload, oauth

DEFAULTS = {"allowlisted": 1, "requests_per_minute": 600, "max_part_bytes": 32 * 1024**2,
            "image_max_bytes": 20 * 1024**2, "video_max_bytes": 500 * 1024**2,
            "media_ttl_seconds": 86400, "story_ttl_seconds": 86400, "title_max": 45,
            "description_max": 160}
ASSET_TYPES = {"story": "STORY", "saved_story": "SAVED_STORY", "spotlight": "SPOTLIGHT"}
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


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

    # -- OAuth (oauth.py)
    authorize = oauth.authorize
    token = oauth.token
    revoke = oauth.revoke

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

    # -- multipart upload of the encrypted file (multipart_upload.py)
    multipart = multipart_upload.multipart

    # -- content (content.py)
    create_content = content.create_content
    list_content = content.list_content

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
