"""SQLAlchemy 2 typed models: the seed's five tables (with its column names) and Herald's own.

Every table but ``worker_heartbeats`` and ``job_runs`` (cluster-level) carries ``org_id``; on
PostgreSQL each of them is guarded by a row-level-security policy (see ``core/db/ddl.py``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from core.db.types import JSONType, UTCDateTime
from core.domain.metrics import PlatformPostLifecycle
from core.domain.posts import PostLifecycle

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType, list[Any]: JSONType}


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, primary_key=True, default=uuid.uuid4)


def _org_fk() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, ForeignKey("orgs.org_id", ondelete="CASCADE"), index=True)


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Org(Timestamped, Base):
    __tablename__ = "orgs"

    org_id: Mapped[uuid.UUID] = _uuid_pk()
    name: Mapped[str] = mapped_column(String(255))
    timezone: Mapped[str] = mapped_column(String(64), server_default="UTC")
    approval_required: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    approvals_needed: Mapped[int] = mapped_column(Integer, server_default="1")
    allow_self_approval: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    max_posts_per_platform_per_day: Mapped[int] = mapped_column(Integer, server_default="3")
    min_gap_minutes: Mapped[int] = mapped_column(Integer, server_default="60")
    blocked_terms: Mapped[list[Any]] = mapped_column(server_default="[]")


class User(Timestamped, Base):
    __tablename__ = "users"

    user_id: Mapped[uuid.UUID] = _uuid_pk()
    org_id: Mapped[uuid.UUID] = _org_fk()
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    last_login_at: Mapped[datetime | None]


class ContentLibraryItem(Timestamped, Base):
    __tablename__ = "content_library"

    content_id: Mapped[uuid.UUID] = _uuid_pk()
    org_id: Mapped[uuid.UUID] = _org_fk()
    created_by: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.user_id"))
    title: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(50))  # text|image|video|template|hashtag_set
    category: Mapped[str | None] = mapped_column(String(100))
    content: Mapped[str | None] = mapped_column(Text)
    media_urls: Mapped[list[Any]] = mapped_column(server_default="[]")
    # "metadata" is reserved on declarative classes; the column keeps the seed's name.
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", server_default="{}")
    usage_count: Mapped[int] = mapped_column(Integer, server_default="0")
    last_used_at: Mapped[datetime | None]

    __table_args__ = (Index("idx_content_library_org_type", "org_id", "content_type"),)


class ScheduledPost(PostLifecycle, Timestamped, Base):
    __tablename__ = "scheduled_posts"

    post_id: Mapped[uuid.UUID] = _uuid_pk()
    org_id: Mapped[uuid.UUID] = _org_fk()
    created_by: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.user_id"))
    title: Mapped[str | None] = mapped_column(String(255))
    content: Mapped[str] = mapped_column(Text)
    media_urls: Mapped[list[Any]] = mapped_column(server_default="[]")
    media_metadata: Mapped[dict[str, Any]] = mapped_column(server_default="{}")
    post_type: Mapped[str] = mapped_column(String(50))
    platforms: Mapped[list[Any]] = mapped_column()
    platform_specific_content: Mapped[dict[str, Any]] = mapped_column(server_default="{}")
    platform_options: Mapped[dict[str, Any]] = mapped_column(server_default="{}")
    status: Mapped[str] = mapped_column(String(50), server_default="draft")
    scheduled_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    approval_status: Mapped[str] = mapped_column(String(50), server_default="pending")
    approved_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.user_id"))
    approved_at: Mapped[datetime | None]
    approval_round: Mapped[int] = mapped_column(Integer, server_default="0")
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    hashtags: Mapped[list[Any]] = mapped_column(server_default="[]")
    mentions: Mapped[list[Any]] = mapped_column(server_default="[]")
    location_tag: Mapped[str | None] = mapped_column(String(255))
    content_library_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("content_library.content_id", ondelete="SET NULL")
    )
    error_message: Mapped[str | None] = mapped_column(Text)
    retry_count: Mapped[int] = mapped_column(Integer, server_default="0")
    idempotency_key: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        Index("idx_scheduled_posts_org_status", "org_id", "status"),
        Index(
            "idx_scheduled_posts_scheduled_at",
            "scheduled_at",
            postgresql_where=text("status = 'scheduled'"),
            sqlite_where=text("status = 'scheduled'"),
        ),
        Index("idx_scheduled_posts_org_scheduled_at", "org_id", "scheduled_at"),
        # Published posts by date: the performance reads and the calendar's unscheduled posts.
        Index("idx_scheduled_posts_org_published_at", "org_id", "published_at"),
        UniqueConstraint("org_id", "idempotency_key", name="uq_scheduled_posts_idempotency"),
    )


class PlatformPost(PlatformPostLifecycle, Timestamped, Base):
    __tablename__ = "platform_posts"

    platform_post_id: Mapped[uuid.UUID] = _uuid_pk()
    org_id: Mapped[uuid.UUID] = _org_fk()
    scheduled_post_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("scheduled_posts.post_id", ondelete="CASCADE")
    )
    platform: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(50), server_default="pending")
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("social_accounts.account_id", ondelete="SET NULL")
    )
    platform_post_id_external: Mapped[str | None] = mapped_column(String(255))
    post_url: Mapped[str | None] = mapped_column(Text)
    platform_response: Mapped[dict[str, Any] | None] = mapped_column()
    published_at: Mapped[datetime | None]
    error_message: Mapped[str | None] = mapped_column(Text)
    likes: Mapped[int] = mapped_column(Integer, server_default="0")
    comments: Mapped[int] = mapped_column(Integer, server_default="0")
    shares: Mapped[int] = mapped_column(Integer, server_default="0")
    views: Mapped[int] = mapped_column(Integer, server_default="0")
    saves: Mapped[int | None] = mapped_column(Integer)
    reach: Mapped[int | None] = mapped_column(Integer)
    clicks: Mapped[int | None] = mapped_column(Integer)
    engagement: Mapped[int] = mapped_column(Integer, server_default="0")
    engagement_rate: Mapped[float] = mapped_column(Numeric(7, 2, asdecimal=False), server_default="0")
    last_synced_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("scheduled_post_id", "platform", name="uq_platform_posts_post_platform"),
        Index("idx_platform_posts_org_platform", "org_id", "platform"),
        Index("idx_platform_posts_org_published_at", "org_id", "published_at"),
    )


class PublishingQueueItem(Timestamped, Base):
    __tablename__ = "publishing_queue"

    queue_id: Mapped[uuid.UUID] = _uuid_pk()
    org_id: Mapped[uuid.UUID] = _org_fk()
    scheduled_post_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("scheduled_posts.post_id", ondelete="CASCADE")
    )
    platform: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(50), server_default="pending")
    scheduled_for: Mapped[datetime] = mapped_column()
    # When the item is next eligible: scheduled_for at first, moved later by retries/backoff.
    next_attempt_at: Mapped[datetime] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    max_attempts: Mapped[int] = mapped_column(Integer, server_default="3")
    last_attempt_at: Mapped[datetime | None]
    error_message: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(String(255))
    locked_until: Mapped[datetime | None]
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("social_accounts.account_id", ondelete="SET NULL")
    )
    # How many times Herald asked the network whether an unconfirmed publish went out.
    reconcile_checks: Mapped[int] = mapped_column(Integer, server_default="0")
    # Staging ahead of the scheduled time (core.services.staging): None (not looked at yet),
    # "staging" (a worker holds it until stage_until), "staged" (``staged`` holds what the
    # connector prepared), "nothing" (nothing to prepare) or "failed" (published whole when due).
    stage_state: Mapped[str | None] = mapped_column(String(16))
    stage_until: Mapped[datetime | None]
    staged: Mapped[dict[str, Any] | None]

    __table_args__ = (
        Index(
            "idx_publishing_queue_scheduled_for",
            "scheduled_for",
            "status",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index(
            "idx_publishing_queue_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index("idx_publishing_queue_post", "scheduled_post_id"),
        Index(
            "idx_publishing_queue_to_stage",
            "next_attempt_at",
            postgresql_where=text("status = 'pending' AND stage_state IS NULL"),
            sqlite_where=text("status = 'pending' AND stage_state IS NULL"),
        ),
        Index("idx_publishing_queue_org_platform_for", "org_id", "platform", "scheduled_for"),
        Index("idx_publishing_queue_org_status", "org_id", "status"),
    )


class BestTimeRecommendation(Timestamped, Base):
    __tablename__ = "best_time_recommendations"

    recommendation_id: Mapped[uuid.UUID] = _uuid_pk()
    org_id: Mapped[uuid.UUID] = _org_fk()
    platform: Mapped[str] = mapped_column(String(50))
    day_of_week: Mapped[str] = mapped_column(String(20))
    hour_of_day: Mapped[int] = mapped_column(Integer)
    engagement_score: Mapped[float] = mapped_column(Numeric(5, 2, asdecimal=False), server_default="0")
    sample_size: Mapped[int] = mapped_column(Integer, server_default="0")
    avg_engagement_rate: Mapped[float] = mapped_column(Numeric(7, 2, asdecimal=False), server_default="0")
    performance_data: Mapped[dict[str, Any]] = mapped_column(server_default="{}")
    calculated_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint(
            "org_id", "platform", "day_of_week", "hour_of_day", name="uq_best_time_slot"
        ),
        Index("idx_best_times_org_platform_day", "org_id", "platform", "day_of_week"),
    )


class SocialAccount(Timestamped, Base):
    __tablename__ = "social_accounts"

    account_id: Mapped[uuid.UUID] = _uuid_pk()
    org_id: Mapped[uuid.UUID] = _org_fk()
    platform: Mapped[str] = mapped_column(String(50))
    external_account_id: Mapped[str] = mapped_column(String(255))
    username: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255))
    access_token_encrypted: Mapped[str] = mapped_column(Text)
    refresh_token_encrypted: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None]
    refresh_expires_at: Mapped[datetime | None]
    scopes: Mapped[list[Any]] = mapped_column(server_default="[]")
    status: Mapped[str] = mapped_column(String(20), server_default="active")
    status_reason: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict[str, Any]] = mapped_column(server_default="{}")
    connected_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("users.user_id"))
    last_refreshed_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint(
            "org_id", "platform", "external_account_id", name="uq_social_accounts_identity"
        ),
    )


class Approval(Base):
    __tablename__ = "approvals"

    approval_id: Mapped[uuid.UUID] = _uuid_pk()
    org_id: Mapped[uuid.UUID] = _org_fk()
    post_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("scheduled_posts.post_id", ondelete="CASCADE"), index=True
    )
    reviewer_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.user_id"))
    decision: Mapped[str] = mapped_column(String(20))  # approved | rejected
    comment: Mapped[str | None] = mapped_column(Text)
    round: Mapped[int] = mapped_column(Integer)
    decided_at: Mapped[datetime] = mapped_column()


class AuditEvent(Base):
    __tablename__ = "audit_events"

    event_id: Mapped[uuid.UUID] = _uuid_pk()
    org_id: Mapped[uuid.UUID] = _org_fk()
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    action: Mapped[str] = mapped_column(String(100))
    entity_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column()
    data: Mapped[dict[str, Any]] = mapped_column(server_default="{}")

    __table_args__ = (Index("idx_audit_events_entity", "org_id", "entity_type", "entity_id"),)


class PublishAttempt(Base):
    __tablename__ = "publish_attempts"

    attempt_id: Mapped[uuid.UUID] = _uuid_pk()
    org_id: Mapped[uuid.UUID] = _org_fk()
    queue_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("publishing_queue.queue_id", ondelete="CASCADE"), index=True
    )
    attempt_no: Mapped[int] = mapped_column(Integer)
    worker_id: Mapped[str | None] = mapped_column(String(255))
    started_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(30))  # success|retryable|auth|permanent|unknown
    http_status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    # When the network said it would take the call again (rate-limit reset, Retry-After), if it did.
    retry_after: Mapped[datetime | None]


class ApiToken(Base):
    __tablename__ = "api_tokens"

    token_id: Mapped[uuid.UUID] = _uuid_pk()
    org_id: Mapped[uuid.UUID] = _org_fk()
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.user_id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_used_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class IdempotencyKey(Base):
    """A client's ``Idempotency-Key`` (per org): the request it was first used with, as a
    fingerprint, and once that request is done the response to replay to its retries."""

    __tablename__ = "idempotency_keys"

    idempotency_id: Mapped[uuid.UUID] = _uuid_pk()
    # No index of its own: the unique (org_id, key) constraint's index leads with org_id.
    org_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("orgs.org_id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("users.user_id", ondelete="CASCADE"))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(20))  # in_progress | completed
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[dict[str, Any] | None] = mapped_column()
    # While in progress: until when the first request holds the key (a crashed one lets go).
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    completed_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("org_id", "key", name="uq_idempotency_keys_org_key"),)


class DataVersion(Base):
    """Per org, one version per area of data the dashboard caches. Database triggers change an
    area's version in the same transaction as any write to its tables (``DATA_AREAS``; the SQL is
    in ``core/db/ddl.py``), whichever process and code path writes, so a cache keyed by the
    version is never served after a change commits. An org's version of an area is folded from
    its rows (``slot``s; see ``core.services.data_versions``). Compare versions, never order them.

    Why slots: a writer holds the row it changed until it commits, so with one row per org every
    transaction that touches an org's posts would queue behind the last one: the daemons' claims
    and settlements (a post's status changes on both) fell from thousands a second to under two
    hundred. On PostgreSQL each connection writes the row of its own slot (its backend pid
    modulo ``core.db.ddl.DATA_VERSION_SLOTS``), so concurrent writers rarely meet; SQLite has one writer at
    a time and uses slot 0."""

    __tablename__ = "data_versions"

    # No foreign key: deleting an org cascades to rows whose triggers write here again for that
    # org; a leftover row is harmless, a failed deletion would not be.
    org_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True, server_default="0")
    posts: Mapped[int] = mapped_column(BigInteger, server_default="0")
    metrics: Mapped[int] = mapped_column(BigInteger, server_default="0")
    best_times: Mapped[int] = mapped_column(BigInteger, server_default="0")
    library: Mapped[int] = mapped_column(BigInteger, server_default="0")
    accounts: Mapped[int] = mapped_column(BigInteger, server_default="0")
    settings: Mapped[int] = mapped_column(BigInteger, server_default="0")


# Which tables' writes change which area's version (a column of data_versions).
DATA_AREAS: dict[str, tuple[str, ...]] = {
    "posts": ("scheduled_posts",),
    "metrics": ("platform_posts",),
    "best_times": ("best_time_recommendations",),
    "library": ("content_library",),
    "accounts": ("social_accounts",),
    "settings": ("orgs",),
}


class WorkerHeartbeat(Base):
    """Cluster-level (not per org): one row per running scheduler daemon."""

    __tablename__ = "worker_heartbeats"

    worker_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column()
    last_seen_at: Mapped[datetime] = mapped_column()
    items_processed: Mapped[int] = mapped_column(Integer, server_default="0")
    info: Mapped[dict[str, Any]] = mapped_column(server_default="{}")


class JobRun(Base):
    """Cluster-level (not per org): when the daemons' periodic job ``job_name`` last ran, so it
    runs once per interval across all daemons (see ``OpsService.periodic_run``)."""

    __tablename__ = "job_runs"

    job_name: Mapped[str] = mapped_column(String(100), primary_key=True)
    last_started_at: Mapped[datetime] = mapped_column()
    # When the run that started at last_started_at finished; NULL while it runs, or if it failed,
    # was cut short or its daemon died (such a run does not count: the job is due again).
    last_finished_at: Mapped[datetime | None]
    worker_id: Mapped[str] = mapped_column(String(255))  # the daemon that started the last run


ORG_TABLES: tuple[str, ...] = tuple(
    t.name for t in Base.metadata.sorted_tables if "org_id" in t.c
)
