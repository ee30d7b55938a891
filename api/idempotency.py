"""The ``Idempotency-Key`` header on creates: a retry returns the first response, creating nothing.

The work is ``core.services.idempotency`` (keys stored in the database, so a retry reaching
another API process or arriving after a restart still finds the first result); this module only
reads the header and writes the stored response back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from core.services.container import Herald
from core.services.context import Actor
from core.services.idempotency import MAX_KEY_LENGTH

IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", pattern=f"^[!-~]{{1,{MAX_KEY_LENGTH}}}$",
    description="Any unique value per request (a UUID is ideal). A retry with the same key and "
                "body returns the first response (header `Idempotent-Replayed: true`) instead of "
                "creating again; the same key with a different body is a 422.",
    examples=["5f0c1d4e-8f7e-4a53-9a58-3a2b8d1e6c11"])]


def respond_once(herald: Herald, actor: Actor, key: str | None, request: Request, body: BaseModel,
                 status_code: int, make: Callable[[], BaseModel]) -> JSONResponse:
    """``make()`` as a JSON response with ``status_code``; with a key, at most once per key."""
    def action() -> tuple[int, dict]:
        return status_code, make().model_dump(mode="json")

    if key is None:
        status, content = action()
        return JSONResponse(content, status_code=status)
    described = {"method": request.method, "path": request.url.path,
                 "body": body.model_dump(mode="json", exclude_unset=True)}
    stored = herald.idempotency.run(actor, key, described, action)
    headers = {"Idempotent-Replayed": "true"} if stored.replayed else None
    return JSONResponse(stored.body, status_code=stored.status_code, headers=headers)
