"""TikTok's answer envelope in the sandbox: ``{data, error: {code, message, log_id}}`` and the
log id TikTok stamps on every answer (also sent as ``x-tt-logid``)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from core.platforms.sandbox.base import json_response


def log_id(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y%m%d%H%M%S") + secrets.token_hex(10).upper()


def envelope(status: int, data: Any, code: str = "ok", message: str = "",
             headers: Mapping[str, str] | None = None, *, now: datetime) -> httpx.Response:
    return json_response(status, {"data": data, "error": {"code": code, "message": message,
                                                          "log_id": log_id(now)}}, headers)
