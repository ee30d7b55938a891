"""Content library: reusable templates, media and hashtag sets, with usage counts."""

from __future__ import annotations

import builtins
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select

from core.db.models import ContentLibraryItem, Org
from core.domain.text import normalize_text
from core.errors import Forbidden, Problem, ValidationFailed
from core.services.base import Service, audit, get_owned, load_org
from core.services.context import Actor

CONTENT_TYPES = ("text", "image", "video", "template", "hashtag_set")
PLACEHOLDER_RE = re.compile(r"\[([A-Z][A-Z0-9_]*)\]")
LIBRARY_FIELDS = ("title", "content_type", "category", "content", "media_urls", "metadata", "hashtags")


@dataclass(frozen=True)
class LibraryItemView:
    content_id: uuid.UUID
    title: str
    content_type: str
    category: str | None
    content: str | None
    media_urls: list[str]
    metadata: dict[str, Any]
    hashtags: list[str]
    placeholders: list[str]
    usage_count: int
    last_used_at: datetime | None
    created_by: uuid.UUID
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, item: ContentLibraryItem) -> LibraryItemView:
        meta = dict(item.meta or {})
        return cls(item.content_id, item.title, item.content_type, item.category, item.content,
                   list(item.media_urls or []), meta, list(meta.get("hashtags", [])),
                   placeholders(item.content or ""), item.usage_count, item.last_used_at,
                   item.created_by, item.created_at, item.updated_at)


@dataclass(frozen=True)
class RenderedTemplate:
    content_id: uuid.UUID
    content: str
    media_urls: list[str]
    hashtags: list[str]
    missing: list[str]  # placeholders left unfilled (still shown as [NAME] in the text)


def placeholders(text: str) -> list[str]:
    return list(dict.fromkeys(PLACEHOLDER_RE.findall(text)))


def fill_placeholders(text: str, values: dict[str, str]) -> tuple[str, list[str]]:
    missing: list[str] = []

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if values.get(key):
            return values[key]
        missing.append(key)
        return match.group(0)

    return PLACEHOLDER_RE.sub(replace, text), list(dict.fromkeys(missing))


def _normalise_tag(tag: str) -> str:
    tag = tag.strip()
    return tag if tag.startswith("#") else f"#{tag}"


