"""Turning what a user typed (a dict from a form, the API or bulk CSV) into a checked post.

Every problem is collected and reported at once; nothing is saved unless all of them pass.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.db.models import Org
from core.domain.platforms import normalize_platforms
from core.domain.rules import media_kind
from core.domain.text import normalize_text
from core.domain.timezones import format_local, resolve_user_time
from core.domain.validation import PostContent, validate_post
from core.errors import Problem, ValidationFailed

POST_FIELDS = (
    "title", "content", "media_urls", "media_metadata", "post_type", "platforms",
    "platform_specific_content", "platform_options", "hashtags", "mentions", "location_tag",
    "content_library_id", "scheduled_at",
)
# Changing any of these changes what goes out, so an approved post must be approved again.
CONTENT_FIELDS = (
    "title", "content", "media_urls", "media_metadata", "post_type", "platforms",
    "platform_specific_content", "platform_options", "hashtags", "mentions",
)


@dataclass
class CheckedPost:
    values: dict[str, Any]
    scheduled_at: datetime | None = None
    notes: list[str] = field(default_factory=list)


def _str_list(data: dict[str, Any], key: str, problems: list[Problem]) -> list[str]:
    raw = data.get(key) or []
    if isinstance(raw, str):
        raw = [part for part in raw.replace(",", " ").split() if part]
    if not isinstance(raw, list | tuple) or not all(isinstance(x, str) for x in raw):
        problems.append(Problem(field=key, code="invalid", message=f"{key} must be a list of text values"))
        return []
    return [x.strip() for x in raw if x.strip()]


def _str_dict(data: dict[str, Any], key: str, problems: list[Problem]) -> dict[str, Any]:
    raw = data.get(key) or {}
    if not isinstance(raw, dict):
        problems.append(Problem(field=key, code="invalid", message=f"{key} must be an object keyed by network"))
        return {}
    return dict(raw)


def _known_platforms(raw: Any) -> list[str]:
    known: list[str] = []
    for name in raw if isinstance(raw, list | tuple) else []:
        try:
            known.extend(p for p in normalize_platforms([name]) if p not in known)
        except (ValidationFailed, AttributeError, TypeError):
            continue
    return known


def infer_post_type(media_urls: list[str], media_metadata: dict[str, Any]) -> str:
    kinds = [media_kind(u, _declared(media_metadata, u)) for u in media_urls]
    if not kinds:
        return "text"
    if len(kinds) == 1:
        return "video" if kinds[0] in ("video", "gif") else "image"
    return "carousel"


def _declared(media_metadata: dict[str, Any], url: str) -> str | None:
    meta = media_metadata.get(url)
    if isinstance(meta, dict):
        return meta.get("kind")
    return meta if isinstance(meta, str) else None


def check_post(data: dict[str, Any], org: Org, *, now: datetime, require_time: bool = False) -> CheckedPost:
    """Validate and normalise a whole post; raise ValidationFailed listing every problem."""
    problems: list[Problem] = []
    unknown = sorted(set(data) - set(POST_FIELDS) - {"force", "submit_for_approval"})
    for key in unknown:
        problems.append(Problem(field=key, code="unknown_field", message=f"'{key}' is not a post field"))

    content = data.get("content")
    if content is not None and not isinstance(content, str):
        problems.append(Problem(field="content", code="invalid", message="content must be text"))
        content = ""
    content = normalize_text(content or "")
    title = data.get("title")
    title = normalize_text(title) if isinstance(title, str) and title.strip() else None

    platforms: list[str] = []
    raw_platforms = data.get("platforms")
    if isinstance(raw_platforms, str):
        raw_platforms = [p for p in raw_platforms.replace(",", " ").split() if p]
    try:
        platforms = list(normalize_platforms(raw_platforms or []))
    except ValidationFailed as exc:
        problems.extend(exc.problems)
        # Keep checking the networks we do know, so every problem is reported at once.
        platforms = _known_platforms(raw_platforms)

    media_urls = _str_list(data, "media_urls", problems)
    media_metadata = _str_dict(data, "media_metadata", problems)
    hashtags = _str_list(data, "hashtags", problems)
    mentions = _str_list(data, "mentions", problems)
    overrides = {
        k: normalize_text(v) for k, v in _str_dict(data, "platform_specific_content", problems).items()
        if isinstance(v, str) and v.strip()
    }
    options = _str_dict(data, "platform_options", problems)
    post_type = (data.get("post_type") or "").strip().lower() or infer_post_type(media_urls, media_metadata)

    if platforms:
        spec = PostContent(
            content=content, post_type=post_type, platforms=tuple(platforms),
            media_urls=tuple(media_urls),
            media_kinds={u: k for u in media_urls if (k := _declared(media_metadata, u))},
            hashtags=tuple(hashtags), mentions=tuple(mentions), title=title,
            platform_specific_content=overrides, platform_options=options,
        )
        problems.extend(validate_post(spec, blocked_terms=tuple(org.blocked_terms or ())))
    elif not content.strip():
        problems.append(Problem(field="content", code="required", message="Write the post's text"))

    checked = CheckedPost(values={
        "title": title, "content": content, "media_urls": media_urls,
        "media_metadata": media_metadata, "post_type": post_type, "platforms": platforms,
        "platform_specific_content": overrides, "platform_options": options,
        "hashtags": hashtags, "mentions": mentions,
        "location_tag": (data.get("location_tag") or None),
    })
    library_id = data.get("content_library_id")
    if library_id:
        try:
            checked.values["content_library_id"] = uuid.UUID(str(library_id))
        except ValueError:
            problems.append(Problem(field="content_library_id", code="invalid",
                                    message="content_library_id is not a library item id"))

    when = data.get("scheduled_at")
    if when not in (None, ""):
        problems.extend(_check_time(when, org, now, checked))
    elif require_time:
        problems.append(Problem(field="scheduled_at", code="required", message="Pick a date and time to publish"))

    if problems:
        raise ValidationFailed(problems)
    return checked


def _check_time(value: Any, org: Org, now: datetime, checked: CheckedPost) -> list[Problem]:
    try:
        resolved = resolve_user_time(value, org.timezone)
    except ValidationFailed as exc:
        return exc.problems
    if resolved.note:
        checked.notes.append(resolved.note)
    if resolved.utc <= now:
        return [Problem(
            field="scheduled_at", code="in_past",
            message=f"{format_local(resolved.utc, org.timezone)} is in the past; pick a time after now",
            actual=resolved.utc.isoformat(),
        )]
    checked.scheduled_at = resolved.utc
    return []


def check_time(value: Any, org: Org, now: datetime) -> CheckedPost:
    """Just a scheduled time (for reschedule), with the same rules and notes."""
    checked = CheckedPost(values={})
    if value in (None, ""):
        raise ValidationFailed([Problem(field="scheduled_at", code="required",
                                        message="Pick a date and time to publish")])
    problems = _check_time(value, org, now, checked)
    if problems:
        raise ValidationFailed(problems)
    return checked
