"""What every endpoint shares: the time type, platform names, the error body and its responses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema, field_validator

from core.domain.platforms import ALIASES, PLATFORMS


def _iso(value: datetime) -> str:
    return value.isoformat()


# Aware datetimes as ISO 8601 with their offset ("2026-11-24T09:00:00+00:00"), never "Z".
Timestamp = Annotated[datetime, PlainSerializer(_iso, return_type=str, when_used="json"),
                      WithJsonSchema({"type": "string", "format": "date-time"})]

# The seven networks and the alias "x" (stored as "twitter"). Checked against core in a test.
PlatformName = Literal["facebook", "instagram", "twitter", "linkedin", "tiktok", "youtube", "snapchat", "x"]
assert set(get_args(PlatformName)) == set(PLATFORMS) | set(ALIASES)

# What a client may send as a time: ISO 8601; without an offset it is read in the org's timezone.
TIME_INPUT_DESCRIPTION = ("ISO 8601. With an offset (`2026-12-01T09:00:00+01:00`, `...Z`) it is taken "
                          "as given; without one (`2026-12-01T09:00`) it is read in the organisation's "
                          "timezone and a note in the response says so.")


class ApiModel(BaseModel):
    """Response models: built from the services' dataclasses."""

    model_config = ConfigDict(from_attributes=True)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class RequestModel(BaseModel):
    """Request bodies: unknown fields are refused (a typo is a 422, not silently ignored)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        # PostgreSQL text and JSONB cannot hold NUL; say so here rather than fail on the insert.
        if _has_nul(value):
            raise ValueError("Text may not contain NUL characters")
        return value


class ErrorInfo(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. `validation_failed`, `not_found`")
    message: str = Field(description="What went wrong, for a person")
    details: list[dict[str, Any]] = Field(
        description="Every problem (field, code, message, platform, limit, actual) for 422; the "
                    "clashing posts per network for scheduling conflicts; otherwise usually empty")


class ErrorResponse(BaseModel):
    success: Literal[False] = False
    error: ErrorInfo

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "success": False,
        "error": {"code": "validation_failed", "message": "twitter: content: X allows 280 characters",
                  "details": [{"field": "content", "code": "too_long", "platform": "twitter",
                               "message": "X allows 280 characters", "limit": 280, "actual": 312}]},
    }]})


class Deleted(BaseModel):
    success: Literal[True] = True


ERROR_DESCRIPTIONS: dict[int, str] = {
    401: "No token, or the token is invalid, expired or revoked (with `WWW-Authenticate: Bearer`)",
    403: "The token's user has a role that does not allow this",
    404: "No such item in the token's organisation (another organisation's items look the same)",
    409: "Not allowed in the item's current state, a scheduling conflict (listed in `details`), "
         "or a request with the same `Idempotency-Key` still running",
    422: "The request is invalid; `details` lists every problem",
    429: "The token made too many requests; retry after `Retry-After` seconds",
    503: "The database is unavailable; retry later",
}


def errors(*codes: int, json_only: bool = False) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, all in the one error shape.

    ``json_only`` for routes whose success is not JSON (the CSV export): FastAPI would otherwise
    document their errors under the route's media type too."""
    if json_only:
        ref = {"$ref": "#/components/schemas/ErrorResponse"}
        return {code: {"description": ERROR_DESCRIPTIONS[code], "content": {"application/json": {"schema": ref}}}
                for code in codes}
    return {code: {"model": ErrorResponse, "description": ERROR_DESCRIPTIONS[code]} for code in codes}


# Every authenticated endpoint can answer these.
AUTHENTICATED = (401, 429, 503)
