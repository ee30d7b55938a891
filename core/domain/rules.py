"""What each network accepts: text limits and how they are counted, tag caps, titles, and per
post type the media it takes. Values come from ``PLATFORMS.md``; where that reference marks a
conflict, the official or the more conservative value is used, and each value names its source.

Counting: X counts weighted characters (twitter-text). Where a network documents a limit in
"characters" without saying how emoji count, Herald counts UTF-16 code units: that is how the
schedulers that call these APIs (postiz, JavaScript ``length``) enforce them, and it is never
more lenient than counting code points.

Snapchat is published through the Public Profile API (Snap Marketing API), which only allowlisted
apps may call, and only for Public Profiles; its limits are third-party reports (unconfirmed).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal
from urllib.parse import unquote, urlsplit

from core.domain.platforms import POST_TYPES, normalize_platform
from core.domain.text import codepoint_length, utf8_length, utf16_length, x_weighted_length

Counting = Literal["weighted_x", "codepoints", "utf16", "utf8_bytes"]

COUNTERS: Mapping[str, Callable[[str], int]] = MappingProxyType(
    {
        "weighted_x": x_weighted_length,
        "codepoints": codepoint_length,
        "utf16": utf16_length,
        "utf8_bytes": utf8_length,
    }
)

MEDIA_KINDS: tuple[str, ...] = ("image", "gif", "video", "document", "unknown")
_KIND_NOUNS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {"image": ("image", "images"), "gif": ("GIF", "GIFs"), "video": ("video", "videos"),
     "document": ("document", "documents"), "unknown": ("file", "files")}
)


def kind_noun(kind: str) -> str:
    """'an image', 'a GIF', 'a video' ..."""
    noun = _KIND_NOUNS.get(kind, _KIND_NOUNS["unknown"])[0]
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def or_list(items: Sequence[str]) -> str:
    """'a', 'a or b', 'a, b or c'."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


@dataclass(frozen=True)
class TextRule:
    """A limit on one piece of text: the body (caption, commentary, description) or a title."""

    limit: int
    counting: Counting
    name: str  # what the network calls it, for messages: "caption", "title", ...
    field: str = "content"  # the Herald input field a problem points at
    required: bool = False
    forbidden_chars: str = ""

    def length(self, text: str) -> int:
        return COUNTERS[self.counting](text)


@dataclass(frozen=True)
class MediaRule:
    """What one post type takes on one network."""

    kinds: frozenset[str]
    min_count: int
    max_count: int
    mixing: bool = False  # may one post combine several of ``kinds``?
    image_formats: frozenset[str] | None = None  # None: any image format the network takes
    text: TextRule | None = None  # replaces the network's body rule for this post type
    title: TextRule | None = None  # an optional title specific to this post type
    published_as: str = ""  # how Herald publishes it, when the network calls it something else

    def describe(self) -> str:
        """What the post type takes, for people: '1 video or GIF', '2-10 images or videos'."""
        if self.max_count == 0:
            return "no media"
        plural = self.max_count > 1
        nouns = [_KIND_NOUNS[k][plural] for k in ("image", "gif", "video") if k in self.kinds]
        count = (str(self.min_count) if self.min_count == self.max_count
                 else f"{self.min_count}-{self.max_count}")
        return f"{count} {or_list(nouns)}"


@dataclass(frozen=True)
class PlatformRules:
    platform: str
    text: TextRule
    post_types: Mapping[str, MediaRule]
    max_hashtags: int | None = None
    max_mentions: int | None = None
    max_cashtags: int | None = None
    title: TextRule | None = None  # a title every post type needs (YouTube)
    threads: bool = False  # accepts ``options["thread"]``: extra posts chained as replies
    notes: str = ""

    def __post_init__(self) -> None:
        # Frozen all the way down: the table is shared by every request.
        object.__setattr__(self, "post_types", MappingProxyType(dict(self.post_types)))

    @property
    def text_limit(self) -> int:
        return self.text.limit

    @property
    def text_counting(self) -> Counting:
        return self.text.counting

    def media_rule(self, post_type: str) -> MediaRule | None:
        return self.post_types.get(post_type)

    def text_rule(self, post_type: str) -> TextRule:
        rule = self.post_types.get(post_type)
        return rule.text if rule is not None and rule.text is not None else self.text

    def title_rule(self, post_type: str) -> TextRule | None:
        rule = self.post_types.get(post_type)
        if rule is not None and rule.title is not None:
            return rule.title
        return self.title


