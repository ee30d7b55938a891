"""Herald's REST API: ``uvicorn api.main:app``.

``create_app(herald)`` builds the app over a service container (tests pass theirs); ``app`` builds
its container from the HERALD_* settings on the first request (on the embedded SQLite default that
also migrates the database, as the dashboard does).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from api import errors
from api.deps import HeraldProvider, no_nul_in_query
from api.rate_limit import TokenBuckets
from api.routes import health, library, planning, posts
from core.services.container import Herald

BASE_PATH = "/api/social/publishing"
DESCRIPTION = """
Create, schedule, approve and publish social-media posts from other systems.

**Auth**: `Authorization: Bearer hrld_...` (create a token in the dashboard's settings, or with
`python -m core create-api-token --email you@example.com`). The organisation and role come from the
token; a viewer can read, an editor can create and edit their posts, a manager can approve and
publish.

**Errors** always look like `{"success": false, "error": {"code", "message", "details": [...]}}`;
a 422 lists every problem at once.

**Times** in responses are ISO 8601 with an offset; a time you send without an offset is read in
your organisation's timezone.

**Retries**: send `Idempotency-Key` on creates (`POST /`, `POST /bulk`, `POST /content-library`);
a retry returns the first response instead of creating twice.
"""


def _default_herald() -> Herald:
    from core.bootstrap import prepare

    return prepare()


def _rate_limit_from(herald: Herald | None) -> TokenBuckets | None:
    if herald is None:
        from core.config import get_settings

        settings = get_settings()
    else:
        settings = herald.settings
    if settings.api_rate_limit_per_minute == 0:
        return None
    return TokenBuckets(settings.api_rate_limit_per_minute, settings.api_rate_limit_burst)


def create_app(herald: Herald | None = None, *, rate_limit: TokenBuckets | None | bool = True,
               herald_factory: Callable[[], Herald] = _default_herald) -> FastAPI:
    """The API over ``herald`` (built lazily by ``herald_factory`` when None).

    ``rate_limit``: True reads the limit from the settings; None or False turns it off; or pass
    the buckets (tests pass a clock they control)."""
    provider = HeraldProvider(herald, herald_factory)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        provider.close()

    app = FastAPI(title="Herald API", version="1.0.0", description=DESCRIPTION, lifespan=lifespan,
                  openapi_tags=[{"name": "posts"}, {"name": "planning"}, {"name": "content library"},
                                {"name": "health"}])
    app.state.herald = provider
    app.state.rate_limit = _rate_limit_from(herald) if rate_limit is True else (rate_limit or None)
    errors.install(app)
    app.include_router(health.router)
    guard = [Depends(no_nul_in_query)]
    # Fixed paths before posts' /{postId}, which would capture them.
    for router in (planning.router, library.router, posts.router):
        app.include_router(router, prefix=BASE_PATH, dependencies=guard)
    return app


app = create_app()
