"""Snapchat's content in the sandbox: posting a story, a saved story (title <= 45) or a
Spotlight (video only, description <= 160 with hashtags, ``locale``) from READY media that has
not expired, and listing each kind (a story only while it lasts)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx

from core.domain.rules import RULES
from core.platforms.sandbox.base import Call

if TYPE_CHECKING:
    from core.platforms.sandbox.snapchat.network import SnapchatSandbox

KINDS = {"stories": "story", "saved_stories": "saved_story", "spotlights": "spotlight"}
_LOCALE = re.compile(r"[a-z]{2}_[A-Z]{2}")


def create_content(network: SnapchatSandbox, call: Call) -> httpx.Response:
    account = network._profile(call)
    kind = KINDS[call.match["kind"]]
    body = call.json if isinstance(call.json, dict) else {}
    media = network._usable_media(call, str(body.get("media_id") or ""))
    text = check_content(network, kind, media, body)
    content_id = network._uuid(kind)
    url = (f"https://www.snapchat.com/spotlight/{content_id}" if kind == "spotlight"
           else f"https://www.snapchat.com/add/{account.username}")
    item = {"id": content_id, "owner": account.external_account_id, "kind": kind,
            "media_id": media["id"], "created_at": call.now, "text": text,
            "locale": body.get("locale"), "saved_to_profile": not body.get("skip_save_to_profile")}
    network.content[content_id] = item
    network.sandbox.record_post(network.platform, account, content_id, text, kind, url,
                                media=(media["id"],))
    return network.ok(**{kind: network._render_content(item)})


def check_content(network: SnapchatSandbox, kind: str, media: dict[str, Any],
                  body: dict[str, Any]) -> str:
    if kind == "saved_story":
        title = body.get("title")
        limit = int(network.setting("title_max"))
        if not isinstance(title, str) or not 1 <= len(title.strip()) <= limit:
            raise network.fail(400, f"title is required and must be 1 to {limit} characters")
        return title
    if kind == "spotlight":
        if media["type"] != "VIDEO":
            raise network.fail(400, "Spotlight only accepts VIDEO media")
        description = body.get("description") or ""
        limit = int(network.setting("description_max"))
        if not isinstance(description, str) or RULES["snapchat"].text.length(description) > limit:
            raise network.fail(400, f"description must be at most {limit} characters, hashtags "
                               "included")
        if not isinstance(body.get("locale"), str) or not _LOCALE.fullmatch(body["locale"]):
            raise network.fail(400, "locale is required, e.g. en_US")
        return description
    return ""


def live(network: SnapchatSandbox, item: dict[str, Any]) -> bool:
    """Stories are listed for 24 hours (``story_ttl_seconds``); the rest stay."""
    if item["kind"] != "story":
        return True
    return network.now < item["created_at"] + timedelta(seconds=network.setting("story_ttl_seconds"))


def list_content(network: SnapchatSandbox, call: Call) -> httpx.Response:
    network._profile(call)
    kind, key = KINDS[call.match["kind"]], call.match["kind"]
    found = sorted((i for i in network.content.values() if i["owner"] == call.account_id
                    and i["kind"] == kind and live(network, i)),
                   key=lambda i: i["created_at"], reverse=True)
    limit = int(call.query.get("limit") or 50)
    return network.ok(**{key: [{"sub_request_status": "SUCCESS", kind: network._render_content(i)}
                               for i in found[:limit]]})