def _media(
    kinds: str,
    min_count: int,
    max_count: int | None = None,
    *,
    mixing: bool = False,
    title: TextRule | None = None,
    published_as: str = "",
) -> MediaRule:
    return MediaRule(
        kinds=frozenset(kinds.split()),
        min_count=min_count,
        max_count=min_count if max_count is None else max_count,
        mixing=mixing,
        title=title,
        published_as=published_as,
    )


def _tiktok_photos(min_count: int, max_count: int) -> MediaRule:
    return MediaRule(
        kinds=frozenset({"image"}),
        min_count=min_count,
        max_count=max_count,
        image_formats=frozenset({"jpeg", "webp"}),  # "JPEG/WEBP (no PNG)", TikTok Photo doc
        # Photo posts: title 90, description 4,000 (TikTok Photo post_info).
        text=TextRule(4000, "utf16", "photo description"),
        title=TextRule(90, "utf16", "photo title", field="title"),
        published_as="a photo post",
    )


_NO_MEDIA = MediaRule(kinds=frozenset(), min_count=0, max_count=0)
_ONE_IMAGE_OR_VIDEO = _media("image video", 1)
_ONE_VIDEO = _media("video", 1)
_SPOTLIGHT = _media("video", 1, published_as="a Spotlight video")

_RULES: dict[str, PlatformRules] = {
    "facebook": PlatformRules(
        platform="facebook",
        # 63,206: postiz maxLength (unconfirmed as official; no stricter value known).
        text=TextRule(63206, "utf16", "post"),
        post_types={
            "text": _NO_MEDIA,
            "link": _NO_MEDIA,
            # 10 photos: mixpost's default; the platform maximum is unconfirmed.
            "image": _media("image", 1, 10),
            "carousel": _media("image", 2, 10, published_as="a multi-photo post"),
            "video": _ONE_VIDEO,
            "reel": _ONE_VIDEO,
            "story": _ONE_IMAGE_OR_VIDEO,
        },
        notes="Pages only; photos and a video cannot share a post (mixpost allow_mixing=false).",
    ),
    "instagram": PlatformRules(
        platform="instagram",
        text=TextRule(2200, "utf16", "caption"),  # postiz/mixpost maxLength
        # 30 hashtags / 20 @-tags: long-standing limits; a 5-hashtag cap is unconfirmed.
        max_hashtags=30,
        max_mentions=20,
        post_types={
            "image": _media("image", 1),
            # Every single video has published as a reel since 2023-07-01.
            "video": _media("video", 1, published_as="a reel"),
            "reel": _ONE_VIDEO,
            # 2-10 items (postiz/mixpost); 20 reported by some, unconfirmed.
            "carousel": _media("image video", 2, 10, mixing=True),
            "story": _ONE_IMAGE_OR_VIDEO,
        },
        notes="Business or creator accounts only; no text-only posts.",
    ),
    "twitter": PlatformRules(
        platform="twitter",
        # 280 weighted characters (X "Counting Characters"); premium lengths are not assumed.
        text=TextRule(280, "weighted_x", "post"),
        max_cashtags=1,  # postiz error text
        threads=True,
        post_types={
            "text": _NO_MEDIA,
            "link": _NO_MEDIA,
            # Up to 4 photos, or 1 GIF, or 1 video (docs.x.com media).
            "image": _media("image", 1, 4),
            "carousel": _media("image", 2, 4, published_as="a post with several photos"),
            "video": _media("video gif", 1),
        },
    ),
    "linkedin": PlatformRules(
        platform="linkedin",
        text=TextRule(3000, "utf16", "commentary"),  # postiz/mixpost
        post_types={
            "text": _NO_MEDIA,
            "link": _NO_MEDIA,
            "image": _media("image gif", 1),  # JPG/PNG/GIF
            # multiImage takes 2-20 images (LinkedIn "MultiImage API").
            "carousel": _media("image", 2, 20, published_as="a multi-image post"),
            "video": _ONE_VIDEO,
        },
    ),
    "tiktok": PlatformRules(
        platform="tiktok",
        # Video caption (post_info.title): 2,200 counted in UTF-16 (Direct Post reference).
        text=TextRule(2200, "utf16", "caption"),
        post_types={
            "video": _ONE_VIDEO,
            "reel": _ONE_VIDEO,
            # Photo posts take 1-35 images, so a single image is a one-photo post.
            "image": _tiktok_photos(1, 1),
            "carousel": _tiktok_photos(1, 35),
        },
        notes="Unaudited apps can only post privately (SELF_ONLY).",
    ),
    "youtube": PlatformRules(
        platform="youtube",
        # Description: 5,000 bytes, no '<' '>' (videos.insert, invalidDescription).
        text=TextRule(5000, "utf8_bytes", "description", field="description", forbidden_chars="<>"),
        # Title: 1-100 characters, no '<' '>' (videos.insert, invalidTitle).
        title=TextRule(100, "utf16", "title", field="title", required=True, forbidden_chars="<>"),
        post_types={
            "video": _ONE_VIDEO,
            # Shorts use the same upload; YouTube classifies them by aspect ratio and duration.
            "reel": _media("video", 1, published_as="a Short"),
        },
        notes="Uploads from unaudited API projects stay private.",
    ),
    "snapchat": PlatformRules(
        platform="snapchat",
        # Spotlight description: 160 characters including hashtags (third-party, unconfirmed).
        # No limit is published for stories, so the same conservative one applies to all types.
        text=TextRule(160, "utf16", "description"),
        post_types={
            # A story with a title is published as a Saved Story (permanent); title <= 45.
            "story": _media(
                "image video", 1, title=TextRule(45, "utf16", "Saved Story title", field="title")
            ),
            "reel": _SPOTLIGHT,
            "video": _SPOTLIGHT,
        },
        notes=(
            "Public Profile API (Snap Marketing API): allowlisted apps only, Public Profiles only. "
            "One media item per post; no text-only posts or carousels."
        ),
    ),
}

