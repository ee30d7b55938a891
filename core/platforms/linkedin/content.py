"""A post's ``content`` besides its commentary: the article of a link post, or the media of an
image, carousel, document or video post (uploaded first, see ``uploads``); text posts have none."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from core.errors import PermanentPlatformError
from core.platforms.base import PublishRequest
from core.platforms.linkedin.uploads import upload_single, upload_video

if TYPE_CHECKING:
    from core.platforms.linkedin import LinkedInConnector


def post_content(li: LinkedInConnector, request: PublishRequest, author: str, token: str
                 ) -> dict[str, Any] | None:
    if request.post_type == "text":
        return None
    if request.post_type == "link":
        return {"article": _article(li, request)}
    kinds = request.kinds
    if kinds == ["document"]:
        url = request.media_urls[0]
        urn = upload_single(li, "documents", url, "document", author, token)
        title = request.title or urlsplit(url).path.rsplit("/", 1)[-1] or "document.pdf"
        return {"media": {"id": urn, "title": title}}
    if request.post_type == "video":
        if kinds != ["video"]:
            raise PermanentPlatformError(li.platform, "a LinkedIn video post takes exactly "
                                         "one video")
        media: dict[str, Any] = {"id": upload_video(li, request.media_urls[0], author, token)}
        if request.title:
            media["title"] = request.title
        return {"media": media}
    if any(kind not in ("image", "gif") for kind in kinds):
        raise PermanentPlatformError(li.platform, "LinkedIn image posts take only images; "
                                     "videos and documents cannot be mixed with them")
    alts = list(request.options.get("alt_texts") or [])
    images = []
    for index, url in enumerate(request.media_urls):
        image: dict[str, Any] = {"id": upload_single(li, "images", url, "image", author, token)}
        if index < len(alts) and alts[index]:
            image["altText"] = str(alts[index])
        images.append(image)
    return {"media": images[0]} if len(images) == 1 else {"multiImage": {"images": images}}


def _article(li: LinkedInConnector, request: PublishRequest) -> dict[str, Any]:
    link = request.options.get("link") or _first_url(request.text)
    if not link:
        raise PermanentPlatformError(li.platform, "a link post needs a URL in the text or "
                                     "options['link']")
    parts = urlsplit(str(link))
    article = {"source": str(link), "title": request.title or request.options.get(
        "link_title") or (parts.netloc + parts.path).rstrip("/")}
    if request.options.get("link_description"):
        article["description"] = str(request.options["link_description"])
    return article


def _first_url(text: str) -> str | None:
    found = re.search(r"https?://\S+", text)
    return found.group(0).rstrip(".,;:!?)") if found else None
