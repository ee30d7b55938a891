"""Per-org data versions: what the dashboard keys its caches by, so a change made anywhere (this
process, another dashboard process, the daemon, the API) is seen on the next page run.

The versions are kept by database triggers (see ``core.db.models.DataVersion``); reading them is
one primary-key range read (the org's slots, folded into one number per area). Read them *before* the data they guard: a
change that commits in between then only makes the cached copy newer than its key, never older.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from core.db.models import DATA_AREAS, DataVersion
from core.services.base import Service
from core.services.context import Actor

AREAS = tuple(DATA_AREAS)


@dataclass(frozen=True)
class DataVersions:
    """One org's versions (0 until the area's first write). Opaque: compare, never order."""

    posts: int = 0
    metrics: int = 0
    best_times: int = 0
    library: int = 0
    accounts: int = 0
    settings: int = 0

    def of(self, *areas: str) -> tuple[int, ...]:
        """The versions of ``areas``, for a cache key (e.g. ``of("posts", "settings")``)."""
        unknown = set(areas) - set(AREAS)
        if unknown:
            raise ValueError(f"unknown data area(s): {sorted(unknown)}")
        return tuple(getattr(self, area) for area in areas)


class DataVersionService(Service):
    def current(self, actor: Actor) -> DataVersions:
        with self.uow(actor, readonly=True) as uow:
            rows = uow.session.execute(
                select(DataVersion.slot, *(getattr(DataVersion, area) for area in AREAS))
                .where(DataVersion.org_id == actor.org_id).order_by(DataVersion.slot)).all()
        return DataVersions(*(_fold([(row[0], row[1 + i]) for row in rows]) for i in range(len(AREAS))))


def _fold(slots: list[tuple[int, int]]) -> int:
    """One area's version from its slots' values. Not a sum: on PostgreSQL a slot holds the id
    of the last transaction that wrote it, and two writers sharing a slot can commit so that it
    goes down (the older transaction waited for the newer one's row lock). But a transaction id
    is written by that transaction only, so a slot never returns to a value it had: every
    committed write gives the org's slots a combination they never had before."""
    return hash(tuple(slots)) if any(value for _, value in slots) else 0
