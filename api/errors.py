"""Every error leaves the API in one shape: ``{"success": false, "error": {code, message, details}}``.

Herald's exception tree maps to statuses here and only here; FastAPI's own errors (request
validation, unknown routes, wrong methods, malformed JSON) are rewritten into the same shape;
anything unexpected becomes a logged 500 with no traceback in the body.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.rate_limit import retry_after_header
from core.errors import (
    AuthenticationFailed,
    Conflict,
    Forbidden,
    HeraldError,
    InvalidTransition,
    NotFound,
    PlatformError,
    ValidationFailed,
)
from core.services.views import to_plain

log = logging.getLogger("herald.api")

STATUS_BY_ERROR: tuple[tuple[type[HeraldError], int], ...] = (
    (AuthenticationFailed, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (InvalidTransition, 409),
    (Conflict, 409),
    (ValidationFailed, 422),
    (PlatformError, 502),
)
BEARER_CHALLENGE = 'Bearer realm="herald"'


class MissingToken(AuthenticationFailed):
    """No bearer token at all (RFC 6750: then the challenge names no error)."""

    def __init__(self) -> None:
        super().__init__("Send an API token: Authorization: Bearer hrld_...")


class RateLimited(Exception):
    def __init__(self, wait_seconds: float) -> None:
        super().__init__("rate limited")
        self.wait_seconds = wait_seconds


def error_response(status: int, code: str, message: str, details: list[Any] | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"success": False, "error": {"code": code, "message": message, "details": to_plain(details or [])}}
    return JSONResponse(body, status_code=status, headers=headers)


def status_for(exc: HeraldError) -> int:
    return next((status for kind, status in STATUS_BY_ERROR if isinstance(exc, kind)), 400)


async def herald_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HeraldError)
    status = status_for(exc)
    headers = None
    if status == 401:
        invalid = "" if isinstance(exc, MissingToken) else ', error="invalid_token"'
        headers = {"WWW-Authenticate": BEARER_CHALLENGE + invalid}
    return error_response(status, exc.code, exc.message, exc.details, headers)


def request_problems(exc: RequestValidationError) -> list[dict[str, Any]]:
    """FastAPI's validation errors as Herald problems: field, where it was, code, message."""
    problems = []
    for err in exc.errors():
        location, *path = err.get("loc") or ("request",)
        if err.get("type") == "json_invalid":
            problems.append({"field": "body", "location": "body", "code": "invalid_json",
                             "message": f"The body is not valid JSON ({err.get('ctx', {}).get('error', 'parse error')})"})
            continue
        field = ".".join(str(part) for part in path) or str(location)
        problems.append({"field": field, "location": str(location), "code": str(err.get("type", "invalid")),
                         "message": str(err.get("msg", "is invalid"))})
    return problems


async def request_invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = request_problems(exc)
    if len(problems) == 1:
        message = f"{problems[0]['field']}: {problems[0]['message']}"
    else:
        message = f"{len(problems)} problems: " + "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return error_response(422, "validation_failed", message, problems)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        return error_response(404, "not_found", f"No such endpoint: {request.method} {request.url.path}",
                              headers=headers)
    if exc.status_code == 405:
        return error_response(405, "method_not_allowed",
                              f"{request.method} is not allowed on {request.url.path}", headers=headers)
    if exc.status_code == 400:
        # FastAPI's "There was an error parsing the body" (e.g. bytes that are not UTF-8): a bad
        # request body, answered like every other one.
        return error_response(422, "validation_failed", f"body: The request body cannot be read ({exc.detail})",
                              [{"field": "body", "location": "body", "code": "invalid_body",
                                "message": str(exc.detail)}])
    return error_response(exc.status_code, "http_error", str(exc.detail), headers=headers)


async def rate_limited(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RateLimited)
    retry = retry_after_header(exc.wait_seconds)
    return error_response(429, "rate_limited",
                          f"This token made too many requests; retry in {retry} second(s)",
                          headers={"Retry-After": retry})


async def database_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, DataError):
        # Input a column cannot hold that validation did not catch: the client's to fix.
        log.warning("%s %s: value refused by the database: %s", request.method, request.url.path, exc.orig)
        return error_response(422, "invalid_value", "A value in the request cannot be stored "
                              "(too long, or characters the database refuses)")
    if isinstance(exc, IntegrityError):
        log.warning("%s %s: integrity error: %s", request.method, request.url.path, exc.orig)
        return error_response(409, "conflict", "The request clashes with data saved meanwhile; retry it")
    log.error("%s %s: database unavailable: %s", request.method, request.url.path, exc)
    return error_response(503, "service_unavailable", "The database is unavailable; retry later",
                          headers={"Retry-After": "5"})


async def unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Logged with its traceback here; the client gets the shape and nothing internal.
    log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "Something went wrong on our side; it has been logged")


def install(app: FastAPI) -> None:
    app.add_exception_handler(HeraldError, herald_error)
    app.add_exception_handler(RequestValidationError, request_invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RateLimited, rate_limited)
    for kind in (DataError, IntegrityError, OperationalError):
        app.add_exception_handler(kind, database_error)
    app.add_exception_handler(Exception, unexpected)
