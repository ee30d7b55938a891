"""Snapchat, through the Public Profile API (part of the Snap Marketing API).

**Allowlisted apps only, Public Profiles only.** Snap opens the API to apps it allowlists (send
the OAuth client id to a Snap contact); it posts to Public Profiles (creators and businesses),
never to personal accounts. Login Kit is identity only and Creative Kit only hands media to the
app, so this API is the only programmatic way to publish organically.

Flow (PLATFORMS.md §7; one media item per post):

1. encrypt the file: AES-256-CBC with a random 32-byte key and 16-byte IV, PKCS7 padding;
2. ``POST /v1/public_profiles/{profile_id}/media`` ``{type: IMAGE|VIDEO, name, key, iv}`` (key
   and IV base64) -> ``media_id``, a container that stays active for 24 hours;
3. upload the *encrypted* bytes in parts of at most 32 MB: ``INIT`` (file name, size, number of
   parts) -> ``upload_id`` with ``add_path`` and ``finalize_path``; ``ADD`` each part; ``FINALIZE``;
4. wait (bounded) until the media is ``READY``;
5. create the content: a Story (post type ``story``: image or video, ephemeral 24 h), a Saved
   Story (a ``story`` with a title, <= 45 characters, permanent) or a Spotlight (post type ``reel``
   or ``video``: video only, description <= 160 characters including hashtags, ``locale``
   default ``en_US``).

Only steps 1-2 and the stats endpoint are confirmed by Snap's documentation. The multipart
endpoints follow the Marketing API's ``multipart-upload-v2?action=INIT|ADD|FINALIZE`` (whose
answer names the paths for ADD and FINALIZE, which are followed as given); the media status read,
the content endpoints and their fields, the listing used by ``find_existing``, the response
shapes, token lifetimes and error codes are unconfirmed. Every path lives in ``SnapEndpoints``:
set ``connector.endpoints`` to follow what Snap's allowlist documentation says.

Staging ahead (``stage``) makes steps 1-4 before the scheduled time; the publish is then step 5
alone. The media stays usable for 24 hours.

The media is named ``herald-{idempotency_key or post_id}`` so ``find_existing`` can find the
content a lost answer created: media of that name in the window, then content using that media.

This module holds the connector (publishing, staging, reconciliation, metrics, OAuth); beside it
``endpoints`` holds the paths (``SnapEndpoints``), ``answers`` reads Snap's answers (errors and
lists), ``encryption`` seals the media before upload, and ``content`` names what a post becomes
(its kind, media name, profile and link).
"""

from __future__ import annotations

import base64
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from core.errors import AuthPlatformError, PermanentPlatformError
from core.platforms.base import (
    AccountCredentials,
    Connector,
    MetricSnapshot,
    PublishRequest,
    PublishResult,
    TokenSet,
    chunks,
    search_since,
)
from core.platforms.http import count, json_object, parse_time
from core.platforms.media import FetchedMedia, MediaFetchError, fetch_media
from core.platforms.snapchat.answers import snapchat_error, unwrap
from core.platforms.snapchat.content import (
    content_kind,
    content_url,
    media_name,
    plural,
    profile_id,
)
from core.platforms.snapchat.encryption import SealedMedia, seal
from core.platforms.snapchat.endpoints import SnapEndpoints

log = logging.getLogger("herald.platforms.snapchat")

SCOPE = "snapchat-marketing-api"
IMAGE_MAX_BYTES = 20 * 1024**2  # JPEG/PNG; reports range from 5 to 20 MB (unconfirmed)
VIDEO_MAX_BYTES = 500 * 1024**2  # MP4; reports range from 32 to 500 MB (unconfirmed)
PART_MAX_BYTES = 32 * 1024**2  # "split -b 32m" (Profile Asset Management)
STATS_BATCH = 50
ASSET_TYPES = {"story": "STORY", "saved_story": "SAVED_STORY", "spotlight": "SPOTLIGHT"}
STAT_FIELDS = "views,viewers,shares,screenshots"
DEFAULT_LOCALE = "en_US"
# Media stays active 24 hours after creation; staged media is used for an hour less than that.
MEDIA_STAGING_TTL = timedelta(hours=23)
# The content call's answers about the media itself: not found (E1008), expired (E2006).
STAGED_GONE_CODES = frozenset({"E1008", "E2006"})