RULES: Mapping[str, PlatformRules] = MappingProxyType(_RULES)
"""Rules per platform key. Snapchat publishing goes through the Public Profile API, which only
allowlisted apps may call, and only for Public Profiles."""


def rules_for(platform: str) -> PlatformRules:
    """Rules of a platform (alias accepted); raises ``ValidationFailed`` for an unknown name."""
    return RULES[normalize_platform(platform)]


def supported_post_types(platform: str) -> tuple[str, ...]:
    """Post types the platform accepts, in the order of ``POST_TYPES``."""
    accepted = rules_for(platform).post_types
    return tuple(post_type for post_type in POST_TYPES if post_type in accepted)


def count_length(text: str, counting: Counting) -> int:
    return COUNTERS[counting](text)


def text_length(platform: str, text: str) -> int:
    """Length of ``text`` as the platform counts its post body."""
    return rules_for(platform).text.length(text)


# --- media -----------------------------------------------------------------------------------

_EXTENSION_KINDS: Mapping[str, str] = MappingProxyType(
    {
        **dict.fromkeys(("jpg", "jpeg", "png", "webp", "heic", "heif"), "image"),
        "gif": "gif",
        **dict.fromkeys(("mp4", "mov", "m4v", "webm"), "video"),
        **dict.fromkeys(("pdf", "ppt", "pptx", "doc", "docx"), "document"),
    }
)
_IMAGE_FORMATS: Mapping[str, str] = MappingProxyType(
    {"jpg": "jpeg", "jpeg": "jpeg", "png": "png", "webp": "webp", "gif": "gif",
     "heic": "heic", "heif": "heic"}
)
_DOCUMENT_MIME_TYPES = ("application/pdf", "application/vnd.ms-powerpoint", "application/msword",
                        "application/vnd.openxmlformats-officedocument")


def _extension(url: str) -> str:
    """Lower-case extension of the URL's path (query string and fragment ignored)."""
    try:
        path = urlsplit(url).path
    except ValueError:  # e.g. an unbalanced '[' in the host
        return ""
    _, ext = posixpath.splitext(posixpath.basename(unquote(path)))
    return ext[1:].lower()


def _kind_from_declared(declared: str) -> str | None:
    value = declared.strip().lower()
    if value in MEDIA_KINDS and value != "unknown":
        return value
    # Accept MIME types too: "image/gif", "video/mp4", "application/pdf".
    if value == "image/gif":
        return "gif"
    if value.startswith("image/"):
        return "image"
    if value.startswith("video/"):
        return "video"
    if value.startswith(_DOCUMENT_MIME_TYPES):
        return "document"
    return None


def media_kind(url: str, declared: str | None = None) -> str:
    """One of ``MEDIA_KINDS``: the declared kind (or MIME type) when it is recognised, else the
    kind implied by the URL path's extension, else ``"unknown"``."""
    if declared:
        kind = _kind_from_declared(declared)
        if kind is not None:
            return kind
    return _EXTENSION_KINDS.get(_extension(url), "unknown")


def image_format(url: str, declared: str | None = None) -> str:
    """Image format from a declared MIME type (``image/png``) or the URL's extension:
    ``"jpeg"``, ``"png"``, ``"webp"``, ``"gif"``, ``"heic"``, or ``"unknown"``."""
    if declared and declared.strip().lower().startswith("image/"):
        subtype = declared.strip().lower().removeprefix("image/")
        return _IMAGE_FORMATS.get(subtype, subtype or "unknown")
    return _IMAGE_FORMATS.get(_extension(url), "unknown")
