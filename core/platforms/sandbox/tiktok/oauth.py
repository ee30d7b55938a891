"""TikTok's Login Kit v2 OAuth in the sandbox: the consent redirect, the code exchange with PKCE
(the base64url challenge, or the hex SHA-256 desktop apps send), refresh tokens that rotate (a
refresh token works once; the new one keeps the old expiry) and revocation of a token's family."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import httpx

from core.platforms.base import pkce_challenge
from core.platforms.sandbox.base import Call, Reply, json_response
from core.platforms.sandbox.tiktok.envelope import log_id

if TYPE_CHECKING:
    from core.platforms.sandbox.tiktok.network import TikTokSandbox

ACCESS_TTL = 2 * 3600
REFRESH_TTL = 180 * 86400


def authorize(network: TikTokSandbox, call: Call) -> httpx.Response:
    q = call.query
    missing = [k for k in ("client_key", "scope", "response_type", "redirect_uri", "state") if not q.get(k)]
    if missing or q.get("response_type") != "code":
        return json_response(400, {"error": "invalid_request", "error_description":
                                   f"Missing or invalid: {', '.join(missing) or 'response_type'}"})
    login = q.get("sandbox_login")
    account = (network.sandbox.account(network.platform, login) if login else None) or network.default_account()
    code = network.sandbox.issue_code(
        network.platform, account.external_account_id, client_id=q["client_key"],
        redirect_uri=q["redirect_uri"], challenge=q.get("code_challenge"),
        method=q.get("code_challenge_method"), scopes=tuple(q["scope"].split(",")))
    separator = "&" if "?" in q["redirect_uri"] else "?"
    return httpx.Response(302, headers={"Location": q["redirect_uri"] + separator + urlencode(
        {"code": code, "scopes": q["scope"], "state": q["state"]})})


def oauth_error(call: Call, code: str, description: str, status: int = 400) -> Reply:
    return Reply(json_response(status, {"error": code, "error_description": description,
                                        "log_id": log_id(call.now)}))


def token(network: TikTokSandbox, call: Call) -> httpx.Response:
    form = call.form
    if not form.get("client_key") or not form.get("client_secret"):
        raise oauth_error(call, "invalid_client", "Client key or secret is missing or invalid.", 401)
    if form.get("grant_type") == "authorization_code":
        code = network.sandbox.take_code(network.platform, form.get("code"))
        if code is None or code.redirect_uri != form.get("redirect_uri") or code.client_id != form["client_key"]:
            raise oauth_error(call, "invalid_grant", "Authorization code is expired or invalid.")
        verifier = form.get("code_verifier") or ""
        hex_challenge = hashlib.sha256(verifier.encode()).hexdigest()  # desktop apps
        if code.challenge and code.challenge not in (pkce_challenge(verifier), hex_challenge):
            raise oauth_error(call, "invalid_grant", "Code verifier does not match the code challenge.")
        return issue(network, code.account_id, code.scopes, form["client_key"], None)
    if form.get("grant_type") == "refresh_token":
        record, _ = network.sandbox.check_token(network.platform, form.get("refresh_token"), ("refresh",))
        if record is None:
            raise oauth_error(call, "invalid_grant", "Refresh token is invalid or expired.")
        record.revoked = True  # rotation: a refresh token works once
        return issue(network, record.account_id, record.scopes, form["client_key"], record.expires_at)
    raise oauth_error(call, "unsupported_grant_type", "grant_type is not supported.")


def issue(network: TikTokSandbox, account_id: str, scopes: tuple[str, ...], client_key: str,
          refresh_expires: datetime | None) -> httpx.Response:
    family = secrets.token_hex(8)
    ttl = network.sandbox.config.limit(network.platform, "access_ttl_seconds", ACCESS_TTL)
    access = network.sandbox.issue_token(network.platform, account_id, ttl_seconds=ttl, scopes=scopes,
                                         client_id=client_key, family=family, prefix="act.")
    left = (refresh_expires - network.now).total_seconds() if refresh_expires else REFRESH_TTL
    refresh = network.sandbox.issue_token(network.platform, account_id, kind="refresh", ttl_seconds=left,
                                          scopes=scopes, client_id=client_key, family=family,
                                          prefix="rft.")
    return json_response(200, {"access_token": access.token, "expires_in": int(ttl),
                               "open_id": account_id, "refresh_token": refresh.token,
                               "refresh_expires_in": int(left), "scope": ",".join(scopes),
                               "token_type": "Bearer"})


def revoke(network: TikTokSandbox, call: Call) -> httpx.Response:
    if not call.form.get("client_key") or not call.form.get("client_secret"):
        raise oauth_error(call, "invalid_client", "Client key or secret is missing or invalid.", 401)
    record = network.sandbox.token_record(call.form.get("token"))
    if record is not None and record.platform == network.platform:
        network.sandbox.revoke_tokens(network.platform, account_id=None, family=record.family,
                                      token=record.token)
    return json_response(200, {})
