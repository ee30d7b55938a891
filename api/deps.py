"""Dependencies: the service container, and the actor a bearer token stands for (rate-limited)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import MissingToken, RateLimited
from api.rate_limit import TokenBuckets
from core.errors import Problem, ValidationFailed
from core.services.api_tokens import hash_token
from core.services.container import Herald
from core.services.context import Actor

bearer = HTTPBearer(auto_error=False, scheme_name="bearer",
                    description="An API token (`hrld_...`): create one in the dashboard's settings or "
                                "with `python -m core create-api-token --email you@example.com`.")


class HeraldProvider:
    """The container the routes use: given (tests), or built on first use from the settings."""

    def __init__(self, herald: Herald | None, factory: Callable[[], Herald]) -> None:
        self._herald = herald
        self._factory = factory
        self._lock = threading.Lock()
        self.owned = herald is None  # built here, so closed here

    def get(self) -> Herald:
        if self._herald is None:
            with self._lock:
                if self._herald is None:
                    self._herald = self._factory()
        return self._herald

    def close(self) -> None:
        if self.owned and self._herald is not None:
            self._herald.close()
            self._herald = None


def get_herald(request: Request) -> Herald:
    provider: HeraldProvider = request.app.state.herald
    return provider.get()


def current_actor(
    request: Request,
    herald: Annotated[Herald, Depends(get_herald)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
) -> Actor:
    """The token's user, org and role; the org never comes from the request."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise MissingToken()
    buckets: TokenBuckets | None = request.app.state.rate_limit
    if buckets is not None:
        # Counted before the token is looked up, so a flood costs no database work.
        wait = buckets.take(hash_token(credentials.credentials))
        if wait:
            raise RateLimited(wait)
    return herald.api_tokens.authenticate(credentials.credentials)


def no_nul_in_query(request: Request) -> None:
    """NUL cannot be stored or compared in PostgreSQL text; refuse it up front (body strings are
    checked by the request models)."""
    bad = sorted({name for name, value in request.query_params.multi_items() if "\x00" in value or "\x00" in name})
    if bad:
        raise ValidationFailed([Problem(field=name, code="invalid_character",
                                        message="Text may not contain NUL characters") for name in bad])


HeraldDep = Annotated[Herald, Depends(get_herald)]
ActorDep = Annotated[Actor, Depends(current_actor)]
