"""3-legged OAuth in the LinkedIn sandbox: the consent screen, ``/accessToken`` (60-day access
tokens; programmatic refresh tokens that do not rotate and count down from the first grant),
``/revoke`` and ``/v2/userinfo``."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx

from core.platforms.sandbox.base import Call, json_response
from core.platforms.sandbox.linkedin.responses import oauth_error

if TYPE_CHECKING:
    from core.platforms.sandbox.linkedin.network import LinkedInSandbox

ACCESS_TTL = 60 * 86400
REFRESH_TTL = 365 * 86400


def authorize(network: LinkedInSandbox, call: Call) -> httpx.Response:
    q = call.query
    missing = [k for k in ("response_type", "client_id", "redirect_uri", "state", "scope")
               if not q.get(k)]
    if missing or q.get("response_type") != "code":
        return json_response(400, {"error": "invalid_request", "error_description":
                                   f"Missing or invalid: {', '.join(missing) or 'response_type'}"})
    login = q.get("sandbox_login")
    account = (network.sandbox.account(network.platform, login) if login else None) or network.default_account()
    code = network.sandbox.issue_code(network.platform, account.external_account_id,
                                      client_id=q["client_id"], redirect_uri=q["redirect_uri"],
                                      scopes=tuple(q["scope"].split()))
    return httpx.Response(302, headers={"Location": q["redirect_uri"] + (
        "&" if "?" in q["redirect_uri"] else "?") + urlencode({"code": code, "state": q["state"]})})


def token(network: LinkedInSandbox, call: Call) -> httpx.Response:
    form = call.form
    if not form.get("client_id") or not form.get("client_secret"):
        raise oauth_error(401, "invalid_client", "Client authentication failed")
    grant = form.get("grant_type")
    if grant == "authorization_code":
        code = network.sandbox.take_code(network.platform, form.get("code"))
        if (code is None or code.redirect_uri != form.get("redirect_uri")
                or code.client_id != form["client_id"]):
            raise oauth_error(400, "invalid_request", "Unable to retrieve access token: appid/"
                              "redirect uri/code verifier does not match authorization code. "
                              "Or authorization code expired.")
        return _issue(network, code.account_id, code.scopes, form["client_id"])
    if grant == "refresh_token":
        record, _ = network.sandbox.check_token(network.platform, form.get("refresh_token"), ("refresh",))
        if record is None:
            raise oauth_error(400, "invalid_request", "The provided authorization grant or "
                              "refresh token is invalid, expired or revoked.")
        return _issue(network, record.account_id, record.scopes, form["client_id"], refresh=record)
    raise oauth_error(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported")


def _issue(network: LinkedInSandbox, account_id: str, scopes: tuple[str, ...], client_id: str,
           refresh: Any = None) -> httpx.Response:
    family = refresh.family if refresh is not None else secrets.token_hex(8)
    access = network.sandbox.issue_token(network.platform, account_id, ttl_seconds=ACCESS_TTL,
                                         scopes=scopes, client_id=client_id, family=family,
                                         prefix="AQV")
    body: dict[str, Any] = {"access_token": access.token, "expires_in": ACCESS_TTL,
                            "scope": ",".join(scopes)}
    if refresh is None and network.sandbox.config.limit(network.platform, "programmatic_refresh", 1):
        refresh = network.sandbox.issue_token(network.platform, account_id, kind="refresh",
                                              ttl_seconds=REFRESH_TTL, scopes=scopes,
                                              client_id=client_id, family=family, prefix="AQX")
    if refresh is not None:  # the same refresh token, counting down from the first grant
        left = (refresh.expires_at - network.now).total_seconds() if refresh.expires_at else REFRESH_TTL
        body.update(refresh_token=refresh.token, refresh_token_expires_in=int(left))
    return json_response(200, body)


def revoke(network: LinkedInSandbox, call: Call) -> httpx.Response:
    if not call.form.get("client_id") or not call.form.get("client_secret"):
        raise oauth_error(401, "invalid_client", "Client authentication failed")
    record = network.sandbox.token_record(call.form.get("token"))
    if record is not None and record.platform == network.platform:
        network.sandbox.revoke_tokens(network.platform, family=record.family, token=record.token)
    return httpx.Response(200)


def userinfo(network: LinkedInSandbox, call: Call) -> httpx.Response:
    network._scope(call, "openid", "profile")
    account = call.account
    assert account is not None
    given, _, family = account.username.partition(" ")
    return json_response(200, {"sub": account.external_account_id, "name": account.username,
                               "given_name": given, "family_name": family,
                               "picture": f"https://media.licdn.com/dms/image/{account.external_account_id}",
                               "locale": {"country": "US", "language": "en"}})
