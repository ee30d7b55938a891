"""Snapchat's OAuth in the sandbox (``accounts.snapchat.com``): the consent redirect, the code
exchange (PKCE when the app sent a challenge), 30-minute access tokens and refresh tokens that do
not rotate (a refresh answers the same refresh token), and revocation (RFC 7009)."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import httpx

from core.platforms.base import pkce_challenge
from core.platforms.sandbox.base import Call, json_response

if TYPE_CHECKING:
    from core.platforms.sandbox.snapchat.network import SnapchatSandbox

ACCESS_TTL = 1800


def authorize(network: SnapchatSandbox, call: Call) -> httpx.Response:
    q = call.query
    missing = [k for k in ("client_id", "redirect_uri", "response_type", "scope") if not q.get(k)]
    if missing or q.get("response_type") != "code":
        return json_response(400, {"error": "invalid_request", "error_description":
                                   f"Missing or invalid: {', '.join(missing) or 'response_type'}"})
    login = q.get("sandbox_login")
    account = (network.sandbox.account(network.platform, login) if login else None) or network.default_account()
    code = network.sandbox.issue_code(
        network.platform, account.external_account_id, client_id=q["client_id"],
        redirect_uri=q["redirect_uri"], challenge=q.get("code_challenge"),
        method=q.get("code_challenge_method", "plain"), scopes=tuple(q["scope"].split()))
    separator = "&" if "?" in q["redirect_uri"] else "?"
    query = urlencode({"code": code, "state": q.get("state", "")})
    return httpx.Response(302, headers={"Location": f"{q['redirect_uri']}{separator}{query}"})


def token(network: SnapchatSandbox, call: Call) -> httpx.Response:
    form = call.form
    if not form.get("client_id") or not form.get("client_secret"):
        return json_response(401, {"error": "invalid_client",
                                   "error_description": "Client authentication failed"})
    grant = form.get("grant_type")
    if grant == "authorization_code":
        code = network.sandbox.take_code(network.platform, form.get("code"))
        verifier = form.get("code_verifier") or ""
        if (code is None or code.redirect_uri != form.get("redirect_uri") or (
                code.challenge and (pkce_challenge(verifier) if code.method == "S256"
                                    else verifier) != code.challenge)):
            return json_response(400, {"error": "invalid_grant",
                                       "error_description": "Invalid authorization code"})
        family = secrets.token_hex(8)
        refresh = network.sandbox.issue_token(network.platform, code.account_id, kind="refresh",
                                              scopes=code.scopes, client_id=form["client_id"],
                                              family=family)
        return issue(network, code.account_id, code.scopes, form["client_id"], refresh.token, family)
    if grant == "refresh_token":
        record, _ = network.sandbox.check_token(network.platform, form.get("refresh_token"), ("refresh",))
        if record is None:
            return json_response(400, {"error": "invalid_grant",
                                       "error_description": "Invalid refresh token"})
        return issue(network, record.account_id, record.scopes, form["client_id"], record.token,
                     record.family)
    return json_response(400, {"error": "unsupported_grant_type",
                               "error_description": f"grant_type {grant!r} is not supported"})


def issue(network: SnapchatSandbox, account_id: str, scopes: tuple[str, ...], client_id: str,
          refresh: str, family: str | None) -> httpx.Response:
    access = network.sandbox.issue_token(network.platform, account_id, ttl_seconds=ACCESS_TTL,
                                         scopes=scopes, client_id=client_id, family=family)
    return json_response(200, {"access_token": access.token, "token_type": "Bearer",
                               "expires_in": ACCESS_TTL, "refresh_token": refresh,
                               "scope": " ".join(scopes)})


def revoke(network: SnapchatSandbox, call: Call) -> httpx.Response:
    record = network.sandbox.token_record(call.form.get("token"))
    if record is not None and record.platform == network.platform:
        network.sandbox.revoke_tokens(network.platform, family=record.family, token=record.token)
    return json_response(200, {})  # RFC 7009: unknown tokens are "revoked" too
