"""GET /api/health: no token needed; for load balancers and uptime checks."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import HeraldDep
from api.errors import error_response
from api.schemas.common import errors
from api.schemas.planning import HealthResponse

router = APIRouter(tags=["health"])


@router.get("/api/health", response_model=HealthResponse, responses=errors(503),
            summary="Is the database reachable, and when did a scheduler daemon last beat?")
def health(herald: HeraldDep) -> HealthResponse | JSONResponse:
    report = herald.ops.health()
    if not report.database_ok:
        return error_response(503, "unhealthy", "The database is unreachable",
                              [{"database": "unreachable", "checked_at": report.checked_at}],
                              headers={"Retry-After": "5"})
    return HealthResponse(last_heartbeat=report.last_heartbeat, daemons_alive=report.daemons_alive,
                          checked_at=report.checked_at)
