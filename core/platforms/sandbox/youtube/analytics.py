"""YouTube Analytics in the sandbox: ``/v2/reports`` for the channel (``ids=channel==MINE``),
totals or per video (``dimensions=video``), from the sandbox's engagement."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from core.platforms.sandbox.base import Call, json_response
from core.platforms.sandbox.youtube.responses import fail

if TYPE_CHECKING:
    from core.platforms.sandbox.youtube.network import YouTubeSandbox

ANALYTICS_METRICS = ("views", "likes", "comments", "shares")


def reports(network: YouTubeSandbox, call: Call) -> httpx.Response:
    for name in ("ids", "startDate", "endDate", "metrics"):
        if not call.query.get(name):
            raise fail(400, "required", f"Required parameter: {name}", domain="global")
    if call.query["ids"] not in ("channel==MINE", f"channel=={call.account_id}"):
        raise fail(403, "forbidden", "Forbidden", domain="global")
    metrics = call.query["metrics"].split(",")
    unknown = [m for m in metrics if m not in ANALYTICS_METRICS]
    if unknown:
        raise fail(400, "badRequest", f"Unknown identifier ({unknown[0]}) given in field "
                   "parameters.metrics.", domain="global")
    wanted = (call.query.get("filters") or "").removeprefix("video==")
    videos = [v for v in network._uploads(call.account_id, call)
              if not wanted or v["id"] in wanted.split(",")]
    by_video = call.query.get("dimensions") == "video"
    headers = ([{"name": "video", "columnType": "DIMENSION", "dataType": "STRING"}] if by_video else [])
    headers += [{"name": m, "columnType": "METRIC", "dataType": "INTEGER"} for m in metrics]
    rows = [[v["id"], *(getattr(network._counts(v), m) for m in metrics)] for v in videos]
    if not by_video:
        rows = [[sum(r[i + 1] for r in rows) for i in range(len(metrics))]]
    return json_response(200, {"kind": "youtubeAnalytics#resultTable",
                               "columnHeaders": headers, "rows": rows})
