"""Wiring in one place: settings -> database, clock, hasher -> services."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher

from core.clock import Clock, SystemClock
from core.config import Settings, get_settings
from core.db.engine import Database
from core.services.approvals import ApprovalService
from core.services.best_times import BestTimeService
from core.services.calendar import CalendarService
from core.services.library import LibraryService
from core.services.scheduling import SchedulingService
from core.services.users import OrgService, UserService


@dataclass
class Herald:
    settings: Settings
    db: Database
    clock: Clock
    orgs: OrgService
    users: UserService
    scheduling: SchedulingService
    approvals: ApprovalService
    calendar: CalendarService
    library: LibraryService
    best_times: BestTimeService

    @classmethod
    def create(
        cls,
        settings: Settings | None = None,
        *,
        clock: Clock | None = None,
        db: Database | None = None,
        hasher: PasswordHasher | None = None,
    ) -> Herald:
        settings = settings or get_settings()
        clock = clock or SystemClock()
        db = db or Database(settings.database_url, app_role=settings.database_role or None)
        hasher = hasher or PasswordHasher()  # Argon2id, RFC 9106 low-memory profile (64 MiB)
        best_times = BestTimeService(db, clock)
        return cls(
            settings=settings, db=db, clock=clock,
            orgs=OrgService(db, clock),
            users=UserService(db, clock, hasher),
            scheduling=SchedulingService(db, clock, best_times),
            approvals=ApprovalService(db, clock),
            calendar=CalendarService(db, clock),
            library=LibraryService(db, clock),
            best_times=best_times,
        )

    def close(self) -> None:
        self.db.dispose()