def check_item(data: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
    problems: list[Problem] = []
    for key in sorted(set(data) - set(LIBRARY_FIELDS)):
        problems.append(Problem(field=key, code="unknown_field", message=f"'{key}' is not a library field"))
    values: dict[str, Any] = {}
    if "title" in data or not partial:
        title = normalize_text(str(data.get("title") or ""))
        if not title:
            problems.append(Problem(field="title", code="required", message="Give the item a title"))
        elif len(title) > 255:
            problems.append(Problem(field="title", code="too_long", message="Titles are at most 255 characters",
                                    limit=255, actual=len(title)))
        values["title"] = title
    if "content_type" in data or not partial:
        ctype = str(data.get("content_type") or "").strip().lower()
        if ctype not in CONTENT_TYPES:
            problems.append(Problem(field="content_type", code="invalid",
                                    message=f"Content type must be one of {', '.join(CONTENT_TYPES)}",
                                    actual=ctype))
        values["content_type"] = ctype
    if "category" in data:
        values["category"] = (str(data["category"]).strip() or None) if data["category"] else None
    if "content" in data:
        values["content"] = normalize_text(str(data["content"] or "")) or None
    if "media_urls" in data:
        urls = data["media_urls"] or []
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            problems.append(Problem(field="media_urls", code="invalid", message="media_urls must be a list of URLs"))
        else:
            bad = [u for u in urls if not u.strip().lower().startswith("https://")]
            for url in bad:
                problems.append(Problem(field="media_urls", code="invalid_url",
                                        message=f"{url} is not an https URL", actual=url))
            values["media_urls"] = [u.strip() for u in urls]
    meta = data.get("metadata")
    if meta is not None and not isinstance(meta, dict):
        problems.append(Problem(field="metadata", code="invalid", message="metadata must be an object"))
        meta = None
    if meta is not None or "hashtags" in data:
        meta = dict(meta or {})
        tags = data.get("hashtags", meta.get("hashtags"))
        if tags is not None:
            if isinstance(tags, str):
                tags = tags.replace(",", " ").split()
            meta["hashtags"] = list(dict.fromkeys(_normalise_tag(t) for t in tags if str(t).strip()))
        values["meta"] = meta
    kind = values.get("content_type")
    if kind == "hashtag_set" and not (values.get("meta") or {}).get("hashtags"):
        problems.append(Problem(field="hashtags", code="required", message="A hashtag set needs at least one hashtag"))
    if kind in ("text", "template") and not values.get("content"):
        problems.append(Problem(field="content", code="required", message="Write the text of the template"))
    if kind in ("image", "video") and not values.get("media_urls"):
        problems.append(Problem(field="media_urls", code="required", message="Add the media URL"))
    if problems:
        raise ValidationFailed(problems)
    return values


class LibraryService(Service):
    def add(self, actor: Actor, data: dict[str, Any]) -> LibraryItemView:
        actor.require("library.write")
        values = check_item(data)
        with self.uow(actor) as uow:
            item = ContentLibraryItem(content_id=uuid.uuid4(), org_id=actor.org_id,
                                      created_by=actor.user_id, **values)
            uow.session.add(item)
            audit(uow.session, actor, actor.org_id, "library.added", "library", item.content_id, self.now(),
                  {"title": item.title, "content_type": item.content_type})
            uow.flush()
            view = LibraryItemView.of(item)
            uow.commit()
        return view

    def update(self, actor: Actor, content_id: Any, changes: dict[str, Any]) -> LibraryItemView:
        actor.require("library.write")
        with self.uow(actor) as uow:
            item = get_owned(uow.session, ContentLibraryItem, actor, content_id, "library item")
            if item.created_by != actor.user_id and not actor.can("library.delete_any"):
                raise Forbidden("Only a manager or admin can edit someone else's library item")
            merged = {"content_type": item.content_type, "content": item.content,
                      "media_urls": item.media_urls, "metadata": item.meta, **changes}
            values = check_item(merged, partial=True)
            for key, value in values.items():
                setattr(item, key, value)
            item.updated_at = self.now()
            audit(uow.session, actor, actor.org_id, "library.updated", "library", item.content_id,
                  self.now(), {"fields": sorted(changes)})
            uow.flush()
            view = LibraryItemView.of(item)
            uow.commit()
        return view

    def delete(self, actor: Actor, content_id: Any) -> None:
        actor.require("library.write")
        with self.uow(actor) as uow:
            item = get_owned(uow.session, ContentLibraryItem, actor, content_id, "library item")
            if item.created_by != actor.user_id and not actor.can("library.delete_any"):
                raise Forbidden("Only a manager or admin can delete someone else's library item")
            audit(uow.session, actor, actor.org_id, "library.deleted", "library", item.content_id,
                  self.now(), {"title": item.title})
            uow.session.delete(item)
            uow.commit()

    def get(self, actor: Actor, content_id: Any) -> LibraryItemView:
        with self.uow(actor, readonly=True) as uow:
            return LibraryItemView.of(get_owned(uow.session, ContentLibraryItem, actor, content_id, "library item"))

    def list(
        self, actor: Actor, *, content_type: str | None = None, category: str | None = None,
        search: str | None = None, limit: int = 200, offset: int = 0,
    ) -> list[LibraryItemView]:
        query = select(ContentLibraryItem).where(ContentLibraryItem.org_id == actor.org_id)
        if content_type:
            query = query.where(ContentLibraryItem.content_type == content_type)
        if category:
            query = query.where(func.lower(ContentLibraryItem.category) == category.strip().lower())
        if search and search.strip():
            needle = f"%{search.strip().lower()}%"
            query = query.where(or_(func.lower(ContentLibraryItem.title).like(needle),
                                    func.lower(func.coalesce(ContentLibraryItem.content, "")).like(needle)))
        query = query.order_by(ContentLibraryItem.usage_count.desc(), ContentLibraryItem.title).limit(limit).offset(offset)
        with self.uow(actor, readonly=True) as uow:
            return [LibraryItemView.of(i) for i in uow.session.scalars(query)]

    def categories(self, actor: Actor) -> builtins.list[str]:
        with self.uow(actor, readonly=True) as uow:
            return sorted(c for c in uow.session.scalars(
                select(ContentLibraryItem.category).where(ContentLibraryItem.org_id == actor.org_id).distinct()) if c)

    def use_template(self, actor: Actor, content_id: Any, values: dict[str, str] | None = None) -> RenderedTemplate:
        """Fill a template's placeholders (``[COMPANY]`` defaults to the org's name, others from
        the item's ``metadata.defaults``), count the use and stamp ``last_used_at``."""
        actor.require("post.create")
        with self.uow(actor) as uow:
            item = get_owned(uow.session, ContentLibraryItem, actor, content_id, "library item")
            org: Org = load_org(uow.session, actor.org_id)
            defaults = {"COMPANY": org.name, **(item.meta or {}).get("defaults", {})}
            filled, missing = fill_placeholders(item.content or "", {**defaults, **(values or {})})
            item.usage_count = (item.usage_count or 0) + 1
            item.last_used_at = self.now()
            rendered = RenderedTemplate(item.content_id, filled, list(item.media_urls or []),
                                        list((item.meta or {}).get("hashtags", [])), missing)
            uow.commit()
        return rendered
