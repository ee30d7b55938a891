"""What the Facebook and Instagram connectors share: Graph API calls, Meta's error envelope
classified into the error tree, Facebook Login, and batched field reads (``?ids=``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx

from core.errors import (
    AuthPlatformError,
    PermanentPlatformError,
    PlatformError,
    RetryablePlatformError,
)
from core.platforms.base import AccountCredentials, Connector, TokenSet, chunks
from core.platforms.http import body_excerpt, error_body, json_object, parse_time, require_str, what
from core.platforms.rate_limits import (
    META_DEFAULT_THROTTLE_WAIT,
    is_meta_throttle,
    meta_retry_after,
    retry_after_header,
)

log = logging.getLogger("herald.platforms.meta")

GRAPH_VERSION = "v21.0"
BATCH_IDS = 50  # Graph API ?ids= maximum
AUTH_SUBCODES = frozenset({458, 459, 460, 463, 464, 467, 492})
DUPLICATE_SUBCODES = frozenset({1366051})
TRANSIENT_SUBCODES = frozenset({1363047, 1609010, 2207003})
SLOW_DOWN_SUBCODES = {1390008: timedelta(minutes=15)}  # "posting too fast"
IG_SPAM_SUBCODE = 2207051
IG_DAILY_LIMIT_SUBCODE = 2207042
IG_NOT_READY_SUBCODE = 2207027
IG_DAILY_LIMIT_WAIT = timedelta(hours=1)  # rolling 24 h window: a slot frees when one ages out


def meta_error(platform: str, response: httpx.Response, now: datetime) -> PlatformError:
    """Classify a Graph API error response, keeping Meta's own message."""
    status = response.status_code
    excerpt = body_excerpt(response)
    error = error_body(response).get("error")
    retry_at = meta_retry_after(response.headers, now) or retry_after_header(response.headers, now)
    if not isinstance(error, Mapping):
        message = f"HTTP {status} from {what(response)}" + (f": {excerpt[:200]}" if excerpt else "")
        cls = _class_for_status(status)
        return cls(platform, message, status=status, retry_after=retry_at, response_body=excerpt)
    message = str(error.get("message") or f"HTTP {status}")
    user_msg = error.get("error_user_msg")
    if user_msg and user_msg not in message:
        message = f"{message} ({user_msg})"
    code, subcode = _int(error.get("code")), _int(error.get("error_subcode"))
    kwargs: dict[str, Any] = {
        "status": status, "response_body": excerpt,
        "network_code": code if subcode is None else f"{code}/{subcode}"}
    if subcode == IG_SPAM_SUBCODE:
        return PermanentPlatformError(platform, message, **kwargs)
    if subcode == IG_DAILY_LIMIT_SUBCODE:
        return RetryablePlatformError(platform, message, retry_after=retry_at or now + IG_DAILY_LIMIT_WAIT, **kwargs)
    if subcode == IG_NOT_READY_SUBCODE:
        return RetryablePlatformError(platform, message, retry_after=now + timedelta(seconds=30), **kwargs)
    if is_meta_throttle(code):
        return RetryablePlatformError(platform, message, retry_after=retry_at or now + META_DEFAULT_THROTTLE_WAIT, **kwargs)
    if code in (102, 104, 190) or subcode in AUTH_SUBCODES:
        return AuthPlatformError(platform, message, **kwargs)
    if code == 506 or subcode in DUPLICATE_SUBCODES:
        return PermanentPlatformError(platform, message, **kwargs)
    if subcode in SLOW_DOWN_SUBCODES:
        return RetryablePlatformError(platform, message, retry_after=now + SLOW_DOWN_SUBCODES[subcode], **kwargs)
    if code == 341:
        return RetryablePlatformError(platform, message, retry_after=now + META_DEFAULT_THROTTLE_WAIT, **kwargs)
    if (code in (1, 2) or error.get("is_transient") is True or subcode in TRANSIENT_SUBCODES
            or status >= 500 or status == 429):
        return RetryablePlatformError(platform, message, retry_after=retry_at, **kwargs)
    return PermanentPlatformError(platform, message, **kwargs)


def _class_for_status(status: int) -> type[PlatformError]:
    if status == 429 or status >= 500:
        return RetryablePlatformError
    if status == 401:
        return AuthPlatformError
    return PermanentPlatformError


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None


def parse_graph_time(value: object) -> datetime | None:
    """Graph timestamps: ISO 8601 with ``+0000`` offsets, or unix seconds (stories)."""
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        return datetime.fromtimestamp(int(value), UTC)
    return parse_time(value)


