"""Idempotency keys: a retried create returns the first result instead of creating again.

The client names the attempt (the API's ``Idempotency-Key`` header); the key is stored per org in
``idempotency_keys`` with a fingerprint of the request (who sent it, method, path, body) and, once
the first request has finished, its response. So a retry in any process, after any restart:

- with the same request, gets the stored response back (``replayed=True``), and nothing runs;
- with a different request, is refused (``ValidationFailed``, code ``idempotency_key_reused``);
- while the first request is still running, is refused (``Conflict``): retry in a moment.

A request that fails (validation, conflict, anything) lets the key go, so the corrected request
may use it again. A process that dies holding a key holds it for ``LEASE`` at most; after that a
retry runs again. Creates that matter most are safe even then: posts carry the key in their own
row (``scheduled_posts.idempotency_key``), written in the post's transaction, so a re-run finds
the post it made.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from core.db.models import IdempotencyKey
from core.errors import Conflict, Problem, ValidationFailed
from core.services.base import Service
from core.services.context import Actor

LEASE = timedelta(seconds=60)
# How long a finished request's key and response are kept for retries (Stripe's window too); the
# daemon purges older ones hourly. Posts stay safe past it: they carry their key in their row.
KEEP_KEYS = timedelta(hours=24)
MAX_KEY_LENGTH = 200
IN_PROGRESS, COMPLETED = "in_progress", "completed"
KEY_FIELD = "Idempotency-Key"


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: dict[str, Any]
    replayed: bool


def check_key(key: str) -> str:
    """Keys are 1-200 visible ASCII characters (no spaces), e.g. a UUID the client generated."""
    if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_LENGTH or not all(
            "!" <= ch <= "~" for ch in key):
        raise ValidationFailed([Problem(
            field=KEY_FIELD, code="invalid", limit=MAX_KEY_LENGTH,
            message=f"{KEY_FIELD} must be 1 to {MAX_KEY_LENGTH} visible ASCII characters "
                    "without spaces (a UUID is a good choice)")])
    return key


def request_fingerprint(actor: Actor, request: Any) -> str:
    """The same user sending the same request gives the same fingerprint (key order ignored)."""
    text = json.dumps([str(actor.user_id), request], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class IdempotencyService(Service):
    def run(self, actor: Actor, key: str, request: Any,
            action: Callable[[], tuple[int, dict[str, Any]]]) -> StoredResponse:
        """Run ``action`` (which returns a status code and a JSON-ready body) once per key.

        ``request`` describes the request (method, path, body); a retry must describe the
        same one."""
        check_key(key)
        fingerprint = request_fingerprint(actor, request)
        stored = self._reserve(actor, key, fingerprint)
        if stored is not None:
            return stored
        try:
            status_code, body = action()
        except BaseException:
            with contextlib.suppress(Exception):  # if even that fails, the key lapses with its lease
                self._release(actor, key, fingerprint)
            raise
        self._complete(actor, key, fingerprint, status_code, body)
        return StoredResponse(status_code, body, replayed=False)

    def _reserve(self, actor: Actor, key: str, fingerprint: str) -> StoredResponse | None:
        """None when this request now holds the key; the stored response when it already ran."""
        now = self.now()
        with self.uow(actor) as uow:
            row = uow.session.scalar(select(IdempotencyKey).where(
                IdempotencyKey.org_id == actor.org_id, IdempotencyKey.key == key).with_for_update())
            if row is None:
                uow.session.add(IdempotencyKey(
                    idempotency_id=uuid.uuid4(), org_id=actor.org_id, key=key, user_id=actor.user_id,
                    request_fingerprint=fingerprint, status=IN_PROGRESS, locked_until=now + LEASE,
                    created_at=now))
                try:
                    uow.commit()
                except IntegrityError:
                    # Another request inserted the same key between our read and our insert.
                    raise _in_progress() from None
                return None
            if row.request_fingerprint != fingerprint:
                raise ValidationFailed([Problem(
                    field=KEY_FIELD, code="idempotency_key_reused", actual=key,
                    message=f"{KEY_FIELD} '{key}' was already used for a different request; "
                            "use a new key for a new request")])
            if row.status == COMPLETED and row.response_status is not None:
                return StoredResponse(row.response_status, dict(row.response_body or {}), replayed=True)
            if row.locked_until is not None and row.locked_until > now:
                raise _in_progress()
            # The first request's process died holding the key: this retry takes it over.
            row.locked_until = now + LEASE
            uow.commit()
        return None

    def _complete(self, actor: Actor, key: str, fingerprint: str, status_code: int,
                  body: dict[str, Any]) -> None:
        with self.uow(actor) as uow:
            uow.session.execute(
                update(IdempotencyKey)
                .where(IdempotencyKey.org_id == actor.org_id, IdempotencyKey.key == key,
                       IdempotencyKey.request_fingerprint == fingerprint)
                .values(status=COMPLETED, response_status=status_code, response_body=body,
                        completed_at=self.now(), locked_until=None))
            uow.commit()

    def _release(self, actor: Actor, key: str, fingerprint: str) -> None:
        with self.uow(actor) as uow:
            uow.session.execute(delete(IdempotencyKey).where(
                IdempotencyKey.org_id == actor.org_id, IdempotencyKey.key == key,
                IdempotencyKey.request_fingerprint == fingerprint, IdempotencyKey.status == IN_PROGRESS))
            uow.commit()


    def purge_expired(self) -> int:
        """Delete, in every org, the keys older than ``KEEP_KEYS`` (a daemon job)."""
        with self.db.unit_of_work(system=True) as uow:
            result = uow.session.execute(delete(IdempotencyKey).where(
                IdempotencyKey.created_at < self.now() - KEEP_KEYS))
            uow.commit()
        return int(getattr(result, "rowcount", 0) or 0)


def _in_progress() -> Conflict:
    return Conflict(f"A request with this {KEY_FIELD} is still being processed; "
                    "retry in a few seconds to get its result")
