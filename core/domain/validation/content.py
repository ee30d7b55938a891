"""What Herald publishes and what each network receives of it: ``PostContent``, the text and
title sent to one platform, and the per-platform overrides and options they are read from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.domain.platforms import platform_key
from core.domain.rules import RULES
from core.domain.text import compose_text, normalize_text


@dataclass(frozen=True)
class PostContent:
    """What Herald publishes, independent of how it is stored."""

    content: str
    post_type: str
    platforms: tuple[str, ...]
    media_urls: tuple[str, ...] = ()
    media_kinds: Mapping[str, str] = field(default_factory=dict)  # url -> declared kind or MIME
    hashtags: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    title: str | None = None
    platform_specific_content: Mapping[str, str] = field(default_factory=dict)
    platform_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


# --- what each platform receives -------------------------------------------------------------


def _for_platform(mapping: object, platform: str) -> Any:
    """The value a per-platform mapping holds for ``platform`` (keys may be aliases like 'x')."""
    if not isinstance(mapping, Mapping):
        return None
    for key, value in mapping.items():
        if platform_key(key) == platform:
            return value
    return None


def _override(post: PostContent, platform: str) -> str | None:
    """The platform-specific text, when one is set and not blank."""
    value = _for_platform(post.platform_specific_content, platform)
    if isinstance(value, str) and value.strip():
        return value
    return None


def _base_text(post: PostContent, platform: str) -> str:
    text = _override(post, platform)
    return normalize_text(text if text is not None else str(post.content or ""))


def text_for_platform(post: PostContent, platform: str) -> str:
    """The text sent to ``platform``: its override (else the content), normalised, with the
    post's hashtags appended after a blank line (those not already in the text)."""
    platform = platform_key(platform)
    hashtags = [normalize_text(tag) for tag in post.hashtags if isinstance(tag, str)]
    return normalize_text(compose_text(_base_text(post, platform), hashtags))


def _one_line(text: str) -> str:
    return " ".join(normalize_text(text).split())


def title_for_platform(post: PostContent, platform: str) -> str | None:
    """The title sent to ``platform``, or ``None`` when it takes no title for this post type.

    A required title (YouTube) falls back to the first non-blank line of the text.
    """
    platform = platform_key(platform)
    rules = RULES.get(platform)
    rule = rules.title_rule(_post_type(post)) if rules is not None else None
    if rule is None:
        return None
    if isinstance(post.title, str) and post.title.strip():
        return _one_line(post.title)
    if not rule.required:
        return None
    lines = (line for line in _base_text(post, platform).splitlines() if line.strip())
    return _one_line(next(lines, ""))


def _post_type(post: PostContent) -> str:
    return str(post.post_type or "").strip().lower()


def _options(post: PostContent, platform: str) -> Mapping[str, Any]:
    value = _for_platform(post.platform_options, platform)
    return value if isinstance(value, Mapping) else {}
