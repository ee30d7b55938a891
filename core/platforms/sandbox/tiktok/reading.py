"""TikTok's reads in the sandbox: ``video/list`` (newest first, a millisecond cursor),
``video/query`` (by id) and ``user/info``, each answering only the ``fields`` asked for."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import httpx

from core.platforms.sandbox.base import Call, SandboxAccount
from core.platforms.sandbox.tiktok.envelope import envelope

if TYPE_CHECKING:
    from core.platforms.sandbox.tiktok.network import TikTokSandbox

FIELDS = ("id", "title", "video_description", "create_time", "share_url", "embed_link",
          "duration", "cover_image_url", "like_count", "comment_count", "share_count", "view_count")


def fields_of(network: TikTokSandbox, call: Call) -> list[str]:
    fields = [f for f in (call.query.get("fields") or "").split(",") if f]
    if not fields:
        raise network.fail(400, "invalid_params", "The fields query parameter is required.")
    return fields


def render(network: TikTokSandbox, job: Mapping[str, Any], fields: list[str]) -> dict[str, Any]:
    post = network.sandbox.post(network.platform, job["public"])
    counts = network.sandbox.engagement(post) if post is not None else None
    account: SandboxAccount = job["account"]
    path = "video" if job["kind"] == "video" else "photo"
    values: dict[str, Any] = {
        "id": job["public"], "title": job.get("title") or job["text"][:150],
        "video_description": job["text"], "create_time": int(job["ready_at"].timestamp()),
        "share_url": f"https://www.tiktok.com/@{account.username}/{path}/{job['public']}"
                     "?utm_campaign=tt4d_open_api&utm_source=herald",
        "embed_link": f"https://www.tiktok.com/player/v1/{job['public']}",
        "duration": 15 if job["kind"] == "video" else 0,
        "cover_image_url": f"https://p16-sign.tiktokcdn.com/{job['public']}.jpeg",
        "like_count": counts.likes if counts else 0, "comment_count": counts.comments if counts else 0,
        "share_count": counts.shares if counts else 0, "view_count": counts.views if counts else 0}
    return {f: values[f] for f in fields if f in values}


def own_videos(network: TikTokSandbox, call: Call) -> list[dict[str, Any]]:
    network._settle_all()
    return sorted((j for j in network.videos.values() if j["account"] is call.account
                   and (p := network.sandbox.post(network.platform, j["public"])) is not None
                   and p.status == "published"), key=lambda j: j["ready_at"], reverse=True)


def video_list(network: TikTokSandbox, call: Call) -> httpx.Response:
    network._scope(call, "video.list")
    fields, body = fields_of(network, call), network._body(call)
    count, cursor = body.get("max_count", 10), body.get("cursor")
    if not isinstance(count, int) or not 1 <= count <= 20:
        raise network.fail(400, "invalid_params", "max_count must be 1 to 20.")
    videos = [j for j in own_videos(network, call)
              if not isinstance(cursor, int) or int(j["ready_at"].timestamp() * 1000) < cursor]
    page = videos[:count]
    next_cursor = int(page[-1]["ready_at"].timestamp() * 1000) if page else 0
    return envelope(200, {"videos": [render(network, j, fields) for j in page],
                          "cursor": next_cursor, "has_more": len(videos) > count}, now=call.now)


def video_query(network: TikTokSandbox, call: Call) -> httpx.Response:
    network._scope(call, "video.list")
    fields, body = fields_of(network, call), network._body(call)
    ids = (body.get("filters") or {}).get("video_ids") if isinstance(body.get("filters"), dict) else None
    if not isinstance(ids, list) or not 1 <= len(ids) <= 20:
        raise network.fail(400, "invalid_params", "filters.video_ids must list 1 to 20 ids.")
    wanted = {str(i) for i in ids}
    found = [j for j in own_videos(network, call) if j["public"] in wanted]
    return envelope(200, {"videos": [render(network, j, fields) for j in found], "cursor": 0,
                          "has_more": False}, now=call.now)


def user_info(network: TikTokSandbox, call: Call) -> httpx.Response:
    network._scope(call, "user.info.basic")
    account = call.account
    assert account is not None
    fields = fields_of(network, call)
    if "username" in fields:
        network._scope(call, "user.info.profile")
    union = hashlib.sha256(account.external_account_id.encode()).hexdigest()[:32]
    values = {"open_id": account.external_account_id, "union_id": union,
              "avatar_url": f"https://p16-sign.tiktokcdn.com/{account.external_account_id}.jpeg",
              "display_name": account.username, "username": account.username}
    return envelope(200, {"user": {f: values[f] for f in fields if f in values}}, now=call.now)
