"""What Herald tells YouTube about a video and how it links to it: the title, the ``snippet`` and
``status`` of ``videos.insert``, whether the video is a Short, and its URL."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from core.domain.validation import PostContent, title_for_platform
from core.errors import PermanentPlatformError
from core.platforms.base import PublishRequest
from core.platforms.http import parse_time

WEB = "https://www.youtube.com"
SHORTS_MAX_SECONDS = 180
DEFAULT_CATEGORY_ID = "22"  # People & Blogs


def video_title(request: PublishRequest) -> str:
    """The title validation checks: the request's title, else the text's first line."""
    post = PostContent(content=request.text, post_type=request.post_type, platforms=("youtube",),
                       title=request.title)
    return title_for_platform(post, "youtube") or ""


def video_metadata(request: PublishRequest) -> dict[str, Any]:
    """The ``snippet`` and ``status`` of ``videos.insert``. ``options``: ``privacy_status``
    (public|private|unlisted, default public), ``category_id`` (default 22), ``tags``,
    ``made_for_kids``, ``publish_at`` (forces private, as YouTube requires),
    ``contains_synthetic_media``, ``default_language``."""
    options = request.options
    snippet: dict[str, Any] = {"title": video_title(request), "description": request.text,
                               "categoryId": str(options.get("category_id") or DEFAULT_CATEGORY_ID)}
    if options.get("tags"):
        snippet["tags"] = [str(tag) for tag in options["tags"]]
    if options.get("default_language"):
        snippet["defaultLanguage"] = str(options["default_language"])
    status: dict[str, Any] = {"privacyStatus": str(options.get("privacy_status") or "public"),
                              "selfDeclaredMadeForKids": bool(options.get("made_for_kids", False))}
    publish_at = options.get("publish_at")
    if publish_at:
        moment = publish_at if isinstance(publish_at, datetime) else parse_time(str(publish_at))
        if moment is None:
            raise PermanentPlatformError("youtube", f"publish_at {publish_at!r} is not a time")
        status.update(privacyStatus="private",
                      publishAt=moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    if options.get("contains_synthetic_media") is not None:
        status["containsSyntheticMedia"] = bool(options["contains_synthetic_media"])
    return {"snippet": snippet, "status": status}


def is_short(request: PublishRequest, video: Mapping[str, Any] | None) -> bool:
    """Whether YouTube shows the video as a Short: vertical or square and at most 3 minutes.
    ``fileDetails`` (after processing) decides when it has the dimensions; else post type
    ``reel``; else ``options["vertical"]`` with ``options["duration_seconds"]``."""
    details = (video or {}).get("fileDetails")
    if isinstance(details, Mapping):
        streams = [s for s in details.get("videoStreams") or [] if isinstance(s, Mapping)]
        width, height = (streams[0].get("widthPixels"), streams[0].get("heightPixels")) if streams else (None, None)
        duration = details.get("durationMs")
        if isinstance(width, int) and isinstance(height, int) and str(duration or "").isdigit():
            return height >= width and int(str(duration)) <= SHORTS_MAX_SECONDS * 1000
    if request.post_type == "reel":
        return True
    seconds = request.options.get("duration_seconds")
    return bool(request.options.get("vertical")) and isinstance(seconds, int | float) and (
        0 < seconds <= SHORTS_MAX_SECONDS)


def video_url(video_id: str, *, short: bool = False) -> str:
    return f"{WEB}/shorts/{video_id}" if short else f"{WEB}/watch?v={video_id}"
