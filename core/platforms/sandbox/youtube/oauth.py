"""Google OAuth in the YouTube sandbox: the consent screen (``access_type=offline`` for a refresh
token), ``/token`` (authorization code with optional PKCE, refresh tokens that do not rotate)
and ``/revoke``, which ends the whole grant."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx

from core.platforms.base import pkce_challenge
from core.platforms.sandbox.base import Call, json_response
from core.platforms.sandbox.youtube.responses import oauth_error

if TYPE_CHECKING:
    from core.platforms.sandbox.youtube.network import YouTubeSandbox

ACCESS_TTL = 3599


def authorize(network: YouTubeSandbox, call: Call) -> httpx.Response:
    q = call.query
    missing = [k for k in ("client_id", "redirect_uri", "response_type", "scope") if not q.get(k)]
    if missing or q.get("response_type") != "code":
        raise oauth_error(400, "invalid_request",
                          f"Missing required parameter: {missing[0] if missing else 'response_type'}")
    login = q.get("sandbox_login")
    account = (network.sandbox.account(network.platform, login) if login else None) or network.default_account()
    code = network.sandbox.issue_code(
        network.platform, account.external_account_id, client_id=q["client_id"],
        redirect_uri=q["redirect_uri"], challenge=q.get("code_challenge"),
        method=q.get("code_challenge_method", "plain"), scopes=tuple(q["scope"].split()))
    if q.get("access_type") == "offline":
        network.offline_codes.add(code)
    query = urlencode({"state": q.get("state", ""), "code": code, "scope": q["scope"]})
    separator = "&" if "?" in q["redirect_uri"] else "?"
    return httpx.Response(302, headers={"Location": f"{q['redirect_uri']}{separator}{query}"})


def token(network: YouTubeSandbox, call: Call) -> httpx.Response:
    form = call.form
    if not form.get("client_id"):
        raise oauth_error(401, "invalid_client", "The OAuth client was not found.")
    if not form.get("client_secret"):
        raise oauth_error(400, "invalid_request", "client_secret is missing.")
    grant = form.get("grant_type")
    if grant == "authorization_code":
        raw_code = form.get("code") or ""
        code = network.sandbox.take_code(network.platform, raw_code)
        if code is None:
            raise oauth_error(400, "invalid_grant", "Bad Request")
        if code.redirect_uri != form.get("redirect_uri"):
            raise oauth_error(400, "redirect_uri_mismatch", "Bad Request")
        verifier = form.get("code_verifier") or ""
        if code.challenge and (pkce_challenge(verifier) if code.method == "S256"
                               else verifier) != code.challenge:
            raise oauth_error(400, "invalid_grant", "Invalid code verifier.")
        offline = raw_code in network.offline_codes
        network.offline_codes.discard(raw_code)
        return _issue(network, code.account_id, code.scopes, form["client_id"], offline=offline)
    if grant == "refresh_token":
        record, _ = network.sandbox.check_token(network.platform, form.get("refresh_token"), ("refresh",))
        if record is None:
            raise oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
        access = network.sandbox.issue_token(network.platform, record.account_id, ttl_seconds=ACCESS_TTL,
                                             scopes=record.scopes, client_id=form["client_id"],
                                             family=record.family, prefix="ya29.")
        return json_response(200, {"access_token": access.token, "expires_in": ACCESS_TTL,
                                   "scope": " ".join(record.scopes), "token_type": "Bearer"})
    raise oauth_error(400, "unsupported_grant_type", f"Invalid grant_type: {grant}")


def _issue(network: YouTubeSandbox, account_id: str, scopes: tuple[str, ...], client_id: str, *,
           offline: bool) -> httpx.Response:
    family = secrets.token_hex(8)
    access = network.sandbox.issue_token(network.platform, account_id, ttl_seconds=ACCESS_TTL,
                                         scopes=scopes, client_id=client_id, family=family,
                                         prefix="ya29.")
    body: dict[str, Any] = {"access_token": access.token, "expires_in": ACCESS_TTL,
                            "scope": " ".join(scopes), "token_type": "Bearer"}
    if offline:
        refresh = network.sandbox.issue_token(network.platform, account_id, kind="refresh",
                                              scopes=scopes, client_id=client_id, family=family,
                                              prefix="1//")
        body["refresh_token"] = refresh.token
    return json_response(200, body)


def revoke(network: YouTubeSandbox, call: Call) -> httpx.Response:
    record = network.sandbox.token_record(call.form.get("token") or call.query.get("token"))
    if record is None or record.platform != network.platform or record.revoked:
        raise oauth_error(400, "invalid_token", "Token expired or revoked")
    network.sandbox.revoke_tokens(network.platform, family=record.family, token=record.token)
    return json_response(200, {})
