"""Facebook Pages (Graph API).

Flows (PLATFORMS.md §1): text and link posts on ``/{page}/feed``; photos as unpublished uploads
then one feed post with ``attached_media``; feed video from a URL with ``video_status`` polling;
reels and video stories through ``start`` -> byte upload -> ``finish``; photo stories from an
unpublished photo. Page tokens do not expire and there is no refresh token.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import httpx

from core.errors import PermanentPlatformError, PlatformError, RetryablePlatformError
from core.platforms.base import (
    AccountCredentials,
    MetricSnapshot,
    ProcessingTimeout,
    PublishRequest,
    PublishResult,
    TokenSet,
    same_text,
    search_since,
)
from core.platforms.http import body_excerpt
from core.platforms.media import fetch_media
from core.platforms.meta import MetaConnector, meta_error, parse_graph_time

WEB = "https://www.facebook.com"
VIDEO_MAX_BYTES = 1024**3  # reels: 1 GB
METRIC_FIELDS = ("reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0),"
                 "shares,insights.metric(post_total_media_view_unique,post_clicks)")
COUNT_FIELDS = "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0),shares"
_URL = re.compile(r"https?://\S+", re.IGNORECASE)


class FacebookConnector(MetaConnector):
    platform = "facebook"
    default_scopes = ("pages_show_list", "pages_read_engagement", "pages_manage_posts",
                      "read_insights", "business_management")

    # -- publishing
    def publish(self, request: PublishRequest, account: AccountCredentials) -> PublishResult:
        flows = {"text": self._feed, "link": self._feed, "image": self._photos,
                 "carousel": self._photos, "video": self._video, "reel": self._reel,
                 "story": self._story}
        flow = flows.get(request.post_type)
        if flow is None:
            raise self.unsupported(request)
        if request.post_type not in ("text", "link"):
            self.require_media(request)
        return flow(request, account, page_id(account))

    def _feed(self, request: PublishRequest, account: AccountCredentials, page: str,
              attached: list[str] | None = None) -> PublishResult:
        payload: dict[str, Any] = {"message": request.text, "published": True}
        link = request.options.get("link") or (
            first_url(request.text) if request.post_type == "link" else None)
        if link:
            payload["link"] = link
        if attached:
            payload["attached_media"] = [{"media_fbid": photo} for photo in attached]
        body = self.call("POST", f"{page}/feed", token=account.access_token, json=payload,
                         params={"fields": "id,permalink_url"}, outcome_critical=True)
        post_id = self._id(body, "id", "feed post")
        url = body.get("permalink_url") or self._permalink(post_id, account)
        return PublishResult(post_id, url, body)

    def _photos(self, request: PublishRequest, account: AccountCredentials, page: str) -> PublishResult:
        attached = [self._unpublished_photo(url, account, page) for url in request.media_urls]
        return self._feed(request, account, page, attached)

    def _unpublished_photo(self, url: str, account: AccountCredentials, page: str) -> str:
        body = self.call("POST", f"{page}/photos", token=account.access_token,
                         json={"url": url, "published": False})
        return self._id(body, "id", "photo upload")

    def _video(self, request: PublishRequest, account: AccountCredentials, page: str) -> PublishResult:
        payload = {"file_url": request.media_urls[0], "description": request.text,
                   "published": True}
        if request.title:
            payload["title"] = request.title
        body = self.call("POST", f"{page}/videos", token=account.access_token,
                         outcome_critical=True, json=payload)
        video_id = self._id(body, "id", "video upload")
        status = self._await_video(video_id, account)
        fallback = f"{WEB}/{page}/videos/{video_id}/"
        return PublishResult(video_id, self._permalink(video_id, account, fallback),
                             {**body, "status": status})

    def _reel(self, request: PublishRequest, account: AccountCredentials, page: str) -> PublishResult:
        video_id = self._upload_video(f"{page}/video_reels", request.media_urls[0], account)
        body = self.call("POST", f"{page}/video_reels", token=account.access_token,
                         outcome_critical=True,
                         json={"upload_phase": "finish", "video_id": video_id,
                               "video_state": "PUBLISHED", "description": request.text})
        self.ok(body, "Finishing the reel upload")
        status = self._await_video(video_id, account)
        return PublishResult(video_id, f"{WEB}/reel/{video_id}", {**body, "status": status})

    def _story(self, request: PublishRequest, account: AccountCredentials, page: str) -> PublishResult:
        url = request.media_urls[0]
        if request.kind_of(url) == "image":
            photo = self._unpublished_photo(url, account, page)
            body = self.call("POST", f"{page}/photo_stories", token=account.access_token,
                             json={"photo_id": photo}, outcome_critical=True)
        else:
            video_id = self._upload_video(f"{page}/video_stories", url, account)
            body = self.call("POST", f"{page}/video_stories", token=account.access_token,
                             outcome_critical=True,
                             json={"upload_phase": "finish", "video_id": video_id})
            body["status"] = self._await_video(video_id, account)
        self.ok(body, "Publishing the story")
        post_id = self._id(body, "post_id", "story")
        return PublishResult(post_id, f"{WEB}/stories/{post_id}", body)

    def _upload_video(self, edge: str, url: str, account: AccountCredentials) -> str:
        """``upload_phase=start``, then the bytes to the returned ``upload_url``."""
        start = self.call("POST", edge, token=account.access_token, json={"upload_phase": "start"})
        video_id = self._id(start, "video_id", "upload session")
        upload_url = self._id(start, "upload_url", "upload session")
        with fetch_media(url, max_bytes=VIDEO_MAX_BYTES, allowed_kinds={"video"},
                         allow_hosts=self.config.media_allow_hosts, client=self.http.client,
                         platform=self.platform) as media:
            response = self.http.send(
                "POST", upload_url, token=account.access_token, auth_scheme="OAuth",
                headers={"offset": "0", "file_size": str(media.size),
                         "Content-Type": "application/octet-stream"},
                content=media.read())
        if response.status_code >= 400:
            raise self._upload_error(response)
        return video_id

    def _upload_error(self, response: httpx.Response) -> PlatformError:
        """The upload host answers ``{"debug_info": {retriable, type, message}}``; anything
        else is read as a Graph error."""
        try:
            info = response.json().get("debug_info")
        except (ValueError, AttributeError):
            info = None
        if not isinstance(info, dict):
            return meta_error(self.platform, response, self.now())
        retryable = bool(info.get("retriable")) or response.status_code >= 500
        cls = RetryablePlatformError if retryable else PermanentPlatformError
        return cls(self.platform, f"video upload failed: {info.get('message') or 'unknown error'}",
                   status=response.status_code, network_code=info.get("type"),
                   response_body=body_excerpt(response))

    def _await_video(self, video_id: str, account: AccountCredentials) -> dict[str, Any]:
        """Wait (bounded) for ``video_status`` ``ready``. The post already exists, so running
        out of time is not an error: the status seen last is returned."""
        def step() -> tuple[bool, dict[str, Any]]:
            body = self.call("GET", video_id, token=account.access_token,
                             params={"fields": "status"})
            found = body.get("status")
            status: dict[str, Any] = found if isinstance(found, dict) else {}
            state = status.get("video_status")
            if state in ("error", "expired"):
                errors = (status.get("processing_phase") or {}).get("errors") or []
                detail = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors
                                   if isinstance(e, dict)) or state
                raise PermanentPlatformError(
                    self.platform, f"video {video_id} failed processing ({detail})",
                    network_code=str(errors[0].get("code")) if errors else state)
            return state == "ready", status

        def watch() -> dict[str, Any]:
            try:
                return self.wait(step, what=f"Facebook video {video_id}")
            except ProcessingTimeout as timeout:
                return dict(timeout.last_value or {})

        return self.once_live(watch, fallback=lambda exc: {"unavailable": exc.network_message},
                              what=f"watching the processing of video {video_id}")

    def _permalink(self, object_id: str, account: AccountCredentials, fallback: str | None = None) -> str:
        body = self.once_live(
            lambda: self.call("GET", object_id, token=account.access_token,
                              params={"fields": "permalink_url"}),
            fallback=lambda _: {}, what=f"reading the link of {object_id}")
        link = body.get("permalink_url")
        if isinstance(link, str) and link:
            return link if link.startswith("http") else WEB + link
        if fallback:
            return fallback
        page, _, post = object_id.partition("_")
        return f"{WEB}/{page}/posts/{post}" if post else f"{WEB}/{object_id}"

    def _id(self, body: dict[str, Any], key: str, what_for: str) -> str:
        value = body.get(key)
        if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
            raise PermanentPlatformError(
                self.platform, f"answered the {what_for} without {key}: {str(body)[:200]}",
                response_body=str(body)[:2000])
        return str(value)

    # -- reconciliation
    def find_existing(self, request: PublishRequest, account: AccountCredentials, *,
                      since: datetime | None = None) -> PublishResult | None:
        since = since or search_since(request, self.now())
        page = page_id(account)
        if request.post_type == "story":
            return self._find_story(request, account, page, since)
        if request.post_type in ("video", "reel"):
            edge = "video_reels" if request.post_type == "reel" else "videos"
            fields, text_field = "id,description,created_time,permalink_url", "description"
        else:
            edge, fields, text_field = "published_posts", "id,message,created_time,permalink_url", "message"
        body = self.call("GET", f"{page}/{edge}", token=account.access_token,
                         params={"fields": fields, "since": str(int(since.timestamp())),
                                 "limit": "100"})
        for item in reversed([i for i in body.get("data") or [] if isinstance(i, dict)]):
            created = parse_graph_time(item.get("created_time"))
            if (created is None or created >= since) and same_text(item.get(text_field), request.text):
                link = str(item.get("permalink_url") or "")
                url = (WEB + link if link.startswith("/") else link) or f"{WEB}/{item['id']}"
                if request.post_type == "reel":
                    url = f"{WEB}/reel/{item['id']}"
                return PublishResult(str(item["id"]), url, item)
        return None

    def _find_story(self, request: PublishRequest, account: AccountCredentials, page: str,
                    since: datetime) -> PublishResult | None:
        """Stories carry no text: a match is the one story of the same media type created in
        the window; with several candidates the outcome stays unknown (``None``)."""
        kind = "photo" if request.media_urls and request.kind_of(request.media_urls[0]) == "image" else "video"
        body = self.call("GET", f"{page}/stories", token=account.access_token)
        candidates = [s for s in body.get("data") or [] if isinstance(s, dict)
                      and (parse_graph_time(s.get("creation_time")) or since) >= since
                      and s.get("media_type") == kind]
        if len(candidates) != 1:
            return None
        story = candidates[0]
        return PublishResult(str(story["post_id"]), str(story.get("url") or
                                                        f"{WEB}/stories/{story['post_id']}"), story)

    # -- metrics
    def fetch_metrics(self, external_ids: Any, account: AccountCredentials) -> dict[str, MetricSnapshot]:
        objects = self.read_objects(list(external_ids), METRIC_FIELDS, token=account.access_token,
                                    account=account, fallback_fields=COUNT_FIELDS)
        metrics = {}
        for object_id, obj in objects.items():
            insights = self.insight_values(obj)
            found = obj.get("shares")
            shares: dict[str, Any] = found if isinstance(found, dict) else {}
            viewers = insights.get("post_total_media_view_unique", 0)
            metrics[object_id] = MetricSnapshot(
                external_id=object_id, likes=self.summary_count(obj, "reactions"),
                comments=self.summary_count(obj, "comments"), shares=int(shares.get("count") or 0),
                views=viewers, reach=viewers if "post_total_media_view_unique" in insights else None,
                clicks=insights.get("post_clicks"))
        return metrics

    # -- tokens
    def exchange_code(self, code: str, redirect_uri: str, code_verifier: str | None = None) -> TokenSet:
        """Code -> long-lived user token -> the Pages it manages, each with a Page token
        (which does not expire). The first Page is the account; all are in ``choices``."""
        user_token, user_expires, raw = self.long_lived_user_token(code, redirect_uri, code_verifier)
        pages = [p for p in self.pages(user_token, "id,name,access_token,picture")
                 if p.get("id") and p.get("access_token")]
        if not pages:
            raise PermanentPlatformError(self.platform, "this login manages no Facebook Page "
                                         "Herald can publish to (grant pages_show_list and "
                                         "pages_manage_posts for at least one Page)")
        choices: list[dict[str, Any]] = [
            {"external_account_id": str(p["id"]), "username": str(p.get("name") or p["id"]),
             "access_token": str(p["access_token"]), "extra": {"page_id": str(p["id"])}}
            for p in pages]
        first = choices[0]
        account: dict[str, Any] = {key: first[key] for key in
                                   ("external_account_id", "username", "extra")}
        account["choices"] = choices
        account["user_token_expires_at"] = user_expires
        return self.token_set(str(first["access_token"]), None, account, raw)

    def refresh_token(self, account: AccountCredentials) -> TokenSet:
        raise self.no_refresh()


def page_id(account: AccountCredentials) -> str:
    return str(account.extra.get("page_id") or account.external_account_id)


def first_url(text: str) -> str | None:
    found = _URL.search(text)
    return found.group(0).rstrip(".,;:!?)") if found else None
