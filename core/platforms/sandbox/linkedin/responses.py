"""LinkedIn's answers as the sandbox writes them: error bodies (``error``, an ``input_error`` at
a field's path, an ``oauth_error``) and epoch milliseconds (``ms``), LinkedIn's timestamps."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from core.platforms.sandbox.base import Reply, json_response


def error(status: int, message: str, *, code: str | None = None, service_code: int | None = None,
          headers: Mapping[str, str] | None = None) -> httpx.Response:
    body: dict[str, Any] = {"status": status, "message": message}
    if service_code is not None:
        body["serviceErrorCode"] = service_code
    if code:
        body["code"] = code
    return json_response(status, body, headers)


def input_error(message: str, code: str, field: str, status: int = 422) -> Reply:
    return Reply(json_response(status, {
        "errorDetailType": "com.linkedin.common.error.BadRequest", "message": message,
        "errorDetails": {"inputErrors": [{"description": message, "input": {
            "inputPath": {"fieldPath": field}}, "code": code}]}, "status": status}))


def oauth_error(status: int, code: str, description: str) -> Reply:
    return Reply(json_response(status, {"error": code, "error_description": description}))


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
