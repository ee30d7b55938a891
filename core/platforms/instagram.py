"""Instagram business and creator accounts (Content Publishing API).

Every post is a container: create it (``POST /{ig}/media``), poll ``status_code`` until
``FINISHED`` (bounded), ``POST /{ig}/media_publish``, then read the ``permalink``. Images,
reels (every single video publishes as a reel), carousels of 2-10 children and stories.

Two logins: Facebook Login (``graph.facebook.com``; long-lived user token, no refresh: reconnect)
and Instagram Login (``account.extra["login"] == "instagram"``; ``graph.instagram.com``,
refreshable with ``ig_refresh_token`` once the token is 24 hours old).

Staging ahead (``stage``) creates and processes the container before the scheduled time, so the
publish itself is ``media_publish`` alone. Containers expire 24 hours after creation.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from core.errors import PermanentPlatformError
from core.platforms.base import (
    AccountCredentials,
    MetricSnapshot,
    PublishRequest,
    PublishResult,
    TokenSet,
    same_text,
    search_since,
)
from core.platforms.http import json_object, require_str
from core.platforms.meta import GRAPH_VERSION, MetaConnector, meta_error, parse_graph_time

WEB = "https://www.instagram.com"
METRICS = "views,reach,saved,likes,comments,shares"
METRIC_FIELDS = f"like_count,comments_count,insights.metric({METRICS})"
COUNT_FIELDS = "like_count,comments_count"
IMAGE_OPTIONS = ("alt_text", "location_id", "user_tags", "collaborators")
# Containers expire 24 hours after creation; a staged one is used for an hour less than that.
CONTAINER_STAGING_TTL = timedelta(hours=23)
# media_publish's answers about the container itself: expired (2207020), or no such object (33).
STAGED_GONE_CODES = frozenset({"100/2207020", "100/33"})
REEL_OPTIONS = ("share_to_feed", "cover_url", "thumb_offset", "audio_name", "collaborators",
                "location_id", "trial_params")


class InstagramConnector(MetaConnector):
    platform = "instagram"
    default_scopes = ("instagram_basic", "instagram_content_publish", "instagram_manage_insights",
                      "pages_show_list", "pages_read_engagement", "business_management")

    def graph_base(self, account: AccountCredentials | None = None) -> str:
        if account is not None and account.extra.get("login") == "instagram":
            login = self.config.extra_bases.get("login", "https://graph.instagram.com")
            return f"{login.rstrip('/')}/{GRAPH_VERSION}"
        return super().graph_base(account)

    # -- publishing
    staging_ttl = CONTAINER_STAGING_TTL

    def stage(self, request: PublishRequest, account: AccountCredentials) -> dict[str, Any] | None:
        return {"container": self._ready_container(request, account)}

    def publish(self, request: PublishRequest, account: AccountCredentials) -> PublishResult:
        if request.staged:
            container = str(request.staged["container"])
        else:
            container = self._ready_container(request, account)
        with self.refusing_staged(request, f"the container {container}",
                                  gone=lambda exc: exc.network_code in STAGED_GONE_CODES):
            body = self.call("POST", f"{account.external_account_id}/media_publish",
                             token=account.access_token, account=account, outcome_critical=True,
                             json={"creation_id": container})
        media_id = str(body.get("id") or "")
        if not media_id:
            raise PermanentPlatformError(self.platform, "answered media_publish without id",
                                         response_body=str(body)[:2000])
        return PublishResult(media_id, self._permalink(media_id, request, account),
                             {**body, "creation_id": container})

    def _ready_container(self, request: PublishRequest, account: AccountCredentials) -> str:
        """The container to publish, created and processed (FINISHED)."""
        self.require_media(request)
        if request.post_type == "carousel":
            container = self._carousel(request, account)
        elif request.post_type in ("image", "video", "reel", "story"):
            container = self._container(self._single(request), account)
        else:
            raise self.unsupported(request)
        self._await_container(container, account)
        return container

    def _single(self, request: PublishRequest) -> dict[str, Any]:
        url = request.media_urls[0]
        is_image = request.kind_of(url) == "image"
        if request.post_type == "story":
            return {"media_type": "STORIES", ("image_url" if is_image else "video_url"): url}
        if request.post_type == "image":
            return {"image_url": url, "caption": request.text,
                    **_options(request, IMAGE_OPTIONS)}
        return {"media_type": "REELS", "video_url": url, "caption": request.text,
                **_options(request, REEL_OPTIONS)}

    def _carousel(self, request: PublishRequest, account: AccountCredentials) -> str:
        children = []
        for url in request.media_urls:
            item: dict[str, Any] = {"is_carousel_item": True}
            if request.kind_of(url) == "image":
                item["image_url"] = url
            else:
                item.update(media_type="VIDEO", video_url=url)
            children.append(self._container(item, account))
        for child in children:
            self._await_container(child, account)
        return self._container({"media_type": "CAROUSEL", "children": ",".join(children),
                                "caption": request.text, **_options(request, ("location_id",))},
                               account)

    def _container(self, params: dict[str, Any], account: AccountCredentials) -> str:
        body = self.call("POST", f"{account.external_account_id}/media", token=account.access_token,
                         account=account, json=params)
        container = body.get("id")
        if not container:
            raise PermanentPlatformError(self.platform, "answered the container creation "
                                         "without id", response_body=str(body)[:2000])
        return str(container)

    def _await_container(self, container: str, account: AccountCredentials) -> None:
        """Poll ``status_code`` until ``FINISHED``; ``ERROR`` and ``EXPIRED`` are permanent,
        running out of time is retryable (nothing was published)."""
        def step() -> tuple[bool, str]:
            body = self.call("GET", container, token=account.access_token, account=account,
                             params={"fields": "status_code,status"})
            code = body.get("status_code")
            if code == "FINISHED":
                return True, code
            if code == "IN_PROGRESS":
                return False, code
            detail = body.get("status") or code
            if code == "EXPIRED":
                raise PermanentPlatformError(
                    self.platform, f"media container {container} EXPIRED before it was published "
                    f"({detail}); containers expire 24 hours after creation, so publishing again "
                    "creates a new one", network_code="EXPIRED")
            if code == "ERROR":
                raise PermanentPlatformError(
                    self.platform, f"Instagram could not process the media of container "
                    f"{container}: {detail}", network_code="ERROR")
            raise PermanentPlatformError(
                self.platform, f"media container {container} is in state {code!r}: {detail}",
                network_code=str(code))

        self.wait(step, what=f"Instagram media container {container}")

    def _permalink(self, media_id: str, request: PublishRequest, account: AccountCredentials) -> str:
        """The post's link. The post is live by now, so when the link cannot be read (or the
        answer has neither permalink nor shortcode) the profile stands in for it."""
        if request.post_type == "story":
            return f"{WEB}/stories/{account.username}/{media_id}/"
        body = self.once_live(
            lambda: self.call("GET", media_id, token=account.access_token, account=account,
                              params={"fields": "permalink,shortcode"}),
            fallback=lambda _: {}, what=f"reading the link of media {media_id}")
        if body.get("permalink"):
            return str(body["permalink"])
        if body.get("shortcode"):
            return f"{WEB}/p/{body['shortcode']}/"
        return f"{WEB}/{account.username}/"

    # -- reconciliation
    def find_existing(self, request: PublishRequest, account: AccountCredentials, *,
                      since: datetime | None = None) -> PublishResult | None:
        since = since or search_since(request, self.now())
        edge = "stories" if request.post_type == "story" else "media"
        body = self.call("GET", f"{account.external_account_id}/{edge}", token=account.access_token,
                         account=account, params={
                             "fields": "id,caption,timestamp,permalink,media_type,media_product_type",
                             "since": str(int(since.timestamp())), "limit": "50"})
        items = [i for i in body.get("data") or [] if isinstance(i, dict)
                 and (parse_graph_time(i.get("timestamp")) or since) >= since]
        if request.post_type == "story":
            # Stories have no caption: only a single story in the window is a safe match.
            return _result(items[0]) if len(items) == 1 else None
        for item in reversed(items):
            if same_text(item.get("caption"), request.text):
                return _result(item)
        return None

    # -- metrics
    def fetch_metrics(self, external_ids: Sequence[str], account: AccountCredentials
                      ) -> dict[str, MetricSnapshot]:
        objects = self.read_objects(list(external_ids), METRIC_FIELDS, token=account.access_token,
                                    account=account, fallback_fields=COUNT_FIELDS)
        metrics = {}
        for media_id, obj in objects.items():
            insights = self.insight_values(obj)
            metrics[media_id] = MetricSnapshot(
                external_id=media_id,
                likes=insights.get("likes", int(obj.get("like_count") or 0)),
                comments=insights.get("comments", int(obj.get("comments_count") or 0)),
                shares=insights.get("shares", 0), views=insights.get("views", 0),
                saves=insights.get("saved"), reach=insights.get("reach"))
        return metrics

    # -- tokens
    def exchange_code(self, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        """Facebook Login: code -> long-lived user token -> the Instagram business account
        linked to one of the user's Pages (the first; all in ``choices``)."""
        token, expires_at, raw = self.long_lived_user_token(code, redirect_uri, code_verifier)
        pages = self.pages(token, "id,name,instagram_business_account{id,username}")
        choices = [{"external_account_id": str(p["instagram_business_account"]["id"]),
                    "username": str(p["instagram_business_account"].get("username") or ""),
                    "extra": {"page_id": str(p.get("id")), "login": "facebook"}}
                   for p in pages if isinstance(p.get("instagram_business_account"), dict)
                   and p["instagram_business_account"].get("id")]
        if not choices:
            raise PermanentPlatformError(
                self.platform, "no Instagram business or creator account is linked to the "
                "Facebook Pages this login manages")
        account = {**choices[0], "choices": choices}
        return self.token_set(token, expires_at, account, raw)

    def refresh_token(self, account: AccountCredentials) -> TokenSet:
        """Instagram Login tokens refresh with ``ig_refresh_token`` (token at least 24 hours
        old and unexpired); Facebook Login tokens cannot be refreshed."""
        if account.extra.get("login") != "instagram":
            raise self.no_refresh()
        login = self.config.extra_bases.get("login", "https://graph.instagram.com").rstrip("/")
        response = self.http.send("GET", f"{login}/refresh_access_token", params={
            "grant_type": "ig_refresh_token", "access_token": account.access_token})
        if response.status_code >= 400:
            raise meta_error(self.platform, response, self.now())
        body = json_object(self.platform, response)
        token = require_str(self.platform, response, body, "access_token")
        identity = {"external_account_id": account.external_account_id,
                    "username": account.username, "extra": dict(account.extra)}
        return self.token_set(str(token), self.expires_in(body.get("expires_in")), identity, body)


def _options(request: PublishRequest, allowed: Sequence[str]) -> dict[str, Any]:
    return {key: request.options[key] for key in allowed if request.options.get(key) is not None}


def _result(item: dict[str, Any]) -> PublishResult:
    media_id = str(item["id"])
    return PublishResult(media_id, str(item.get("permalink") or f"{WEB}/p/{media_id}/"), item)