class MetaConnector(Connector):
    """Graph API plumbing and Facebook Login for the Facebook and Instagram connectors."""

    def graph_base(self, account: AccountCredentials | None = None) -> str:
        return self.config.api_base.rstrip("/")

    def url(self, path: str, account: AccountCredentials | None = None) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return self.graph_base(account) + "/" + path.lstrip("/")

    def call(self, method: str, path: str, *, token: str | None,
             account: AccountCredentials | None = None, outcome_critical: bool = False,
             **kwargs: Any) -> dict[str, Any]:
        """One Graph call; an error answer raises the classified ``PlatformError``."""
        def attempt() -> dict[str, Any]:
            response = self.http.send(method, self.url(path, account), token=token,
                                      outcome_critical=outcome_critical, **kwargs)
            if response.status_code >= 400:
                raise meta_error(self.platform, response, self.now())
            body = json_object(self.platform, response)
            if isinstance(body.get("error"), Mapping):
                raise meta_error(self.platform, response, self.now())
            return body

        return self.step(attempt, what=f"{method} {path}", outcome_critical=outcome_critical)

    def ok(self, response_body: dict[str, Any], what_call: str) -> None:
        if response_body.get("success") is not True:
            raise PermanentPlatformError(self.platform, f"{what_call} did not report success: "
                                         f"{str(response_body)[:200]}")

    # -- Facebook Login
    def authorize_url(self, state: str, redirect_uri: str, code_challenge: str | None = None) -> str:
        params = {"client_id": self.config.client_id or "", "redirect_uri": redirect_uri,
                  "state": state, "response_type": "code", "scope": ",".join(self.scopes)}
        if code_challenge:
            params.update(code_challenge=code_challenge, code_challenge_method="S256")
        return self.config.oauth_base.rstrip("/") + "/dialog/oauth?" + urlencode(params)

    def long_lived_user_token(self, code: str, redirect_uri: str,
                              code_verifier: str | None) -> tuple[str, datetime | None, dict[str, Any]]:
        """Code -> short-lived user token -> long-lived (~60 days) user token."""
        client = {"client_id": self.config.client_id or "",
                  "client_secret": self.config.client_secret or ""}
        params = {**client, "redirect_uri": redirect_uri, "code": code}
        if code_verifier:
            params["code_verifier"] = code_verifier
        response = self.http.send("GET", self.url("oauth/access_token"), params=params)
        if response.status_code >= 400:
            raise meta_error(self.platform, response, self.now())
        short = require_str(self.platform, response, json_object(self.platform, response),
                            "access_token")
        response = self.http.send("GET", self.url("oauth/access_token"), params={
            **client, "grant_type": "fb_exchange_token", "fb_exchange_token": short})
        if response.status_code >= 400:
            raise meta_error(self.platform, response, self.now())
        body = json_object(self.platform, response)
        token = require_str(self.platform, response, body, "access_token")
        return token, self.expires_in(body.get("expires_in")), body

    def pages(self, user_token: str, fields: str) -> list[dict[str, Any]]:
        body = self.call("GET", "me/accounts", token=user_token, params={"fields": fields,
                                                                          "limit": "100"})
        data = body.get("data")
        return [p for p in data if isinstance(p, dict)] if isinstance(data, list) else []

    def revoke(self, account: AccountCredentials) -> None:
        """``DELETE /me/permissions``; a token that is already invalid counts as revoked."""
        try:
            self.call("DELETE", "me/permissions", token=account.access_token, account=account)
        except AuthPlatformError:
            log.info("%s token already invalid; nothing to revoke", self.platform)

    def no_refresh(self) -> AuthPlatformError:
        return AuthPlatformError(
            self.platform, "Meta issues no refresh tokens for this login: reconnect the account "
            "to get a new token")

    # -- reading many objects
    def read_objects(self, ids: Sequence[str], fields: str, *, token: str,
                     account: AccountCredentials, fallback_fields: str | None = None
                     ) -> dict[str, dict[str, Any]]:
        """``GET /?ids=...&fields=...`` in batches of 50. A batch refused as a whole (one id
        deleted, one metric unavailable) is read id by id, retrying with ``fallback_fields``,
        and ids that still fail are left out."""
        found: dict[str, dict[str, Any]] = {}
        for batch in chunks(list(dict.fromkeys(ids)), BATCH_IDS):
            try:
                body = self.call("GET", "", token=token, account=account,
                                 params={"ids": ",".join(batch), "fields": fields})
                found.update({k: v for k, v in body.items() if isinstance(v, dict)})
            except PermanentPlatformError:
                for object_id in batch:
                    found.update(self._read_one(object_id, fields, fallback_fields, token, account))
        return found

    def _read_one(self, object_id: str, fields: str, fallback: str | None, token: str,
                  account: AccountCredentials) -> dict[str, dict[str, Any]]:
        for attempt in (fields, fallback):
            if attempt is None:
                continue
            try:
                return {object_id: self.call("GET", object_id, token=token, account=account,
                                             params={"fields": attempt})}
            except PermanentPlatformError as exc:
                log.info("%s: no metrics for %s (%s)", self.platform, object_id, exc.network_message)
        return {}

    @staticmethod
    def insight_values(obj: Mapping[str, Any]) -> dict[str, int]:
        """``insights.data[{name, values:[{value}]}]`` -> ``{name: value}`` (objects summed)."""
        rows = (obj.get("insights") or {}).get("data") if isinstance(obj.get("insights"), dict) else None
        values: dict[str, int] = {}
        for row in rows or []:
            if not isinstance(row, Mapping) or not row.get("values"):
                continue
            value = row["values"][-1].get("value") if isinstance(row["values"][-1], Mapping) else None
            if isinstance(value, Mapping):
                value = sum(v for v in value.values() if isinstance(v, int | float))
            if isinstance(value, int | float):
                values[str(row.get("name"))] = int(value)
        return values

    @staticmethod
    def summary_count(obj: Mapping[str, Any], edge: str) -> int:
        summary = (obj.get(edge) or {}).get("summary") if isinstance(obj.get(edge), dict) else None
        count = summary.get("total_count") if isinstance(summary, Mapping) else None
        return int(count) if isinstance(count, int | float) else 0

    def token_set(self, token: str, expires_at: datetime | None, account: dict[str, Any],
                  raw: dict[str, Any]) -> TokenSet:
        return TokenSet(access_token=token, refresh_token=None, expires_at=expires_at,
                        scopes=self.scopes, account=account, raw=raw)
