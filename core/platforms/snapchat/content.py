"""What a post becomes on Snapchat and how it is named: the kind of content (story, saved story,
Spotlight), the media's name that ``find_existing`` looks for, the Public Profile posted to and
the content's link."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.platforms.base import AccountCredentials, PublishRequest

WEB = "https://www.snapchat.com"


def content_kind(request: PublishRequest) -> str | None:
    """``story`` (a ``story`` without a title), ``saved_story`` (with one), ``spotlight``
    (``reel`` or ``video``), else ``None``."""
    if request.post_type == "story":
        return "saved_story" if (request.title or "").strip() else "story"
    if request.post_type in ("reel", "video"):
        return "spotlight"
    return None


def plural(kind: str) -> str:
    return {"story": "stories", "saved_story": "saved_stories", "spotlight": "spotlights"}[kind]


def media_name(request: PublishRequest) -> str:
    return f"herald-{request.idempotency_key or request.post_id}"


def profile_id(account: AccountCredentials) -> str:
    return str(account.extra.get("profile_id") or account.external_account_id)


def content_url(kind: str, content_id: str, account: AccountCredentials,
                item: Mapping[str, Any]) -> str:
    """The link the API gives, else Spotlight's own page or the profile (where stories show)."""
    given = item.get("share_url") or item.get("url")
    if isinstance(given, str) and given.startswith("https://"):
        return given
    if kind == "spotlight":
        return f"{WEB}/spotlight/{content_id}"
    return f"{WEB}/add/{account.username.lstrip('@')}"
