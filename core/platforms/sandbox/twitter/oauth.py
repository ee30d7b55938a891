"""X's OAuth 2.0 in the sandbox: the consent redirect with PKCE (``S256`` or ``plain``), the code
exchange, refresh tokens that rotate (``offline.access``; a refresh token works once) and
revocation of a token with its family."""

from __future__ import annotations

import base64
import secrets
from typing import TYPE_CHECKING, Any

import httpx

from core.platforms.base import pkce_challenge
from core.platforms.sandbox.base import Call, Reply, json_response

if TYPE_CHECKING:
    from core.platforms.sandbox.twitter.network import TwitterSandbox

ACCESS_TTL = 7200


def authorize(network: TwitterSandbox, call: Call) -> httpx.Response:
    q = call.query
    missing = [k for k in ("response_type", "client_id", "redirect_uri", "state",
                           "code_challenge") if not q.get(k)]
    if missing or q.get("response_type") != "code":
        return json_response(400, {"error": "invalid_request",
                                   "error_description": f"Missing or invalid: {', '.join(missing) or 'response_type'}"})
    login = q.get("sandbox_login")
    account = (network.sandbox.account(network.platform, login) if login else None) or network.default_account()
    code = network.sandbox.issue_code(
        network.platform, account.external_account_id, client_id=q["client_id"],
        redirect_uri=q["redirect_uri"], challenge=q["code_challenge"],
        method=q.get("code_challenge_method", "plain"), scopes=tuple(q.get("scope", "").split()))
    separator = "&" if "?" in q["redirect_uri"] else "?"
    return httpx.Response(302, headers={
        "Location": f"{q['redirect_uri']}{separator}state={q['state']}&code={code}"})


def client_of(call: Call) -> str | None:
    """The client id: from HTTP Basic (confidential clients) or the form (public ones)."""
    auth = call.header("authorization") or ""
    if auth.lower().startswith("basic "):
        try:
            return base64.b64decode(auth[6:]).decode().partition(":")[0]
        except ValueError:
            return None
    return call.form.get("client_id")


def grant_error(what: str) -> Reply:
    return Reply(json_response(400, {"error": "invalid_request",
                                     "error_description": f"Value passed for the {what} was invalid."}))


def token(network: TwitterSandbox, call: Call) -> httpx.Response:
    client_id = client_of(call)
    if not client_id:
        return json_response(401, {"error": "unauthorized_client",
                                   "error_description": "Missing valid authorization header"})
    grant = call.form.get("grant_type")
    if grant == "authorization_code":
        code = network.sandbox.take_code(network.platform, call.form.get("code"))
        verifier = call.form.get("code_verifier") or ""
        if code is None or code.redirect_uri != call.form.get("redirect_uri"):
            raise grant_error("authorization code")
        expected = pkce_challenge(verifier) if code.method == "S256" else verifier
        if expected != code.challenge:
            raise grant_error("authorization code")
        return issue(network, code.account_id, code.scopes, client_id)
    if grant == "refresh_token":
        record, _ = network.sandbox.check_token(network.platform, call.form.get("refresh_token"),
                                                ("refresh",))
        if record is None:
            raise grant_error("token")
        record.revoked = True  # rotation: a refresh token works once
        return issue(network, record.account_id, record.scopes, client_id)
    return json_response(400, {"error": "unsupported_grant_type",
                               "error_description": "grant_type is not supported"})


def issue(network: TwitterSandbox, account_id: str, scopes: tuple[str, ...],
          client_id: str) -> httpx.Response:
    family = secrets.token_hex(8)
    access = network.sandbox.issue_token(network.platform, account_id, kind="access",
                                         ttl_seconds=ACCESS_TTL, scopes=scopes,
                                         client_id=client_id, family=family)
    body: dict[str, Any] = {"token_type": "bearer", "expires_in": ACCESS_TTL,
                            "access_token": access.token, "scope": " ".join(scopes)}
    if "offline.access" in scopes or not scopes:
        refresh = network.sandbox.issue_token(network.platform, account_id, kind="refresh",
                                              scopes=scopes, client_id=client_id, family=family)
        body["refresh_token"] = refresh.token
    return json_response(200, body)


def revoke(network: TwitterSandbox, call: Call) -> httpx.Response:
    if not client_of(call):
        return json_response(401, {"error": "unauthorized_client"})
    record = network.sandbox.token_record(call.form.get("token"))
    if record is not None and record.platform == network.platform:
        if record.family:
            network.sandbox.revoke_tokens(network.platform, family=record.family)
        record.revoked = True
    return json_response(200, {"revoked": True})
