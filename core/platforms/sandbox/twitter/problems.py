"""X's error bodies in the sandbox: API v2 problem details (``title``, ``detail``, ``type``,
``status``) and the ``Invalid Request`` problem a bad parameter gets."""

from __future__ import annotations

from typing import Any

import httpx

from core.platforms.sandbox.base import Reply, json_response


def problem(status: int, title: str, detail: str, type_: str = "about:blank",
            **extra: Any) -> httpx.Response:
    return json_response(status, {"title": title, "detail": detail, "type": type_,
                                  "status": status, **extra})


def invalid_request(message: str) -> Reply:
    return Reply(json_response(400, {
        "errors": [{"message": message}], "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request"}))
