"""Facebook Pages in the sandbox: feed posts (text, link, attached unpublished photos), photos,
videos with ``video_status`` processing, reels and video stories (start / upload to the
``rupload``-style URL / finish), photo stories, listing edges, metrics and insights."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

from core.domain.rules import RULES
from core.platforms.sandbox.base import Call, Route, SandboxAccount, json_response, route
from core.platforms.sandbox.meta import FieldSpec, MetaNetwork, graph_time

PAGE_ID_BASE = 101_000_000_000_000
OBJECT_ID_BASE = 1_220_000_000_000_000
GRAPH_UPLOAD_VERSION = "v21.0"


class FacebookSandbox(MetaNetwork):
    platform = "facebook"
    registered_token_kind = "page"
    buc_type = "pages"
    throttle_code = 80001
    insight_metrics: ClassVar[dict[str, str]] = {
        "post_total_media_view_unique": "reach", "post_media_view": "views",
        "post_clicks": "clicks", "post_reactions_by_type_total": "likes",
        "post_impressions_unique": "reach",
    }

    def routes(self) -> list[Route]:
        page = r"/(?P<page>\d+)"
        return [
            *self.common_routes(),
            route("POST", page + r"/feed", self.create_feed_post, "publish"),
            route("GET", page + r"/(?:feed|published_posts|posts)", self.list_posts),
            route("POST", page + r"/photos", self.create_photo, "upload"),
            route("POST", page + r"/videos", self.create_video, "publish", "media"),
            route("GET", page + r"/videos", self.list_videos),
            route("POST", page + r"/video_reels", self.reel_phase, "publish", "media"),
            route("GET", page + r"/video_reels", self.list_videos),
            route("POST", page + r"/video_stories", self.reel_phase, "publish", "media"),
            route("POST", page + r"/photo_stories", self.photo_story, "publish"),
            route("GET", page + r"/stories", self.list_stories),
            route("POST", r"/video-upload/(?P<version>v[\d.]+)/(?P<video>\d+)", self.upload,
                  "upload"),
            *self.object_routes(),
        ]

    def kinds_of(self, call: Call, route: Route) -> frozenset[str]:
        phase = call.param("upload_phase")
        if phase == "start":
            return frozenset({"media"})
        if phase == "finish":
            return frozenset({"publish"})
        return route.kinds

    def default_account(self) -> SandboxAccount:
        return self.sandbox.ensure_account(self.platform, str(PAGE_ID_BASE + 1),
                                           "Herald Sandbox Page")

    def duplicate(self, call: Call, params: Any) -> httpx.Response:
        return self.error(400, "Duplicate status message", 506, subcode=1455006,
                          user_title="Duplicate Post", user_msg="This status update is identical "
                          "to the last one you posted. Try posting something different, or "
                          "delete your previous update.")

    # -- helpers
    def _own_page(self, call: Call) -> SandboxAccount:
        if call.match["page"] != call.account_id or call.account is None:
            raise self.permission_error(
                "If posting to a page, requires both pages_read_engagement and "
                "pages_manage_posts as an admin with sufficient administrative permission")
        return call.account

    def _page_token(self, call: Call) -> None:
        if call.token_record is not None and call.token_record.kind == "user":
            raise self.permission_error("This endpoint requires a Page access token; use the "
                                        "token from /me/accounts")

    def _new_id(self) -> str:
        return str(OBJECT_ID_BASE + self.sandbox.next_seq())

    @staticmethod
    def _flag(value: Any, default: bool = True) -> bool:
        if value is None or value == "":
            return default
        return str(value).lower() not in ("false", "0", "no")

    def _attached(self, call: Call) -> list[str]:
        raw = call.param("attached_media")
        if raw is None:  # form style: attached_media[0]={"media_fbid": ...}
            raw = [v for k, v in sorted(call.form.items()) if k.startswith("attached_media[")]
        if isinstance(raw, str):
            raw = json.loads(raw)
        items = [json.loads(i) if isinstance(i, str) else i for i in raw or []]
        return [str(i.get("media_fbid", "")) for i in items if isinstance(i, dict)]

    # -- feed
    def create_feed_post(self, call: Call) -> httpx.Response:
        page = self._own_page(call)
        self._page_token(call)
        message = str(call.param("message") or "")
        link = call.param("link")
        photos = self._attached(call)
        if not message and not link and not photos:
            raise self.invalid("Missing message or attachment")
        rule = RULES["facebook"].text
        if rule.length(message) > rule.limit:
            raise self.invalid(f"The message is too long: the limit is {rule.limit} characters")
        if link:
            host = urlsplit(str(link)).hostname or ""
            if urlsplit(str(link)).scheme not in ("http", "https") or not host:
                raise self.invalid("The link is not a valid URL", subcode=2061006)
            if host == "facebook.com" or host.endswith(".facebook.com"):
                raise self.invalid("Links to facebook.com can't be shared this way",
                                   subcode=1609008)
        for index, fbid in enumerate(photos):
            photo = self.objects.get(fbid)
            if (photo is None or photo["_type"] != "photo" or photo["_owner"] != page.external_account_id
                    or photo.get("published") or photo.get("used")):
                raise self.invalid(f"param attached_media[{index}] must be an unpublished photo "
                                   "of this Page")
        self._check_duplicate(call, message)
        for fbid in photos:
            self.objects[fbid]["used"] = True
        post_id = f"{page.external_account_id}_{self.sandbox.next_seq() + OBJECT_ID_BASE}"
        permalink = self._post_url(post_id)
        kind = "link" if link else ("image" if len(photos) == 1 else "carousel" if photos else "text")
        self.new_object(post_id, "post", page.external_account_id, message=message, link=link,
                        permalink_url=permalink, attached=photos)
        self.sandbox.record_post(self.platform, page, post_id, message, kind, permalink,
                                 media=tuple(self.objects[p].get("url", "") for p in photos))
        return json_response(200, self._with_fields(call, {"id": post_id}, post_id))

    def _check_duplicate(self, call: Call, message: str) -> None:
        if not message:
            return
        window = timedelta(seconds=self.sandbox.config.duplicate_window_seconds)
        for post in self.sandbox.recent_posts(self.platform, call.account_id, window):
            if post.text == message and post.status != "deleted":
                raise self.fail(400, "Duplicate status message", 506, subcode=1455006,
                                user_title="Duplicate Post", user_msg="This status update is "
                                "identical to the last one you posted.")

    def _with_fields(self, call: Call, body: dict[str, Any], object_id: str) -> dict[str, Any]:
        if call.query.get("fields"):
            body.update(self.render(self.objects[object_id], call.query["fields"]))
        return body

    @staticmethod
    def _post_url(post_id: str) -> str:
        page, _, post = post_id.partition("_")
        return f"https://www.facebook.com/{page}/posts/{post}"

    # -- photos
    def create_photo(self, call: Call) -> httpx.Response:
        page = self._own_page(call)
        self._page_token(call)
        url = call.param("url")
        if not url and "source" not in call.files:
            raise self.fail(400, "(#324) Requires upload file", 324)
        if url and urlsplit(str(url)).scheme not in ("http", "https"):
            raise self.invalid("The url parameter is not a valid URL", subcode=2061006)
        photo_id = self._new_id()
        published = self._flag(call.param("published"))
        caption = str(call.param("caption") or call.param("message") or "")
        self.new_object(photo_id, "photo", page.external_account_id, url=url, published=published,
                        name=caption, link=f"https://www.facebook.com/photo/?fbid={photo_id}")
        body: dict[str, Any] = {"id": photo_id}
        if published:
            self._check_duplicate(call, caption)
            post_id = f"{page.external_account_id}_{photo_id}"
            self.new_object(post_id, "post", page.external_account_id, message=caption,
                            permalink_url=self._post_url(post_id), attached=[photo_id])
            self.sandbox.record_post(self.platform, page, post_id, caption, "image",
                                     self._post_url(post_id), media=(str(url or ""),))
            body["post_id"] = post_id
        return json_response(200, body)

    # -- videos
    def _video(self, call: Call, page: SandboxAccount, kind: str, **data: Any) -> dict[str, Any]:
        video_id = self._new_id()
        failed = call.notes.get("processing_failed")
        return self.new_object(video_id, "video", page.external_account_id, kind=kind,
                               failed=failed, ready_at=None, uploaded=0, file_size=None, **data)

    def create_video(self, call: Call) -> httpx.Response:
        page = self._own_page(call)
        self._page_token(call)
        file_url = call.param("file_url")
        if not file_url and "source" not in call.files:
            raise self.invalid("No file was uploaded: set file_url or send source", subcode=None)
        description = str(call.param("description") or "")
        video = self._video(call, page, "video", description=description, file_url=file_url)
        video["ready_at"] = call.now + timedelta(seconds=self.delay("video"))
        url = f"https://www.facebook.com/{page.external_account_id}/videos/{video['id']}/"
        video["permalink_url"] = f"/{page.external_account_id}/videos/{video['id']}/"
        self.sandbox.record_post(self.platform, page, video["id"], description, "video", url,
                                 media=(str(file_url or ""),),
                                 status="failed" if video["failed"] is not None else "published")
        return json_response(200, {"id": video["id"]})

    def reel_phase(self, call: Call) -> httpx.Response:
        page = self._own_page(call)
        self._page_token(call)
        story = call.path.endswith("/video_stories")
        phase = call.param("upload_phase")
        if phase == "start":
            video = self._video(call, page, "story" if story else "reel")
            upload_url = f"{call.base}/video-upload/{GRAPH_UPLOAD_VERSION}/{video['id']}"
            return json_response(200, {"video_id": video["id"], "upload_url": upload_url})
        if phase != "finish":
            raise self.invalid("upload_phase must be one of start, finish")
        video = self.lookup(str(call.param("video_id") or ""))
        if video["_owner"] != page.external_account_id or video.get("finished"):
            raise self.invalid("The video_id is not a video of this Page waiting to be finished")
        if not video["file_size"] or video["uploaded"] < video["file_size"]:
            raise self.fail(400, "There was a problem uploading your video file. Please try "
                            "again.", 6000, subcode=1363030)
        video.update(finished=True, description=str(call.param("description") or ""),
                     ready_at=call.now + timedelta(seconds=self.delay("video")))
        status = "failed" if video["failed"] is not None else "published"
        if story:
            post_id = self._new_id()
            url = f"https://www.facebook.com/stories/{post_id}"
            video["_post_id"] = post_id
            self.new_object(post_id, "story", page.external_account_id, media_id=video["id"],
                            media_type="video", url=url)
            self.sandbox.record_post(self.platform, page, post_id, "", "story", url,
                                     status=status)
            return json_response(200, {"success": True, "post_id": post_id})
        video["permalink_url"] = f"/reel/{video['id']}/"
        self.sandbox.record_post(self.platform, page, video["id"], video["description"], "reel",
                                 f"https://www.facebook.com/reel/{video['id']}", status=status)
        return json_response(200, {"success": True})

    def upload(self, call: Call) -> httpx.Response:
        video = self.objects.get(call.match["video"])
        if video is None or video["_owner"] != call.account_id:
            return json_response(400, {"debug_info": {"retriable": False, "type": "NotFoundError",
                                                      "message": "Video not found"}})
        try:
            offset = int(call.header("offset") or 0)
            size = int(call.header("file_size") or 0)
        except ValueError:
            size, offset = 0, -1
        if call.header("file_url"):
            video.update(file_size=size or 1, uploaded=size or 1, file_url=call.header("file_url"))
            return json_response(200, {"success": True})
        if size <= 0 or offset != video["uploaded"] or offset + len(call.body) > size:
            return json_response(400, {"debug_info": {
                "retriable": False, "type": "ProcessingFailedError",
                "message": "Request processing failed: offset and file_size must describe the "
                           "bytes sent"}})
        video.update(file_size=size, uploaded=offset + len(call.body))
        return json_response(200, {"success": True})

    def photo_story(self, call: Call) -> httpx.Response:
        page = self._own_page(call)
        photo = self.objects.get(str(call.param("photo_id") or ""))
        if photo is None or photo["_type"] != "photo" or photo["_owner"] != page.external_account_id:
            raise self.invalid("photo_id must be an unpublished photo of this Page")
        post_id = self._new_id()
        url = f"https://www.facebook.com/stories/{post_id}"
        self.new_object(post_id, "story", page.external_account_id, media_id=photo["id"],
                        media_type="photo", url=url)
        self.sandbox.record_post(self.platform, page, post_id, "", "story", url,
                                 media=(str(photo.get("url") or ""),))
        return json_response(200, {"success": True, "post_id": post_id})

    # -- reading
    def video_status(self, video: dict[str, Any]) -> dict[str, Any]:
        ready_at = video.get("ready_at")
        if video.get("failed") is not None and ready_at is not None:
            code = int(video["failed"].get("error_code", 1363040))
            return {"video_status": "error", "processing_phase": {"status": "error", "errors": [
                {"code": code, "message": "The video could not be processed: unsupported aspect "
                 "ratio or format."}]}}
        if ready_at is None:
            uploaded = video.get("file_size") and video["uploaded"] >= video["file_size"]
            return {"video_status": "upload_complete" if uploaded else "processing",
                    "uploading_phase": {"status": "complete" if uploaded else "in_progress"},
                    "processing_phase": {"status": "not_started"}}
        if self.now < ready_at:
            total = max(1.0, self.delay("video"))
            left = (ready_at - self.now).total_seconds()
            return {"video_status": "processing", "processing_progress": int(100 * (1 - left / total)),
                    "uploading_phase": {"status": "complete"},
                    "processing_phase": {"status": "in_progress"}}
        return {"video_status": "ready", "processing_progress": 100,
                "uploading_phase": {"status": "complete"}, "processing_phase": {"status": "complete"},
                "publishing_phase": {"status": "complete", "publish_status": "published",
                                     "publish_time": graph_time(ready_at)}}

    def default_fields(self, obj: dict[str, Any]) -> list[str]:
        if obj["_type"] == "post":
            return ["created_time", "message", "id"]
        if obj["_type"] == "video":
            return ["description", "created_time", "id"]
        return ["id"]

    def field_value(self, obj: dict[str, Any], spec: FieldSpec) -> Any:
        if spec.name in ("reactions", "likes", "comments"):
            counts = self.engagement_of(obj)
            total = counts.comments if spec.name == "comments" else counts.likes
            return {"data": [], "summary": {"total_count": total}}
        if spec.name == "shares":
            shares = self.engagement_of(obj).shares
            return {"count": shares} if shares else None
        if spec.name == "status" and obj["_type"] == "video":
            return self.video_status(obj)
        if spec.name == "from":
            account = self.sandbox.account(self.platform, obj["_owner"])
            return {"id": obj["_owner"], "name": account.username if account else ""}
        if spec.name == "message" and not obj.get("message"):
            return None
        return super().field_value(obj, spec)

    def _list(self, call: Call, types: tuple[str, ...], kinds: tuple[str, ...] = ()) -> httpx.Response:
        if call.match["page"] != call.account_id:
            raise self.permission_error("Permissions error")
        since = self.since_filter(call)
        limit = min(int(call.query.get("limit") or 25), 100)
        found = [o for o in self.objects.values()
                 if o["_type"] in types and o["_owner"] == call.account_id and not o.get("_deleted")
                 and (not kinds or o.get("kind") in kinds)
                 and (since is None or o["_created"] >= since)]
        found.sort(key=lambda o: o["_created"], reverse=True)
        spec = call.query.get("fields")
        return json_response(200, {"data": [self.render(o, spec) for o in found[:limit]]})

    def list_posts(self, call: Call) -> httpx.Response:
        return self._list(call, ("post",))

    def list_videos(self, call: Call) -> httpx.Response:
        kinds = ("reel",) if call.path.endswith("video_reels") else ("video", "reel")
        return self._list(call, ("video",), kinds)

    def list_stories(self, call: Call) -> httpx.Response:
        if call.match["page"] != call.account_id:
            raise self.permission_error("Permissions error")
        stories = sorted((o for o in self.objects.values()
                          if o["_type"] == "story" and o["_owner"] == call.account_id),
                         key=lambda o: o["_created"], reverse=True)
        return json_response(200, {"data": [{
            "post_id": s["id"], "status": "PUBLISHED", "media_type": s["media_type"],
            "media_id": s["media_id"], "url": s["url"],
            "creation_time": str(int(s["_created"].timestamp()))} for s in stories]})

    def me_accounts(self, call: Call) -> httpx.Response:
        account = call.account
        assert account is not None
        page_token = self.sandbox.issue_token(self.platform, account.external_account_id,
                                              kind="page", prefix="EAAP")
        return json_response(200, {"data": [{
            "id": account.external_account_id, "name": account.username,
            "access_token": page_token.token, "category": "Brand",
            "tasks": ["ADVERTISE", "ANALYZE", "CREATE_CONTENT", "MESSAGING", "MODERATE", "MANAGE"],
        }], "paging": {"cursors": {"before": "QVFI", "after": "QVFI"}}})
