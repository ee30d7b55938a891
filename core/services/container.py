"""Wiring in one place: settings -> database, clock, hasher -> services."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher

from core.clock import Clock, SystemClock
from core.config import Settings, get_settings
from core.db.engine import Database
from core.services.accounts import AccountService
from core.services.analytics import AnalyticsService
from core.services.api_tokens import ApiTokenService
from core.services.approvals import ApprovalService
from core.services.best_times import BestTimeService
from core.services.calendar import CalendarService
from core.services.connectors import ConnectorPool
from core.services.data_versions import DataVersionService
from core.services.export import ExportService
from core.services.idempotency import IdempotencyService
from core.services.library import LibraryService
from core.services.metrics_sync import MetricsService
from core.services.ops import OpsService
from core.services.publishing import PublishingService
from core.services.queue_actions import QueueActions
from core.services.scheduling import SchedulingService
from core.services.secrets import LazyCipher, TokenCipher
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
    connectors: ConnectorPool
    accounts: AccountService
    publishing: PublishingService
    queue_actions: QueueActions
    metrics: MetricsService
    ops: OpsService
    api_tokens: ApiTokenService
    analytics: AnalyticsService
    idempotency: IdempotencyService
    export: ExportService
    versions: DataVersionService

    @classmethod
    def create(
        cls,
        settings: Settings | None = None,
        *,
        clock: Clock | None = None,
        db: Database | None = None,
        hasher: PasswordHasher | None = None,
        connectors: ConnectorPool | None = None,
        cipher: TokenCipher | None = None,
    ) -> Herald:
        settings = settings or get_settings()
        clock = clock or SystemClock()
        db = db or Database(settings.database_url, app_role=settings.database_role or None)
        hasher = hasher or PasswordHasher()  # Argon2id, RFC 9106 low-memory profile (64 MiB)
        best_times = BestTimeService(db, clock)
        connectors = connectors or ConnectorPool(settings, clock=clock)
        accounts = AccountService(db, clock, cipher or LazyCipher(settings), connectors)
        publishing = PublishingService(db, clock, accounts, connectors,
                                       reconcile_delay_seconds=settings.reconcile_delay_seconds,
                                       retry_base_seconds=settings.retry_base_seconds)
        return cls(
            settings=settings, db=db, clock=clock,
            orgs=OrgService(db, clock),
            users=UserService(db, clock, hasher),
            scheduling=SchedulingService(db, clock, best_times),
            approvals=ApprovalService(db, clock),
            calendar=CalendarService(db, clock),
            library=LibraryService(db, clock),
            best_times=best_times,
            connectors=connectors,
            accounts=accounts,
            publishing=publishing,
            queue_actions=QueueActions(db, clock),
            metrics=publishing.metrics,
            ops=OpsService(db, clock),
            api_tokens=ApiTokenService(db, clock),
            analytics=AnalyticsService(db, clock),
            idempotency=IdempotencyService(db, clock),
            export=ExportService(db, clock),
            versions=DataVersionService(db, clock),
        )

    def close(self) -> None:
        self.connectors.close()
        self.db.dispose()