# --- the connector -----------------------------------------------------------------------------


class SnapchatConnector(Connector):
    platform = "snapchat"
    default_scopes = (SCOPE,)
    endpoints: SnapEndpoints = SnapEndpoints()
    part_bytes: int = PART_MAX_BYTES
    """Bytes per uploaded part of the encrypted file (at most 32 MB; tests set it small)."""

    def url(self, path: str, **values: str) -> str:
        """A path of ``endpoints`` (or one the API handed out, host-relative or absolute)."""
        path = path.format(**values)
        if path.startswith(("http://", "https://", "/")):
            return urljoin(self.config.api_base.rstrip("/") + "/", path)
        return self.api(path)

    def call(self, method: str, url: str, *, token: str, outcome_critical: bool = False,
             **kwargs: Any) -> dict[str, Any]:
        def attempt() -> dict[str, Any]:
            response = self.http.send(method, url, token=token, outcome_critical=outcome_critical,
                                      **kwargs)
            if response.status_code >= 400:
                raise snapchat_error(self.platform, response, self.now())
            body = json_object(self.platform, response)
            if str(body.get("request_status", "")).upper() == "ERROR":
                raise snapchat_error(self.platform, response, self.now())
            return body

        return self.step(attempt, what=f"{method} {urlsplit(url).path}", outcome_critical=outcome_critical)

    # -- publishing
    staging_ttl = MEDIA_STAGING_TTL

    def stage(self, request: PublishRequest, account: AccountCredentials) -> dict[str, Any] | None:
        return {"media_id": self._ready_media(request, account)}

    def publish(self, request: PublishRequest, account: AccountCredentials) -> PublishResult:
        kind = self._kind(request)
        media_id = str(request.staged["media_id"]) if request.staged else self._ready_media(request, account)
        with self.refusing_staged(request, f"the media {media_id}",
                                  gone=lambda exc: exc.network_code in STAGED_GONE_CODES):
            body, item = self._create_content(kind, media_id, request, account)
        content_id = self._id(item, "id", f"the {kind.replace('_', ' ')}")
        return PublishResult(content_id, content_url(kind, content_id, account, item),
                             {**body, "media_id": media_id, "kind": kind})

    def _kind(self, request: PublishRequest) -> str:
        kind = content_kind(request)
        if kind is None:
            raise self.unsupported(request)
        return kind

    def _ready_media(self, request: PublishRequest, account: AccountCredentials) -> str:
        """The media to post, uploaded and processed (READY)."""
        kind = self._kind(request)
        self.require_media(request)
        if len(request.media_urls) > 1:
            raise PermanentPlatformError(self.platform, "Snapchat takes one media item per post")
        media_id = self._upload(request, kind, account)
        self._await_media(media_id, account)
        return media_id

    def _upload(self, request: PublishRequest, kind: str, account: AccountCredentials) -> str:
        url = request.media_urls[0]
        allowed = {"video"} if kind == "spotlight" else {"image", "video"}
        limit = IMAGE_MAX_BYTES if request.kind_of(url) == "image" else VIDEO_MAX_BYTES
        with fetch_media(url, max_bytes=limit, allowed_kinds=allowed,
                         allow_hosts=self.config.media_allow_hosts, client=self.http.client,
                         platform=self.platform) as media:
            if media.kind == "image" and media.size > IMAGE_MAX_BYTES:
                raise MediaFetchError(self.platform, url, f"it is {media.size} bytes; Snapchat "
                                      f"takes images up to {IMAGE_MAX_BYTES}")
            with seal(media) as sealed:
                return self._send(sealed, media, request, account)

    def _send(self, sealed: SealedMedia, media: FetchedMedia, request: PublishRequest,
              account: AccountCredentials) -> str:
        token, profile, name = account.access_token, profile_id(account), media_name(request)
        created = self.call("POST", self.url(self.endpoints.create_media, profile_id=profile),
                            token=token, json={
                                "type": "IMAGE" if media.kind == "image" else "VIDEO",
                                "name": name, "key": base64.b64encode(sealed.key).decode(),
                                "iv": base64.b64encode(sealed.iv).decode()})
        media_id = self._id(created, "media_id", "media creation", fallback=("media", "id"))
        size = max(1, min(self.part_bytes, PART_MAX_BYTES))
        init_url = self.url(self.endpoints.upload_init, media_id=media_id, profile_id=profile)
        init = self.call("POST", init_url, token=token, data={
            "file_name": f"{name}.{media.extension}", "file_size": str(sealed.size),
            "number_of_parts": str(math.ceil(sealed.size / size))})
        upload_id = self._id(init, "upload_id", "multipart INIT", fallback=("result", "upload_id"))
        add = str(init.get("add_path") or init_url.replace("action=INIT", "action=ADD"))
        finalize = str(init.get("finalize_path") or init_url.replace("action=INIT", "action=FINALIZE"))
        for number, part in enumerate(sealed.parts(size), start=1):
            self.call("POST", self.url(add), token=token,
                      data={"part_number": str(number), "upload_id": upload_id},
                      files={"file": (f"{name}.part{number}", part, "application/octet-stream")})
        self.call("POST", self.url(finalize), token=token, data={"upload_id": upload_id})
        return media_id

    def _await_media(self, media_id: str, account: AccountCredentials) -> None:
        """Poll until the media is ``READY``; ``FAILED`` is permanent, running out of time is
        retryable (nothing was published)."""
        url = self.url(self.endpoints.media, profile_id=profile_id(account), media_id=media_id)

        def step() -> tuple[bool, str]:
            found = self.call("GET", url, token=account.access_token).get("media")
            media = found if isinstance(found, Mapping) else {}
            state = str(media.get("media_status") or "")
            if state == "FAILED":
                raise PermanentPlatformError(
                    self.platform, f"Snapchat could not process media {media_id}: "
                    f"{media.get('failure_reason') or 'unknown reason'}", network_code="FAILED")
            return state == "READY", state

        self.wait(step, what=f"Snapchat media {media_id}")

    def _create_content(self, kind: str, media_id: str, request: PublishRequest,
                        account: AccountCredentials) -> tuple[dict[str, Any], dict[str, Any]]:
        payload: dict[str, Any] = {"media_id": media_id}
        if kind == "saved_story":
            payload["title"] = " ".join(str(request.title).split())
        if kind == "spotlight":
            payload.update(description=request.text,
                           locale=str(request.options.get("locale") or DEFAULT_LOCALE),
                           skip_save_to_profile=not request.options.get("save_to_profile", True))
        url = self.url(self.endpoints.content[kind], profile_id=profile_id(account))
        body = self.call("POST", url, token=account.access_token, json=payload,
                         outcome_critical=True)
        item = body.get(kind)
        return body, dict(item) if isinstance(item, Mapping) else {}

    def _id(self, body: Mapping[str, Any], key: str, what_for: str,
            fallback: tuple[str, str] | None = None) -> str:
        value = body.get(key)
        if value in (None, "") and fallback is not None:
            outer = body.get(fallback[0])
            value = outer.get(fallback[1]) if isinstance(outer, Mapping) else None
        if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
            raise PermanentPlatformError(
                self.platform, f"answered the {what_for} without {key}: {str(body)[:200]}",
                response_body=str(body)[:2000])
        return str(value)

    # -- reconciliation
    def find_existing(self, request: PublishRequest, account: AccountCredentials, *,
                      since: datetime | None = None) -> PublishResult | None:
        """Media named after this post in the window, then the content that uses it (the
        oldest, should there be several). Stories older than 24 hours are gone."""
        kind = content_kind(request)
        if kind is None:
            return None
        since = since or search_since(request, self.now())
        profile, token = profile_id(account), account.access_token
        listed = self.call("GET", self.url(self.endpoints.list_media, profile_id=profile),
                           token=token, params={"limit": "100"})
        names = {str(m["id"]) for m in unwrap(listed, "media") if m.get("id")
                 and m.get("name") == media_name(request)
                 and (parse_time(m.get("created_at")) or since) >= since}
        if not names:
            return None
        body = self.call("GET", self.url(self.endpoints.content[kind], profile_id=profile),
                         token=token, params={"limit": "100"})
        found = [item for item in unwrap(body, plural(kind))
                 if str(item.get("media_id")) in names and item.get("id")]
        if not found:
            return None
        item = min(found, key=lambda i: parse_time(i.get("created_at")) or since)
        return PublishResult(str(item["id"]), content_url(kind, str(item["id"]), account, item), item)

    # -- metrics
    def fetch_metrics(self, external_ids: Sequence[str], account: AccountCredentials
                      ) -> dict[str, MetricSnapshot]:
        """Lifetime totals per asset. The ids do not say which kind of content they are, so each
        batch is asked for as every asset type; an id appears under its own. Snapchat reports
        no likes or comments; screenshots are reported as saves."""
        url = self.url(self.endpoints.stats, profile_id=profile_id(account))
        metrics: dict[str, MetricSnapshot] = {}
        for batch in chunks(list(dict.fromkeys(external_ids)), STATS_BATCH):
            for asset_type in ASSET_TYPES.values():
                body = self.call("GET", url, token=account.access_token, params={
                    "assetType": asset_type, "assetIds": ",".join(batch),
                    "fields": STAT_FIELDS, "granularity": "TOTAL"})
                for row in unwrap(body, "total_stats"):
                    found = row.get("stats")
                    stats: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
                    if row.get("id") is None or str(row["id"]) not in batch:
                        continue
                    metrics[str(row["id"])] = MetricSnapshot(
                        external_id=str(row["id"]), likes=0, comments=0,
                        shares=count(stats, "shares"), views=count(stats, "views"),
                        saves=count(stats, "screenshots"), reach=count(stats, "viewers"))
        return metrics

    # -- OAuth 2.0
    def authorize_url(self, state: str, redirect_uri: str, code_challenge: str | None = None) -> str:
        params = {"client_id": self.config.client_id or "", "redirect_uri": redirect_uri,
                  "response_type": "code", "scope": " ".join(self.scopes), "state": state}
        if code_challenge:
            params.update(code_challenge=code_challenge, code_challenge_method="S256")
        return self.oauth(self.endpoints.authorize) + "?" + urlencode(params)

    def _token_call(self, form: dict[str, str]) -> dict[str, Any]:
        form.update(client_id=self.config.client_id or "",
                    client_secret=self.config.client_secret or "")
        response = self.http.send("POST", self.oauth(self.endpoints.token), data=form)
        return self.token_answer(response, snapchat_error)

    def _token_set(self, body: dict[str, Any], refresh: str | None,
                   identity: dict[str, Any]) -> TokenSet:
        return self.oauth_token_set(body, identity, refresh=refresh)

    def exchange_code(self, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        """Code -> tokens -> the Public Profiles this login may post to (the first is the
        account; all are in ``choices``)."""
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if code_verifier:
            form["code_verifier"] = code_verifier
        tokens = self._token_set(self._token_call(form), None, {})
        token = tokens.access_token
        me = self.call("GET", self.url(self.endpoints.me), token=token).get("me") or {}
        profiles = unwrap(self.call("GET", self.url(self.endpoints.profiles), token=token),
                          "public_profiles")
        choices = [{"external_account_id": str(p["id"]),
                    "username": str(p.get("username") or p.get("display_name") or p["id"]),
                    "extra": {"profile_id": str(p["id"]),
                              "organization_id": me.get("organization_id") if isinstance(me, Mapping) else None}}
                   for p in profiles if p.get("id")]
        if not choices:
            raise PermanentPlatformError(
                self.platform, "this login manages no Snapchat Public Profile (the Public Profile "
                "API posts only to Public Profiles, and only for allowlisted apps)")
        return replace(tokens, account={**choices[0], "choices": choices})

    def refresh_token(self, account: AccountCredentials) -> TokenSet:
        if not account.refresh_token:
            raise AuthPlatformError(self.platform, "no refresh token stored: reconnect the account")
        body = self._token_call({"grant_type": "refresh_token",
                                 "refresh_token": account.refresh_token})
        return self._token_set(body, account.refresh_token, {
            "external_account_id": account.external_account_id, "username": account.username,
            "extra": dict(account.extra)})

    def revoke(self, account: AccountCredentials) -> None:
        for token in (account.refresh_token, account.access_token):
            if not token:
                continue
            response = self.http.send("POST", self.oauth(self.endpoints.revoke),
                                      data={"token": token, "client_id": self.config.client_id or ""})
            if response.status_code in (400, 401):
                log.info("Snapchat token already invalid; nothing to revoke")
            elif response.status_code >= 400:
                raise snapchat_error(self.platform, response, self.now())
