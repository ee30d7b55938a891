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
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx

from core.errors import (
    AuthPlatformError,
    PermanentPlatformError,
    PlatformError,
    RetryablePlatformError,
)
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
from core.platforms.http import (
    body_excerpt,
    json_object,
    linkedin_retry_after,
    mapping,
    require_str,
    retry_after_header,
    what,
)
from core.platforms.media import FetchedMedia, fetch_media

log = logging.getLogger("herald.platforms.linkedin")

VERSION = "202601"
REST_HEADERS = {"LinkedIn-Version": VERSION, "X-Restli-Protocol-Version": "2.0.0"}
WEB = "https://www.linkedin.com"
# Third-party figures (PLATFORMS.md marks them unconfirmed); LinkedIn enforces its own.
IMAGE_MAX_BYTES = 20 * 1024**2
VIDEO_MAX_BYTES = 500 * 1024**2
DOCUMENT_MAX_BYTES = 100 * 1024**2
ASSET_GRACE_SECONDS = 10.0  # member tokens may not read image/document status: wait this instead
STATS_BATCH = 20
FIND_PAGE_SIZE = 50
FIND_MAX_PAGES = 4
MEMBER_METRICS = {"IMPRESSION": "views", "MEMBERS_REACHED": "reach", "RESHARE": "shares"}
RETRYABLE_MESSAGES = ("unable to obtain activity", "service unavailable")  # postiz retries these
# Unconfirmed (module docstring): how long LinkedIn keeps an unused upload, less an hour.
MEDIA_STAGING_TTL = timedelta(hours=23)
STAGED_GONE_STATUSES = (400, 404, 410, 422)
_AUTHOR = re.compile(r"^urn:li:(?:person|organization):[\w-]+$")
_POST_URN = re.compile(r"^urn:li:(?:share|ugcPost):\d+$")

# --- little text ---------------------------------------------------------------------------

_RESERVED = re.compile(r"[\\<>#~_|\[\]*(){}@]")
_LITTLE_TOKEN = re.compile(
    r"(?P<url>(?:https?://|www\.)\S+)"
    r"|(?P<mention>@\[[^\[\]\n]+\]\(urn:li:(?:person|organization):[\w-]+\))"
    r"|(?P<template>\{hashtag\|\\#\|\w+\})"
    r"|(?<![\w&#])(?P<hashtag>#\w*[^\W\d_]\w*)",
    re.IGNORECASE)
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def escape_little_text(text: str) -> str:
    """``text`` as LinkedIn commentary: ``\\ < > # ~ _ | [ ] * ( ) { } @`` escaped with a
    backslash, except in hashtags (``#word``, ``{hashtag|\\#|word}``) and mentions
    (``@[Name](urn:li:person:...)`` / ``urn:li:organization:...``), which stay as written.
    URLs are escaped like any text (a ``#`` in a URL is not a hashtag)."""
    out: list[str] = []
    last = 0
    for match in _LITTLE_TOKEN.finditer(text):
        if match.lastgroup == "url":
            continue  # part of the plain text around it
        out.append(_RESERVED.sub(r"\\\g<0>", text[last:match.start()]))
        out.append(match.group(0))
        last = match.end()
    out.append(_RESERVED.sub(r"\\\g<0>", text[last:]))
    return "".join(out)


def unescape_little_text(text: str) -> str:
    """Commentary as LinkedIn returns it, with the escapes removed (for matching)."""
    return _ESCAPED.sub(r"\1", text)


# --- errors --------------------------------------------------------------------------------


def linkedin_error(platform: str, response: httpx.Response, now: datetime) -> PlatformError:
    """Classify a LinkedIn error: Rest.li ``{status, serviceErrorCode, code, message}`` (with
    ``errorDetails.inputErrors`` on 422) or OAuth ``{error, error_description}``."""
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    body = body if isinstance(body, Mapping) else {}
    message = str(body.get("message") or body.get("error_description") or body.get("error")
                  or f"HTTP {status} from {what(response)}")
    inputs = mapping(body.get("errorDetails")).get("inputErrors")
    inputs = inputs if isinstance(inputs, list) else []
    input_codes = [str(e.get("code")) for e in inputs if isinstance(e, Mapping)]
    kwargs: dict[str, Any] = {
        "status": status, "response_body": body_excerpt(response),
        "network_code": body.get("serviceErrorCode") or body.get("code") or body.get("error")
        or (input_codes[0] if input_codes else status)}
    if status == 429:
        retry_at = retry_after_header(response.headers, now) or linkedin_retry_after(status, now)
        return RetryablePlatformError(platform, message, retry_after=retry_at, **kwargs)
    if status == 401:
        return AuthPlatformError(platform, message, **kwargs)
    if "DUPLICATE_POST" in input_codes or (status == 422 and "duplicate" in message.lower()):
        kwargs["network_code"] = "DUPLICATE_POST"
        return PermanentPlatformError(platform, message, **kwargs)
    if status >= 500 or any(m in message.lower() for m in RETRYABLE_MESSAGES):
        return RetryablePlatformError(platform, message, retry_after=retry_after_header(
            response.headers, now), **kwargs)
    return PermanentPlatformError(platform, message, **kwargs)


