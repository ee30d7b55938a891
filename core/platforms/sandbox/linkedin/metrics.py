"""Metrics in the LinkedIn sandbox: a post's ``socialActions``, organization share statistics
(``organizationalEntityShareStatistics``) and member post analytics, from the sandbox's
engagement."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import httpx

from core.platforms.sandbox.base import Call, Reply, json_response
from core.platforms.sandbox.linkedin.responses import error

if TYPE_CHECKING:
    from core.platforms.sandbox.linkedin.network import LinkedInSandbox

_LIST = re.compile(r"^List\((.*)\)$")
_ENTITY = re.compile(r"^\((share|ugc):(urn:li:(?:share|ugcPost):\d+)\)$")
METRIC_TYPES = {"IMPRESSION": "views", "MEMBERS_REACHED": "reach", "RESHARE": "shares",
                "REACTION": "likes", "COMMENT": "comments", "POST_SAVE": "saves",
                "POST_SEND": "clicks"}


def _counts(network: LinkedInSandbox, urn: str) -> Any:
    post = network.sandbox.post(network.platform, urn)
    return network.sandbox.engagement(post) if post is not None else None


def social_actions(network: LinkedInSandbox, call: Call) -> httpx.Response:
    entry = network._entry(call)
    counts = _counts(network, entry["id"])
    return json_response(200, {
        "target": entry["id"], "$URN": f"urn:li:socialActions:{entry['id']}",
        "likesSummary": {"selectedLikes": [], "aggregatedTotalLikes": counts.likes,
                         "likedByCurrentUser": False, "totalLikes": counts.likes},
        "commentsSummary": {"selectedComments": [], "totalFirstLevelComments": counts.comments,
                            "aggregatedTotalComments": counts.comments}})


def share_statistics(network: LinkedInSandbox, call: Call) -> httpx.Response:
    organization = call.query.get("organizationalEntity")
    if call.query.get("q") != "organizationalEntity" or not organization:
        raise Reply(error(400, "q=organizationalEntity and organizationalEntity are required",
                          code="ILLEGAL_ARGUMENT"))
    if organization not in network._organizations(call):
        raise network._denied(call, f"share statistics of {organization}")
    network._scope(call, "rw_organization_admin", "r_organization_social")
    elements = []
    for param, key in (("shares", "share"), ("ugcPosts", "ugcPost")):
        listed = _LIST.match(call.query.get(param, ""))
        for urn in (u.strip() for u in (listed.group(1).split(",") if listed else []) if u.strip()):
            entry = network.entries.get(urn)
            if entry is None or entry.get("_deleted") or entry["author"] != organization:
                continue
            c = _counts(network, urn)
            elements.append({key: urn, "organizationalEntity": organization,
                             "totalShareStatistics": {
                                 "impressionCount": c.views, "uniqueImpressionsCount": c.reach,
                                 "clickCount": c.clicks, "likeCount": c.likes,
                                 "commentCount": c.comments, "shareCount": c.shares,
                                 "engagement": round((c.likes + c.comments + c.shares + c.clicks)
                                                     / max(1, c.views), 6)}})
    return json_response(200, {"paging": {"start": 0, "count": 10, "links": []},
                               "elements": elements})


def member_analytics(network: LinkedInSandbox, call: Call) -> httpx.Response:
    entity = _ENTITY.match(call.query.get("entity", ""))
    query_type = call.query.get("queryType", "")
    if call.query.get("q") != "entity" or entity is None or query_type not in METRIC_TYPES:
        raise Reply(error(400, "q=entity, entity=(share:urn) or (ugc:urn) and a queryType of "
                          f"{', '.join(METRIC_TYPES)} are required", code="ILLEGAL_ARGUMENT"))
    network._scope(call, "r_member_postAnalytics")
    entry = network.entries.get(entity.group(2))
    if entry is None or entry.get("_deleted"):
        raise Reply(error(404, f"{entity.group(2)} does not exist", code="NOT_FOUND"))
    if entry["author"] != f"urn:li:person:{network._member(call)}":
        raise network._denied(call, f"analytics of {entry['id']}")
    count = getattr(_counts(network, entry["id"]), METRIC_TYPES[query_type])
    return json_response(200, {"paging": {"start": 0, "count": 10, "links": []}, "elements": [{
        "count": count, "targetEntity": {entity.group(1): entry["id"]},
        "metricType": {"com.linkedin.adsexternalapi.memberanalytics.v1."
                       "CreatorPostAnalyticsMetricTypeV1": query_type}}]})
