"""LinkedIn (Posts API, versioned REST under ``/rest``).

Every ``/rest`` call carries ``LinkedIn-Version`` and ``X-Restli-Protocol-Version: 2.0.0``.
Media goes up first and is polled until ``AVAILABLE``: images and documents with
``initializeUpload`` and one ``PUT``; videos with ``initializeUpload`` (``fileSizeBytes``), one
``PUT`` per upload instruction collecting each ``ETag``, then ``finalizeUpload``. ``POST
/rest/posts`` answers 201 with the post URN in the ``x-restli-id`` header (the body may be empty).

The author is ``account.extra["author_urn"]`` (a member or an organization), else
``urn:li:person:{external_account_id}``. Commentary is "little text": reserved characters are
escaped, hashtags and ``@[Name](urn:li:...)`` mentions are kept (``escape_little_text``). Daily
limits reset at 00:00 UTC and a 429 says nothing more, so it waits until then. Access tokens last
60 days; refresh tokens exist only for approved partner apps and do not rotate.

Staging ahead (``stage``) makes the uploads before the scheduled time and keeps the post's
``content`` (with the media URNs), so the publish is ``POST /rest/posts`` alone. LinkedIn documents
no lifetime for an uploaded asset no post uses, nor its answer for one it dropped: staged media is
used for 23 hours, an hour short of the 24 the sandbox assumes (its module docstring), and a
refusal of the post that names a staged URN or a ``/content`` field is taken to mean it is gone.

The connector is here, with reconciliation, metrics and OAuth; beside it: ``little_text``
(commentary escaping), ``urns`` (authors, post links), ``errors`` (classification, staged media
gone), ``content`` (a post's ``content``) and ``uploads`` (media uploads and polling).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from core.errors import AuthPlatformError, PermanentPlatformError
from core.platforms.base import (
    AccountCredentials,
    Connector,
    MetricSnapshot,
    PublishRequest,
    PublishResult,
    TokenSet,
    chunks,
    same_text,
    search_since,
)
from core.platforms.http import body_excerpt, json_object, mapping, require_str, what
from core.platforms.linkedin.content import post_content
from core.platforms.linkedin.errors import (
    RETRYABLE_MESSAGES,
    STAGED_GONE_STATUSES,
    _refuses_staged_media,
    linkedin_error,
)
from core.platforms.linkedin.little_text import escape_little_text, unescape_little_text
from core.platforms.linkedin.uploads import (
    ASSET_GRACE_SECONDS,
    DOCUMENT_MAX_BYTES,
    IMAGE_MAX_BYTES,
    VIDEO_MAX_BYTES,
)
from core.platforms.linkedin.urns import _AUTHOR, _POST_URN, WEB, _urn, author_urn, post_url

__all__ = [
    "ASSET_GRACE_SECONDS", "DOCUMENT_MAX_BYTES", "FIND_MAX_PAGES", "FIND_PAGE_SIZE",
    "IMAGE_MAX_BYTES", "MEDIA_STAGING_TTL", "MEMBER_METRICS", "REST_HEADERS",
    "RETRYABLE_MESSAGES", "STAGED_GONE_STATUSES", "STATS_BATCH", "VERSION", "VIDEO_MAX_BYTES",
    "WEB", "LinkedInConnector", "author_urn", "escape_little_text", "linkedin_error", "post_url",
    "unescape_little_text",
]

log = logging.getLogger("herald.platforms.linkedin")

VERSION = "202601"
REST_HEADERS = {"LinkedIn-Version": VERSION, "X-Restli-Protocol-Version": "2.0.0"}
STATS_BATCH = 20
FIND_PAGE_SIZE = 50
FIND_MAX_PAGES = 4
MEMBER_METRICS = {"IMPRESSION": "views", "MEMBERS_REACHED": "reach", "RESHARE": "shares"}
# Unconfirmed (module docstring): how long LinkedIn keeps an unused upload, less an hour.
MEDIA_STAGING_TTL = timedelta(hours=23)


def _count(values: Mapping[str, Any], name: str) -> int:
    value = values.get(name)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


class LinkedInConnector(Connector):
    platform = "linkedin"
    # Member posting. Organization pages need w_organization_social r_organization_social
    # rw_organization_admin; reconciliation of member posts r_member_social and member
    # analytics r_member_postAnalytics (Community Management API): set them in config.scopes.
    default_scopes = ("openid", "profile", "w_member_social")

    def rest(self, method: str, path: str, *, token: str, outcome_critical: bool = False,
             headers: Mapping[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        """One versioned ``/rest`` call; an error answer raises the classified error."""
        def attempt() -> httpx.Response:
            response = self.http.send(method, self.api("rest/" + path), token=token,
                                      outcome_critical=outcome_critical,
                                      headers={**REST_HEADERS, **(headers or {})}, **kwargs)
            if response.status_code >= 400:
                raise linkedin_error(self.platform, response, self.now())
            return response

        return self.step(attempt, what=f"{method} rest/{path}", outcome_critical=outcome_critical)

    def rest_json(self, method: str, path: str, *, token: str, **kwargs: Any) -> dict[str, Any]:
        response = self.rest(method, path, token=token, **kwargs)
        return json_object(self.platform, response) if response.content else {}

    # -- publishing
    def publish(self, request: PublishRequest, account: AccountCredentials) -> PublishResult:
        if request.post_type not in ("text", "link", "image", "carousel", "video"):
            raise self.unsupported(request)
        if request.post_type in ("image", "carousel", "video"):
            self.require_media(request)
        author = author_urn(account)
        payload: dict[str, Any] = {
            "author": author, "commentary": escape_little_text(request.text),
            "visibility": str(request.options.get("visibility") or "PUBLIC"),
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [],
                             "thirdPartyDistributionChannels": []},
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": bool(request.options.get("disable_reshare", False))}
        if request.staged:
            content: dict[str, Any] | None = dict(request.staged)
        else:
            content = post_content(self, request, author, account.access_token)
        if content:
            payload["content"] = content
        staged = request.staged or {}
        with self.refusing_staged(request, "the media", gone=lambda exc: _refuses_staged_media(exc, staged)):
            response = self.rest("POST", "posts", token=account.access_token, json=payload,
                                 outcome_critical=True)
        if response.content:
            json_object(self.platform, response)  # the body may be empty, but not garbage
        urn = response.headers.get("x-restli-id")
        if not urn:
            raise PermanentPlatformError(
                self.platform, f"answered {what(response)} without the x-restli-id header (the "
                "post URN)", status=response.status_code, response_body=body_excerpt(response))
        return PublishResult(urn, post_url(urn), {"x-restli-id": urn, "author": author,
                                                  "content": content or {}})

    staging_ttl = MEDIA_STAGING_TTL

    def stage(self, request: PublishRequest, account: AccountCredentials) -> dict[str, Any] | None:
        """The uploads, done ahead: returns the post's ``content`` with the media URNs, or
        ``None`` for text and link posts (nothing to upload)."""
        if request.post_type not in ("image", "carousel", "video"):
            return None  # text and link posts are POST /rest/posts alone; others are refused when due
        self.require_media(request)
        return post_content(self, request, author_urn(account), account.access_token)

    # -- reconciliation
    def find_existing(self, request: PublishRequest, account: AccountCredentials, *,
                      since: datetime | None = None) -> PublishResult | None:
        """The author's recent posts (``q=author``, newest first), matched by commentary
        (escapes removed) and creation time."""
        since = since or search_since(request, self.now())
        since_ms = int(since.timestamp() * 1000)
        author = author_urn(account)
        candidates: list[Mapping[str, Any]] = []
        for page in range(FIND_MAX_PAGES):
            query = (f"q=author&author={_urn(author)}&count={FIND_PAGE_SIZE}"
                     f"&start={page * FIND_PAGE_SIZE}&sortBy=CREATED")
            body = self.rest_json("GET", f"posts?{query}", token=account.access_token,
                                  headers={"X-RestLi-Method": "FINDER"})
            elements = [e for e in body.get("elements") or [] if isinstance(e, Mapping)]
            candidates += [e for e in elements if _count(e, "createdAt") >= since_ms]
            if len(elements) < FIND_PAGE_SIZE or any(_count(e, "createdAt") < since_ms
                                                     for e in elements):
                break
        for post in sorted(candidates, key=lambda e: _count(e, "createdAt")):
            commentary = unescape_little_text(str(post.get("commentary") or ""))
            if post.get("id") and same_text(commentary, request.text):
                return PublishResult(str(post["id"]), post_url(str(post["id"])), dict(post))
        return None

    # -- metrics
    def fetch_metrics(self, external_ids: Sequence[str], account: AccountCredentials
                      ) -> dict[str, MetricSnapshot]:
        """Likes and comments from ``socialActions``; views, reach, shares (and clicks) from
        ``organizationalEntityShareStatistics`` for organizations or
        ``memberCreatorPostAnalytics`` for members."""
        token = account.access_token
        social: dict[str, Mapping[str, Any]] = {}
        for urn in dict.fromkeys(i for i in external_ids if _POST_URN.match(i)):
            try:
                social[urn] = self.rest_json("GET", f"socialActions/{_urn(urn)}", token=token)
            except PermanentPlatformError as exc:
                if exc.status not in (400, 403, 404):
                    raise
        author = author_urn(account)
        if author.startswith("urn:li:organization:"):
            stats = self._organization_stats(list(social), author, token)
        else:
            stats = self._member_stats(list(social), token)
        metrics = {}
        for urn, actions in social.items():
            counts = stats.get(urn, {})
            metrics[urn] = MetricSnapshot(
                external_id=urn, likes=_count(mapping(actions.get("likesSummary")), "totalLikes"),
                comments=_count(mapping(actions.get("commentsSummary")), "totalFirstLevelComments"),
                shares=counts.get("shares", 0), views=counts.get("views", 0),
                reach=counts.get("reach"), clicks=counts.get("clicks"))
        return metrics

    def _organization_stats(self, urns: list[str], organization: str, token: str
                            ) -> dict[str, dict[str, int]]:
        found: dict[str, dict[str, int]] = {}
        for batch in chunks(urns, STATS_BATCH):
            lists = []
            for param, kind in (("shares", "share"), ("ugcPosts", "ugcPost")):
                members = [_urn(u) for u in batch if u.startswith(f"urn:li:{kind}:")]
                if members:
                    lists.append(f"{param}=List({','.join(members)})")
            query = f"q=organizationalEntity&organizationalEntity={_urn(organization)}&" + "&".join(lists)
            body = self.rest_json("GET", f"organizationalEntityShareStatistics?{query}", token=token)
            for element in body.get("elements") or []:
                totals = element.get("totalShareStatistics") if isinstance(element, Mapping) else None
                urn = element.get("share") or element.get("ugcPost") if isinstance(element, Mapping) else None
                if isinstance(totals, Mapping) and urn:
                    found[str(urn)] = {"views": _count(totals, "impressionCount"),
                                       "reach": _count(totals, "uniqueImpressionsCount"),
                                       "clicks": _count(totals, "clickCount"),
                                       "shares": _count(totals, "shareCount")}
        return found

    def _member_stats(self, urns: list[str], token: str) -> dict[str, dict[str, int]]:
        """One ``memberCreatorPostAnalytics`` call per post and metric (the API takes one
        ``queryType`` at a time). Without ``r_member_postAnalytics`` the counts stay 0."""
        found: dict[str, dict[str, int]] = {}
        for urn in urns:
            key = "ugc" if urn.startswith("urn:li:ugcPost:") else "share"
            for query_type, name in MEMBER_METRICS.items():
                query = (f"q=entity&entity=({key}:{_urn(urn)})&queryType={query_type}"
                         "&aggregation=TOTAL")
                try:
                    body = self.rest_json("GET", f"memberCreatorPostAnalytics?{query}", token=token)
                except PermanentPlatformError as exc:
                    if exc.status not in (403, 404):
                        raise
                    log.info("LinkedIn member analytics unavailable for %s: %s", urn,
                             exc.network_message)
                    break
                total = sum(_count(e, "count") for e in body.get("elements") or []
                            if isinstance(e, Mapping))
                found.setdefault(urn, {})[name] = total
        return found

    # -- OAuth 2.0 (3-legged, no PKCE on the web flow)
    def authorize_url(self, state: str, redirect_uri: str, code_challenge: str | None = None) -> str:
        return self.oauth("oauth/v2/authorization") + "?" + urlencode({
            "response_type": "code", "client_id": self.config.client_id or "",
            "redirect_uri": redirect_uri, "state": state, "scope": " ".join(self.scopes)},
            quote_via=quote)

    def _token_call(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        form = {**form, "client_id": self.config.client_id or "",
                "client_secret": self.config.client_secret or ""}
        response = self.http.send("POST", self.oauth(path), data=form)
        return self.token_answer(response, linkedin_error, allow_empty=True)

    def _token_set(self, body: Mapping[str, Any], account: dict[str, Any]) -> TokenSet:
        return self.oauth_token_set(body, account, scope_pattern=r"[\s,]+",
                                    refresh_expires_key="refresh_token_expires_in")

    def exchange_code(self, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        """Code -> tokens -> the member (``/v2/userinfo``). With ``rw_organization_admin`` the
        organizations the member administers are offered too, in ``choices``."""
        body = self._token_call("oauth/v2/accessToken", {
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri})
        tokens = self._token_set(body, {})
        token = tokens.access_token
        response = self.http.send("GET", self.api("v2/userinfo"), token=token)
        if response.status_code >= 400:
            raise linkedin_error(self.platform, response, self.now())
        info = json_object(self.platform, response)
        member = require_str(self.platform, response, info, "sub")
        person = {"external_account_id": member, "username": str(info.get("name") or member),
                  "extra": {"author_urn": f"urn:li:person:{member}"}}
        choices = [person]
        if "rw_organization_admin" in (tokens.scopes or self.scopes):
            choices += self._organizations(token, member)
        return self._token_set(body, {**person, "choices": choices})

    def _organizations(self, token: str, member: str) -> list[dict[str, Any]]:
        body = self.rest_json("GET", "organizationAcls?q=roleAssignee&role=ADMINISTRATOR"
                              "&state=APPROVED", token=token)
        found = []
        for acl in body.get("elements") or []:
            urn = acl.get("organization") if isinstance(acl, Mapping) else None
            if not isinstance(urn, str) or not _AUTHOR.match(urn):
                continue
            org_id = urn.rsplit(":", 1)[-1]
            org = self.rest_json("GET", f"organizations/{org_id}", token=token)
            found.append({"external_account_id": org_id,
                          "username": str(org.get("localizedName") or org_id),
                          "extra": {"author_urn": urn, "member_id": member}})
        return found

    def refresh_token(self, account: AccountCredentials) -> TokenSet:
        """A new 60-day access token. The refresh token stays the same and keeps counting
        down from the first grant (365 days); only approved partner apps get one."""
        if not account.refresh_token:
            raise AuthPlatformError(self.platform, "LinkedIn issued no refresh token (programmatic "
                                    "refresh is for approved partner apps only): reconnect the "
                                    "account to get a new token")
        body = self._token_call("oauth/v2/accessToken", {
            "grant_type": "refresh_token", "refresh_token": account.refresh_token})
        identity = {"external_account_id": account.external_account_id,
                    "username": account.username, "extra": dict(account.extra)}
        tokens = self._token_set(body, identity)
        if tokens.refresh_token is None:  # same refresh token when LinkedIn does not repeat it
            return TokenSet(tokens.access_token, account.refresh_token, tokens.expires_at,
                            tokens.refresh_expires_at, tokens.scopes, tokens.account, tokens.raw)
        return tokens

    def revoke(self, account: AccountCredentials) -> None:
        try:
            self._token_call("oauth/v2/revoke", {"token": account.access_token})
        except AuthPlatformError:
            log.info("LinkedIn token already invalid; nothing to revoke")
