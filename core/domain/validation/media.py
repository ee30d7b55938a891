"""Media and post-type checks: media addresses and kinds (post-wide), then each network's count,
kind, mixing and image-format rules for the chosen post type, and post types it does not publish."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from core.domain.platforms import POST_TYPES, platform_name
from core.domain.rules import RULES, MediaRule, image_format, kind_noun, media_kind, or_list
from core.domain.validation.content import PostContent
from core.errors import Problem

# --- post-wide media checks ------------------------------------------------------------------


def is_https_url(url: object) -> bool:
    """An absolute https URL with a host and no whitespace or control characters."""
    if not isinstance(url, str) or not url or any(c.isspace() or ord(c) < 32 for c in url):
        return False
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return False
    return parts.scheme.lower() == "https" and bool(parts.hostname)


def _media_url_problems(post: PostContent) -> list[Problem]:
    problems: list[Problem] = []
    for index, url in enumerate(post.media_urls):
        where = f"media_urls[{index}]"
        if not is_https_url(url):
            problems.append(Problem(where, "invalid_url",
                                    f"Media {index + 1} must be a full https:// address "
                                    f"(got {str(url)[:80]!r}). Upload it or use a secure link.",
                                    actual=url))
            continue
        declared = _declared_kind(post, url)
        if media_kind(url, declared) == "unknown":
            given = f"its declared kind {declared!r} is not" if declared else "its address is not"
            problems.append(Problem(where, "unknown_media_kind",
                                    f"Herald can't tell what media {index + 1} is: {given} "
                                    "recognised. Use a file ending in .jpg, .png, .webp, .gif, "
                                    ".mp4 or .mov, or set its kind to image, gif or video.",
                                    actual=declared or url))
    return problems


def _declared_kind(post: PostContent, url: str) -> str | None:
    kinds = post.media_kinds if isinstance(post.media_kinds, Mapping) else {}
    declared = kinds.get(url)
    return declared if isinstance(declared, str) and declared.strip() else None


# --- per-platform media checks ---------------------------------------------------------------


_TYPE_NOUNS = {"text": "text posts", "link": "link posts", "image": "image posts",
               "video": "video posts", "carousel": "carousels", "story": "stories",
               "reel": "reels"}


def _unsupported(platform: str, post_type: str) -> Problem:
    name = platform_name(platform)
    accepted = [t for t in POST_TYPES if t in RULES[platform].post_types]
    return Problem("post_type", "unsupported_post_type",
                   f"{name} doesn't publish {_TYPE_NOUNS[post_type]}; it takes "
                   f"{or_list(accepted)} posts. Choose one of those, or remove {name} "
                   "from this post.",
                   platform=platform, actual=post_type)


def _media_problems(
    post: PostContent, platform: str, post_type: str, rule: MediaRule
) -> list[Problem]:
    name, noun = platform_name(platform), _TYPE_NOUNS[post_type]
    takes = f"{name} {noun} take {rule.describe()}"
    count = len(post.media_urls)
    problems: list[Problem] = []
    if count < rule.min_count:
        problems.append(Problem("media_urls", "too_few_media",
                                f"{takes}; this post has {count}. Add "
                                f"{rule.min_count - count} more.",
                                platform=platform, limit=rule.min_count, actual=count))
    if count > rule.max_count:
        fix = ("choose a post type that takes media, or remove the media" if rule.max_count == 0
               else f"remove {count - rule.max_count}")
        problems.append(Problem("media_urls", "too_many_media",
                                f"{takes}; this post has {count}. {fix[0].upper()}{fix[1:]}.",
                                platform=platform, limit=rule.max_count, actual=count))
    if rule.max_count == 0:
        return problems  # the count problem says it all; no point judging each file's kind
    fitting: set[str] = set()
    for index, url in enumerate(post.media_urls):
        kind = media_kind(url, _declared_kind(post, url)) if isinstance(url, str) else "unknown"
        if kind == "unknown":
            continue  # already reported as unknown_media_kind or invalid_url
        if kind not in rule.kinds:
            problems.append(Problem(f"media_urls[{index}]", "wrong_media_kind",
                                    f"{takes}; media {index + 1} is {kind_noun(kind)}. Remove "
                                    "it or choose another post type.", platform=platform,
                                    limit=sorted(rule.kinds), actual=kind))
            continue
        fitting.add(kind)
        problems.extend(_format_problems(post, platform, rule, index, url, kind))
    if not rule.mixing and len(fitting) > 1:
        problems.append(Problem("media_urls", "mixed_media",
                                f"{name} can't mix {' and '.join(sorted(fitting))} in one post; "
                                "keep one kind, or split it into two posts.",
                                platform=platform, actual=sorted(fitting)))
    return problems


def _format_problems(
    post: PostContent, platform: str, rule: MediaRule, index: int, url: str, kind: str
) -> list[Problem]:
    if rule.image_formats is None or kind != "image":
        return []
    found = image_format(url, _declared_kind(post, url))
    if found == "unknown" or found in rule.image_formats:
        return []  # an unrecognised format is left for the network to judge
    allowed = or_list(sorted(f.upper() for f in rule.image_formats))
    return [Problem(f"media_urls[{index}]", "unsupported_media_format",
                    f"{platform_name(platform)} only takes {allowed} photos; media {index + 1} is "
                    f"{found.upper()}. Convert it to {allowed}.",
                    platform=platform, limit=sorted(rule.image_formats), actual=found)]
