"""Instagram (Content Publishing API) in the sandbox: containers that process on the sandbox
clock (``IN_PROGRESS -> FINISHED | ERROR``, ``EXPIRED`` 24 h after creation unless published),
``media_publish`` with the rolling 24-hour quota, carousels of 2-10 children, reels, stories,
media listing, permalinks, insights, and Instagram Login's ``ig_refresh_token``."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from typing import Any, ClassVar

import httpx

from core.domain.rules import RULES, media_kind
from core.domain.text import extract_hashtags
from core.platforms.sandbox.base import Call, Reply, Route, SandboxAccount, json_response, route
from core.platforms.sandbox.meta import LONG_LIVED_SECONDS, FieldSpec, MetaNetwork, graph_time

IG_USER_BASE = 17_841_400_000_000_000
PAGE_ID_BASE = 102_000_000_000_000
CONTAINER_BASE = 17_880_000_000_000_000
MEDIA_BASE = 17_900_000_000_000_000
CONTAINER_TTL = timedelta(hours=24)
REFRESH_MIN_AGE = timedelta(hours=24)
STATUS_TEXT = {
    "FINISHED": "Finished: Media has been uploaded and it is ready to be published.",
    "IN_PROGRESS": "In Progress: Media is still being processed.",
    "EXPIRED": "Expired: The media container was not published within 24 hours and has expired.",
    "PUBLISHED": "Published: Media has been published.",
}
PRODUCT_TYPES = {"IMAGE": "FEED", "CAROUSEL": "FEED", "REELS": "REELS", "STORIES": "STORY"}
MEDIA_TYPES = {"IMAGE": "IMAGE", "CAROUSEL": "CAROUSEL_ALBUM", "REELS": "VIDEO", "VIDEO": "VIDEO"}


def shortcode(media_id: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(media_id.encode()).digest())[:11].decode()


class InstagramSandbox(MetaNetwork):
    platform = "instagram"
    registered_token_kind = "user"
    buc_type = "instagram"
    throttle_code = 80002
    insight_metrics: ClassVar[dict[str, str]] = {
        "views": "views", "reach": "reach", "likes": "likes", "comments": "comments",
        "shares": "shares", "saved": "saves", "total_interactions": "likes",
    }

    def routes(self) -> list[Route]:
        user = r"/(?P<ig>\d+)"
        return [
            route("GET", r"/refresh_access_token", self.refresh, "oauth", auth=False),
            *self.common_routes(),
            route("POST", user + r"/media", self.create_container, "media"),
            route("POST", user + r"/media_publish", self.publish, "publish"),
            route("GET", user + r"/media", self.list_media),
            route("GET", user + r"/stories", self.list_stories),
            route("GET", user + r"/content_publishing_limit", self.publishing_limit),
            *self.object_routes(),
        ]

    def default_account(self) -> SandboxAccount:
        return self.sandbox.ensure_account(self.platform, str(IG_USER_BASE + 1), "herald.sandbox",
                                           {"page_id": str(PAGE_ID_BASE + 1)})

    def duplicate(self, call: Call, params: Any) -> httpx.Response:
        # Instagram documents no duplicate error; its spam restriction is the nearest signal.
        return self.error(400, "Application request limit reached", 4, subcode=2207051,
                          user_title="Action is blocked", user_msg="We restrict certain activity "
                          "to protect our community. Let us know if you think we made a mistake.")

    def _own(self, call: Call) -> SandboxAccount:
        if call.match["ig"] != call.account_id or call.account is None:
            raise self.permission_error("Application does not have permission for this action")
        return call.account

    # -- containers
    def create_container(self, call: Call) -> httpx.Response:
        account = self._own(call)
        media_type = str(call.param("media_type") or "IMAGE").upper()
        carousel_item = str(call.param("is_carousel_item") or "").lower() == "true"
        caption = str(call.param("caption") or "")
        self._check_caption(caption)
        if media_type == "VIDEO" and not carousel_item:
            raise self.invalid("The VIDEO media type is no longer supported for feed videos; "
                               "use REELS.", subcode=2207023)
        if media_type not in ("IMAGE", "VIDEO", "REELS", "STORIES", "CAROUSEL"):
            raise self.invalid(f"media_type {media_type} is not supported", subcode=2207023)
        data: dict[str, Any] = {"media_type": media_type, "caption": caption,
                                "carousel_item": carousel_item,
                                "share_to_feed": call.param("share_to_feed")}
        if media_type == "CAROUSEL":
            data["children"] = self._children(call, account)
            kind = "image"
        else:
            kind = self._media_url(call, media_type, data)
        data["ready_at"] = call.now + timedelta(seconds=self.delay(kind))
        data["failed"] = call.notes.get("processing_failed")
        container_id = str(CONTAINER_BASE + self.sandbox.next_seq())
        self.new_object(container_id, "container", account.external_account_id, **data)
        return json_response(200, {"id": container_id})

    def _check_caption(self, caption: str) -> None:
        rules = RULES["instagram"]
        if rules.text.length(caption) > rules.text.limit:
            raise self.invalid(f"The caption is too long: the limit is {rules.text.limit} "
                               "characters.", subcode=2207010)
        if rules.max_hashtags is not None and len(extract_hashtags(caption)) > rules.max_hashtags:
            raise self.invalid(f"The caption has more than {rules.max_hashtags} hashtags.",
                               subcode=2207010)

    def _media_url(self, call: Call, media_type: str, data: dict[str, Any]) -> str:
        image_url, video_url = call.param("image_url"), call.param("video_url")
        needs_video = media_type in ("REELS", "VIDEO") or (media_type == "STORIES" and not image_url)
        url = video_url if needs_video else image_url
        if not url:
            raise self.invalid(f"The parameter {'video_url' if needs_video else 'image_url'} is "
                               "required.")
        kind = media_kind(str(url))
        if needs_video and kind in ("image", "gif"):
            raise self.invalid("The video format is not supported. Please check the video "
                               "specifications.", subcode=2207026)
        if not needs_video and kind == "video":
            raise self.invalid("The image format is not supported. Please use JPEG.",
                               subcode=2207005)
        data["video_url" if needs_video else "image_url"] = url
        return "video" if needs_video else "image"

    def _children(self, call: Call, account: SandboxAccount) -> list[str]:
        raw = call.param("children") or ""
        children = [c.strip() for c in (raw.split(",") if isinstance(raw, str) else raw)
                    if str(c).strip()]
        if not 2 <= len(children) <= 10:
            raise self.invalid(f"A carousel takes 2 to 10 children; got {len(children)}.",
                               subcode=2207028)
        for child_id in children:
            child = self.objects.get(str(child_id))
            if (child is None or child["_type"] != "container" or not child["carousel_item"]
                    or child["_owner"] != account.external_account_id):
                raise self.invalid(f"Child {child_id} is not a carousel item container of this "
                                   "account.", subcode=2207028)
        return [str(c) for c in children]

    def status_of(self, container: dict[str, Any]) -> str:
        if container.get("published_media"):
            return "PUBLISHED"
        if self.now >= container["_created"] + CONTAINER_TTL:
            return "EXPIRED"
        if container.get("failed") is not None:
            return str(container["failed"].get("status", "ERROR")).upper()
        if container["media_type"] == "CAROUSEL":
            states = [self.status_of(self.objects[c]) for c in container["children"]]
            for bad in ("ERROR", "EXPIRED"):
                if bad in states:
                    return bad
            if any(s == "IN_PROGRESS" for s in states):
                return "IN_PROGRESS"
        return "FINISHED" if self.now >= container["ready_at"] else "IN_PROGRESS"

    def _status_text(self, container: dict[str, Any], status: str) -> str:
        if status == "ERROR":
            failed = container.get("failed") or {}
            default = 2207026 if container.get("video_url") else 2207005
            return f"Error: Media upload has failed with error code {failed.get('error_code', default)}"
        return STATUS_TEXT[status]

    # -- publishing
    def publish(self, call: Call) -> httpx.Response:
        account = self._own(call)
        creation_id = str(call.param("creation_id") or "")
        if not creation_id:
            raise self.invalid("The parameter creation_id is required.")
        container = self.objects.get(creation_id)
        if (container is None or container["_type"] != "container"
                or container["_owner"] != account.external_account_id):
            raise self.missing_object(creation_id)
        if container["carousel_item"]:
            raise self.invalid("A carousel item cannot be published on its own.")
        self._check_publishable(call, container)
        self._check_quota(call, account)
        return json_response(200, {"id": self._create_media(account, container)})

    def _check_publishable(self, call: Call, container: dict[str, Any]) -> None:
        status = self.status_of(container)
        if status == "IN_PROGRESS":
            raise self.fail(400, "Media ID is not available", 9007, subcode=2207027,
                            user_title="Media not ready", user_msg="The media is not ready for "
                            "publishing, please wait for a moment.")
        if status == "EXPIRED":
            raise self.fail(400, "The media you are trying to publish has expired. Please try "
                            "again with new media.", 100, subcode=2207020,
                            user_title="Media expired")
        if status == "ERROR":
            raise self.fail(400, self._status_text(container, status), 100, subcode=2207032,
                            user_title="Media upload failed")
        if status == "PUBLISHED":
            raise self.invalid("This container has already been published.", subcode=2207008)

    def _check_quota(self, call: Call, account: SandboxAccount) -> None:
        if not self.sandbox.config.enforce_limits:
            return
        quota = int(self.sandbox.config.limit(self.platform, "posts_per_24h", 50))
        if self._published_last_day(call, account) >= quota:
            raise self.fail(400, "Application request limit reached", 9, subcode=2207042,
                            user_title="Maximum posts reached", user_msg="You reached maximum "
                            "number of posts that is allowed to be published by Content "
                            "Publishing API.")

    def _published_last_day(self, call: Call, account: SandboxAccount) -> int:
        return sum(1 for _ in self.sandbox.recent_posts(self.platform, account.external_account_id,
                                                         timedelta(hours=24)))

    def _create_media(self, account: SandboxAccount, container: dict[str, Any]) -> str:
        media_id = str(MEDIA_BASE + self.sandbox.next_seq())
        product = PRODUCT_TYPES.get(container["media_type"], "FEED")
        code = shortcode(media_id)
        permalink = {"FEED": f"https://www.instagram.com/p/{code}/",
                     "REELS": f"https://www.instagram.com/reel/{code}/",
                     "STORY": f"https://www.instagram.com/stories/{account.username}/{media_id}/"}[product]
        media_type = MEDIA_TYPES.get(container["media_type"],
                                     "VIDEO" if container.get("video_url") else "IMAGE")
        urls = [self.objects[c].get("image_url") or self.objects[c].get("video_url")
                for c in container.get("children", [])] or [
            container.get("image_url") or container.get("video_url")]
        self.new_object(media_id, "media", account.external_account_id, caption=container["caption"],
                        media_type=media_type, media_product_type=product, permalink=permalink,
                        shortcode=code, username=account.username, children_ids=container.get("children", []))
        container["published_media"] = media_id
        post_type = {"FEED": "carousel" if container.get("children") else "image",
                     "REELS": "reel", "STORY": "story"}[product]
        self.sandbox.record_post(self.platform, account, media_id, container["caption"], post_type,
                                 permalink, media=tuple(str(u or "") for u in urls))
        return media_id

    # -- reading
    def default_fields(self, obj: dict[str, Any]) -> list[str]:
        return ["id"]

    def field_value(self, obj: dict[str, Any], spec: FieldSpec) -> Any:
        if obj["_type"] == "container" and spec.name in ("status_code", "status"):
            status = self.status_of(obj)
            return status if spec.name == "status_code" else self._status_text(obj, status)
        if obj["_type"] == "media":
            if spec.name == "timestamp":
                return graph_time(obj["_created"])
            if spec.name in ("like_count", "comments_count"):
                counts = self.engagement_of(obj)
                return counts.likes if spec.name == "like_count" else counts.comments
            if spec.name == "children":
                return {"data": [{"id": c} for c in obj.get("children_ids", [])]}
        return super().field_value(obj, spec)

    def get_object(self, call: Call) -> httpx.Response:
        account = self.sandbox.account(self.platform, call.match["id"])
        if account is not None and call.match["id"] not in self.objects:
            return json_response(200, {"id": account.external_account_id,
                                       "username": account.username, "name": account.username})
        return super().get_object(call)

    def _media_list(self, call: Call, product: tuple[str, ...]) -> list[dict[str, Any]]:
        since = self.since_filter(call)
        limit = min(int(call.query.get("limit") or 25), 100)
        found = [o for o in self.objects.values()
                 if o["_type"] == "media" and o["_owner"] == call.account_id
                 and o["media_product_type"] in product and not o.get("_deleted")
                 and (since is None or o["_created"] >= since)]
        found.sort(key=lambda o: o["_created"], reverse=True)
        return [self.render(o, call.query.get("fields")) for o in found[:limit]]

    def list_media(self, call: Call) -> httpx.Response:
        self._own(call)
        return json_response(200, {"data": self._media_list(call, ("FEED", "REELS"))})

    def list_stories(self, call: Call) -> httpx.Response:
        self._own(call)
        return json_response(200, {"data": self._media_list(call, ("STORY",))})

    def publishing_limit(self, call: Call) -> httpx.Response:
        account = self._own(call)
        quota = int(self.sandbox.config.limit(self.platform, "posts_per_24h", 50))
        return json_response(200, {"data": [{
            "quota_usage": self._published_last_day(call, account),
            "config": {"quota_total": quota, "quota_duration": 86400}}]})

    def me(self, call: Call) -> httpx.Response:
        assert call.account is not None
        return json_response(200, {"id": call.account_id, "username": call.account.username,
                                   "name": call.account.username})

    def me_accounts(self, call: Call) -> httpx.Response:
        account = call.account
        assert account is not None
        page_id = str(account.extra.get("page_id") or PAGE_ID_BASE + 1)
        page_token = self.sandbox.issue_token(self.platform, account.external_account_id,
                                              kind="page", prefix="EAAP")
        return json_response(200, {"data": [{
            "id": page_id, "name": f"{account.username} (Page)", "access_token": page_token.token,
            "instagram_business_account": {"id": account.external_account_id,
                                           "username": account.username}}]})

    # -- Instagram Login
    def refresh(self, call: Call) -> httpx.Response:
        if call.query.get("grant_type") != "ig_refresh_token":
            raise self.invalid("grant_type must be ig_refresh_token")
        record, reason = self.sandbox.check_token(self.platform, call.query.get("access_token"),
                                                  ("user",))
        if record is None:
            raise Reply(self.auth_error(call, reason))
        if record.issued_at is not None and call.now - record.issued_at < REFRESH_MIN_AGE:
            raise self.invalid("The access token is too new to be refreshed: tokens can be "
                               "refreshed 24 hours after they were issued.")
        issued = self.sandbox.issue_token(self.platform, record.account_id, kind="user",
                                          ttl_seconds=LONG_LIVED_SECONDS, scopes=record.scopes,
                                          prefix="IGAA")
        return json_response(200, {"access_token": issued.token, "token_type": "bearer",
                                   "expires_in": LONG_LIVED_SECONDS})
