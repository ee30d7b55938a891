"""What every service shares: the database, the clock, and small helpers used in each."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from core.clock import Clock
from core.db.engine import Database, UnitOfWork
from core.db.models import AuditEvent, Base, Org
from core.errors import NotFound, Problem, ValidationFailed
from core.services.context import Actor

M = TypeVar("M", bound=Base)


class Service:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    @contextmanager
    def uow(self, actor: Actor, *, readonly: bool = False) -> Iterator[UnitOfWork]:
        with self.db.unit_of_work(actor.org_id, readonly=readonly) as uow:
            yield uow

    def now(self) -> datetime:
        return self.clock.now()


def parse_id(value: Any, entity: str) -> uuid.UUID:
    """Ids arrive as strings from forms and URLs; a malformed one is simply not found."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (ValueError, AttributeError, TypeError):
        raise NotFound(entity, value) from None


def get_owned(session: Session, model: type[M], actor: Actor, entity_id: Any, entity: str) -> M:
    """Load a row of the actor's org by primary key; another org's row is simply 'not found'."""
    row = session.get(model, parse_id(entity_id, entity))
    if row is None or getattr(row, "org_id", None) != actor.org_id:
        raise NotFound(entity, entity_id)
    return row


def load_org(session: Session, org_id: uuid.UUID) -> Org:
    org = session.get(Org, org_id)
    if org is None:
        raise NotFound("org", org_id)
    return org


def audit(
    session: Session,
    actor: Actor | None,
    org_id: uuid.UUID,
    action: str,
    entity_type: str,
    entity_id: Any,
    at: datetime,
    data: dict[str, Any] | None = None,
) -> None:
    session.add(
        AuditEvent(
            org_id=org_id,
            actor_id=actor.user_id if actor else None,
            action=action,
            entity_type=entity_type,
            entity_id=str(entity_id),
            at=at,
            data=data or {},
        )
    )


def problem(field: str, code: str, message: str, **extra: Any) -> ValidationFailed:
    return ValidationFailed([Problem(field=field, code=code, message=message, **extra)])
