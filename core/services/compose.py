"""The composer's live checks: what each network will receive, its length against the limit, and
every problem, computed from what is typed so far. Pure (no database): the same domain rules the
scheduling service applies when it saves, so what the form shows is what saving will say.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from typing import Any
from urllib.parse import urlsplit

from core.domain.platforms import PLATFORM_NAMES, POST_TYPES, split_platforms
from core.domain.posts import ApprovalStatus
from core.domain.rules import RULES, media_kind
from core.domain.text import normalize_text
from core.domain.timezones import local_to_utc
from core.domain.validation import PostContent, text_for_platform, title_for_platform, validate_post
from core.errors import InvalidTransition, Problem

SANDBOX_MEDIA_PREFIX = "https://sandbox.herald.local/media/"
_UNIT_NAMES = {"weighted_x": "weighted characters", "utf16": "characters",
               "utf8_bytes": "bytes", "codepoints": "characters"}


def split_list(text: str | None) -> list[str]:
    """Values typed one per line or separated by commas/spaces (URLs, hashtags, mentions)."""
    return [part for part in (text or "").replace(",", " ").split() if part]


@dataclass(frozen=True)
class Draft:
    """The composer's form, as typed."""

    content: str = ""
    platforms: tuple[str, ...] = ()
    post_type: str = ""  # "" = infer from the media, as saving does
    title: str = ""
    media_urls: tuple[str, ...] = ()
    hashtags: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    variants: dict[str, str] = field(default_factory=dict)  # platform -> override text

    def effective_post_type(self) -> str:
        if self.post_type:
            return self.post_type
        kinds = [media_kind(u) for u in self.media_urls]
        if not kinds:
            return "text"
        if len(kinds) == 1:
            return "video" if kinds[0] in ("video", "gif") else "image"
        return "carousel"

    def overrides(self) -> dict[str, str]:
        return {p: normalize_text(t) for p, t in self.variants.items()
                if p in self.platforms and t and t.strip()}

    def as_content(self) -> PostContent:
        return PostContent(
            content=normalize_text(self.content), post_type=self.effective_post_type(),
            platforms=self.platforms, media_urls=self.media_urls, hashtags=self.hashtags,
            mentions=self.mentions, title=self.title.strip() or None,
            platform_specific_content=self.overrides(),
        )

    def as_post_data(self, scheduled_at: datetime | None = None) -> dict[str, Any]:
        """The dict ``SchedulingService.schedule_post`` / ``update_post`` take."""
        data: dict[str, Any] = {
            "title": self.title.strip() or None, "content": self.content,
            "platforms": list(self.platforms), "post_type": self.post_type or None,
            "media_urls": list(self.media_urls), "hashtags": list(self.hashtags),
            "mentions": list(self.mentions), "platform_specific_content": self.overrides(),
        }
        if scheduled_at is not None:
            data["scheduled_at"] = scheduled_at
        return data


@dataclass(frozen=True)
class NetworkCheck:
    """One network's view of the draft: the text it receives, its length and the problems."""

    platform: str
    name: str
    text: str
    title: str | None
    length: int
    limit: int
    unit: str
    has_variant: bool
    problems: list[Problem]

    @property
    def over_by(self) -> int:
        return max(0, self.length - self.limit)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class DraftCheck:
    general: list[Problem]  # problems of the post as a whole (no platform)
    networks: dict[str, NetworkCheck]

    @property
    def problem_count(self) -> int:
        return len(self.general) + sum(len(n.problems) for n in self.networks.values())

    @property
    def ok(self) -> bool:
        return self.problem_count == 0


def check_draft(draft: Draft, *, blocked_terms: tuple[str, ...] | list[str] = ()) -> DraftCheck:
    """Every problem of the draft, split per network, plus each network's text and counter."""
    post = draft.as_content()
    known, _ = split_platforms(draft.platforms)
    problems = validate_post(post, blocked_terms=tuple(blocked_terms)) if known else _general_only(draft)
    post_type = post.post_type if post.post_type in POST_TYPES else "text"
    networks: dict[str, NetworkCheck] = {}
    for platform in known:
        rule = RULES[platform].text_rule(post_type)
        text = text_for_platform(post, platform)
        networks[platform] = NetworkCheck(
            platform=platform, name=PLATFORM_NAMES.get(platform, platform), text=text,
            title=title_for_platform(post, platform), length=rule.length(text), limit=rule.limit,
            unit=_UNIT_NAMES[rule.counting], has_variant=platform in post.platform_specific_content,
            problems=[p for p in problems if p.platform == platform],
        )
    return DraftCheck([p for p in problems if p.platform is None], networks)


def _general_only(draft: Draft) -> list[Problem]:
    found: list[Problem] = [Problem("platforms", "required", "Choose at least one network to post to.")]
    if not normalize_text(draft.content):
        found.append(Problem("content", "required", "Write the post's text; it can't be empty or only spaces."))
    return found


# --- times ---------------------------------------------------------------------------------


def local_schedule_time(day: date | None, at: time | None, timezone: str) -> datetime | None:
    """The aware UTC instant of a date + time picked in the org's timezone (``None`` if either is
    missing). A time inside a DST gap raises ``ValidationFailed`` naming the jump."""
    if day is None or at is None:
        return None
    return local_to_utc(datetime.combine(day, at), timezone)


# --- publish now ---------------------------------------------------------------------------


def publish_now_refusal(*, approval_required: bool, approval_status: str | None, status: str = "draft") -> InvalidTransition | None:
    """Why "publish now" would be refused for a post in this approval state, before anything is
    saved: the same rule and wording as ``PublishingService.publish_post``. ``approval_status``
    ``None`` means a post not saved yet (it would start as not submitted)."""
    current = approval_status or ApprovalStatus.NOT_SUBMITTED.value
    if approval_required and current != ApprovalStatus.APPROVED:
        return InvalidTransition("post", status, "publishing",
                                 "it needs approval first (approve it, then publish)")
    return None


# --- media ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MediaPreview:
    url: str
    kind: str  # image | gif | video | document | unknown
    name: str
    is_sandbox: bool  # served by Herald's sandbox, which a browser cannot load


def media_previews(urls: tuple[str, ...] | list[str]) -> list[MediaPreview]:
    previews = []
    for url in urls:
        path = urlsplit(url).path if "://" in url else url
        previews.append(MediaPreview(url, media_kind(url), path.rsplit("/", 1)[-1] or url,
                                     url.startswith(SANDBOX_MEDIA_PREFIX)))
    return previews


def draft_from_post(post: Any) -> Draft:
    """The form's values for a saved post (a ``PostView``), to edit it or to tell what changed."""
    return Draft(
        content=post.content or "", platforms=tuple(post.platforms), post_type=post.post_type or "",
        title=post.title or "", media_urls=tuple(post.media_urls), hashtags=tuple(post.hashtags),
        mentions=tuple(post.mentions),
        variants={p: t for p, t in post.platform_specific_content.items() if t and t.strip()},
    )


def same_content(draft: Draft, saved: Draft) -> bool:
    """True when saving ``draft`` would not change what goes out (hence not the approval)."""
    def normal(d: Draft) -> dict[str, Any]:
        return replace(d, post_type=d.effective_post_type()).as_post_data()

    return normal(draft) == normal(saved)