def author_urn(account: AccountCredentials) -> str:
    """Who posts: ``extra["author_urn"]`` (member or organization), else the member."""
    urn = account.extra.get("author_urn")
    if urn is None:
        return f"urn:li:person:{account.external_account_id}"
    if not isinstance(urn, str) or not _AUTHOR.match(urn):
        raise PermanentPlatformError("linkedin", f"author_urn {urn!r} is neither "
                                     "urn:li:person:<id> nor urn:li:organization:<id>")
    return urn


def post_url(urn: str) -> str:
    return f"{WEB}/feed/update/{urn}"


def _urn(urn: str) -> str:
    return quote(urn, safe="")



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

    def _value(self, body: Mapping[str, Any], key: str, what_for: str) -> Any:
        value = body.get("value")
        found = value.get(key) if isinstance(value, Mapping) else None
        if found in (None, ""):
            raise PermanentPlatformError(self.platform, f"answered {what_for} without value.{key}",
                                         response_body=str(body)[:2000])
        return found

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
            content = self._content(request, author, account.access_token)
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
        return self._content(request, author_urn(account), account.access_token)

    def _content(self, request: PublishRequest, author: str, token: str) -> dict[str, Any] | None:
        if request.post_type == "text":
            return None
        if request.post_type == "link":
            return {"article": self._article(request)}
        kinds = request.kinds
        if kinds == ["document"]:
            url = request.media_urls[0]
            urn = self._upload_single("documents", url, "document", author, token)
            title = request.title or urlsplit(url).path.rsplit("/", 1)[-1] or "document.pdf"
            return {"media": {"id": urn, "title": title}}
        if request.post_type == "video":
            if kinds != ["video"]:
                raise PermanentPlatformError(self.platform, "a LinkedIn video post takes exactly "
                                             "one video")
            media: dict[str, Any] = {"id": self._upload_video(request.media_urls[0], author, token)}
            if request.title:
                media["title"] = request.title
            return {"media": media}
        if any(kind not in ("image", "gif") for kind in kinds):
            raise PermanentPlatformError(self.platform, "LinkedIn image posts take only images; "
                                         "videos and documents cannot be mixed with them")
        alts = list(request.options.get("alt_texts") or [])
        images = []
        for index, url in enumerate(request.media_urls):
            image: dict[str, Any] = {"id": self._upload_single("images", url, "image", author, token)}
            if index < len(alts) and alts[index]:
                image["altText"] = str(alts[index])
            images.append(image)
        return {"media": images[0]} if len(images) == 1 else {"multiImage": {"images": images}}

    def _article(self, request: PublishRequest) -> dict[str, Any]:
        link = request.options.get("link") or _first_url(request.text)
        if not link:
            raise PermanentPlatformError(self.platform, "a link post needs a URL in the text or "
                                         "options['link']")
        parts = urlsplit(str(link))
        article = {"source": str(link), "title": request.title or request.options.get(
            "link_title") or (parts.netloc + parts.path).rstrip("/")}
        if request.options.get("link_description"):
            article["description"] = str(request.options["link_description"])
        return article

    def _upload_single(self, endpoint: str, url: str, kind: str, author: str, token: str) -> str:
        """Images and documents: initializeUpload, one PUT of the whole file, poll."""
        limits = {"image": IMAGE_MAX_BYTES, "document": DOCUMENT_MAX_BYTES}
        allowed = {"image", "gif"} if kind == "image" else {"document"}
        with fetch_media(url, max_bytes=limits[kind], allowed_kinds=allowed,
                         allow_hosts=self.config.media_allow_hosts, client=self.http.client,
                         platform=self.platform) as media:
            body = self.rest_json("POST", f"{endpoint}?action=initializeUpload", token=token,
                                  json={"initializeUploadRequest": {"owner": author}})
            upload_url = str(self._value(body, "uploadUrl", f"{endpoint} initializeUpload"))
            urn = str(self._value(body, kind, f"{endpoint} initializeUpload"))
            content_type = media.content_type
            if kind == "document" and content_type == "application/octet-stream":
                content_type = "application/pdf"  # storage buckets often say octet-stream
            response = self.http.send("PUT", upload_url, token=token, content=media.read(),
                                      headers={"Content-Type": content_type})
        if response.status_code >= 400:
            raise linkedin_error(self.platform, response, self.now())
        self._await_asset(endpoint, urn, kind, token)
        return urn

    def _upload_video(self, url: str, author: str, token: str) -> str:
        """initializeUpload with the size, one PUT per instruction (collecting ETags),
        finalizeUpload with the ETags in order, poll."""
        with fetch_media(url, max_bytes=VIDEO_MAX_BYTES, allowed_kinds={"video"},
                         allow_hosts=self.config.media_allow_hosts, client=self.http.client,
                         platform=self.platform) as media:
            body = self.rest_json("POST", "videos?action=initializeUpload", token=token, json={
                "initializeUploadRequest": {"owner": author, "fileSizeBytes": media.size,
                                            "uploadCaptions": False, "uploadThumbnail": False}})
            video = str(self._value(body, "video", "videos initializeUpload"))
            instructions = self._value(body, "uploadInstructions", "videos initializeUpload")
            etags = [self._put_part(media, part, token) for part in instructions]
            upload_token = body["value"].get("uploadToken") or ""
        self.rest("POST", "videos?action=finalizeUpload", token=token, json={
            "finalizeUploadRequest": {"video": video, "uploadToken": upload_token,
                                      "uploadedPartIds": etags}})
        self._await_asset("videos", video, "video", token)
        return video

    def _put_part(self, media: FetchedMedia, part: Any, token: str) -> str:
        try:
            first, last = int(part["firstByte"]), int(part["lastByte"])
            upload_url = str(part["uploadUrl"])
        except (TypeError, KeyError, ValueError):
            raise PermanentPlatformError(self.platform, f"answered an upload instruction Herald "
                                         f"cannot follow: {str(part)[:200]}") from None
        if not 0 <= first <= last < media.size:
            raise PermanentPlatformError(self.platform, f"asked for bytes {first}-{last} of a "
                                         f"{media.size}-byte video")
        media.file.seek(first)
        response = self.http.send("PUT", upload_url, token=token, content=media.file.read(
            last - first + 1), headers={"Content-Type": "application/octet-stream"})
        if response.status_code >= 400:
            raise linkedin_error(self.platform, response, self.now())
        etag = response.headers.get("etag")
        if not etag:
            raise PermanentPlatformError(self.platform, f"answered the upload of bytes "
                                         f"{first}-{last} without an ETag",
                                         status=response.status_code)
        return etag

    def _await_asset(self, endpoint: str, urn: str, kind: str, token: str) -> None:
        """Poll until ``AVAILABLE``; ``PROCESSING_FAILED`` is permanent. Member tokens may not
        read image or document status (postiz): then wait one grace period instead."""
        def step() -> tuple[bool, Mapping[str, Any]]:
            try:
                body = self.rest_json("GET", f"{endpoint}/{_urn(urn)}", token=token)
            except PermanentPlatformError as exc:
                if exc.status != 403 or kind == "video":
                    raise
                log.info("LinkedIn %s status unreadable with this token; waiting %.0f s",
                         urn, ASSET_GRACE_SECONDS)
                self.sleep(ASSET_GRACE_SECONDS)
                return True, {}
            status = body.get("status")
            if status == "PROCESSING_FAILED":
                reason = body.get("processingFailureReason") or "no reason given"
                raise PermanentPlatformError(
                    self.platform, f"{kind} {urn} failed processing: {reason}",
                    network_code="PROCESSING_FAILED")
            return status == "AVAILABLE", body

        self.wait(step, what=f"LinkedIn {kind} {urn}")

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


def _staged_urns(content: Mapping[str, Any]) -> list[str]:
    """The media URNs in a post's ``content``."""
    media = [mapping(content.get("media"))]
    images = mapping(content.get("multiImage")).get("images")
    media += [mapping(image) for image in images] if isinstance(images, list) else []
    return [str(m["id"]) for m in media if m.get("id")]


def _refuses_staged_media(exc: PermanentPlatformError, content: Mapping[str, Any]) -> bool:
    """Whether LinkedIn refused the post because of its staged media. Its answer for an asset it
    dropped is undocumented: a validation refusal naming a staged URN or a ``/content`` field."""
    if exc.status not in STAGED_GONE_STATUSES or exc.network_code == "DUPLICATE_POST":
        return False
    said = f"{exc.network_message} {exc.response_body or ''}"
    return "/content" in said or any(urn in said for urn in _staged_urns(content))


def _first_url(text: str) -> str | None:
    found = re.search(r"https?://\S+", text)
    return found.group(0).rstrip(".,;:!?)") if found else None
