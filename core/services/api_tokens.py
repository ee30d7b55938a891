"""API tokens: personal bearer tokens for scripts and the API.

A token is ``hrld_`` + 40 url-safe random characters. It is shown once, when created; only its
SHA-256 hash is stored (``api_tokens.token_hash``), with its first 10 characters kept so people
can tell their tokens apart. A leaked database therefore leaks no usable token. SHA-256 (not a
slow password hash) is enough here: the secret has 240 bits of entropy, so there is nothing to
guess, and a fast hash keeps the per-request lookup a single indexed query.
"""

from __future__ import annotations

import builtins
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from core.db.models import ApiToken, User
from core.errors import AuthenticationFailed, NotFound, Problem, ValidationFailed
from core.services.base import Service, audit, get_owned
from core.services.context import Actor
from core.services.users import UserView

TOKEN_PREFIX = "hrld_"
TOKEN_RANDOM_BYTES = 30  # 30 bytes -> 40 url-safe base64 characters
TOKEN_LENGTH = len(TOKEN_PREFIX) + 40
DISPLAY_PREFIX_LENGTH = 10
MAX_EXPIRES_DAYS = 3650
MAX_NAME_LENGTH = 255
INVALID_TOKEN_MESSAGE = "The API token is invalid, expired or revoked"
# last_used_at is kept to the minute: writing it on every request would make each API call a
# write, all of one client's calls queueing on one row.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class TokenView:
    token_id: uuid.UUID
    user_id: uuid.UUID
    user_email: str
    name: str
    token_prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, token: ApiToken, user_email: str) -> TokenView:
        return cls(token.token_id, token.user_id, user_email, token.name, token.token_prefix,
                   token.created_at, token.last_used_at, token.expires_at, token.revoked_at)

    def status(self, now: datetime) -> str:
        """``active``, ``revoked`` or ``expired`` at ``now``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


def hash_token(plain: str) -> str:
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def new_plain_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_RANDOM_BYTES)


def check_token_input(name: str, expires_days: Any) -> str:
    """The cleaned name; every problem with the input at once."""
    problems: builtins.list[Problem] = []
    cleaned = (name or "").strip()
    if not cleaned:
        problems.append(Problem(field="name", code="required",
                                message="Name the token after what will use it (e.g. 'reporting script')"))
    elif len(cleaned) > MAX_NAME_LENGTH:
        problems.append(Problem(field="name", code="too_long", message="Token names are at most 255 characters",
                                limit=MAX_NAME_LENGTH, actual=len(cleaned)))
    if expires_days is not None and (not isinstance(expires_days, int) or isinstance(expires_days, bool)
                                     or not 1 <= expires_days <= MAX_EXPIRES_DAYS):
        problems.append(Problem(field="expires_days", code="out_of_range",
                                message=f"A token expires after 1 to {MAX_EXPIRES_DAYS} days (or never)",
                                limit=f"1..{MAX_EXPIRES_DAYS}", actual=expires_days))
    if problems:
        raise ValidationFailed(problems)
    return cleaned


class ApiTokenService(Service):
    def create(self, actor: Actor, name: str, expires_days: int | None = None) -> tuple[TokenView, str]:
        """A new token for the acting user: its view and the plain token (never stored; show it once)."""
        actor.require("tokens.manage_own")
        cleaned = check_token_input(name, expires_days)
        with self.uow(actor) as uow:
            user = get_owned(uow.session, User, actor, actor.user_id, "user")
            view, plain = self._issue(uow.session, user, cleaned, expires_days, actor)
            uow.commit()
        return view, plain

    def create_for_email(self, email: str, *, name: str, expires_days: int | None = None) -> tuple[TokenView, str]:
        """The admin command's path (``python -m core create-api-token``): no signed-in actor, so
        the user is found by email in the explicit system scope."""
        cleaned = check_token_input(name, expires_days)
        address = (email or "").strip().lower()
        with self.db.unit_of_work(system=True) as uow:
            user = uow.session.scalar(select(User).where(User.email == address))
            if user is None:
                raise NotFound("user", address)
            if not user.is_active:
                raise ValidationFailed([Problem(field="email", code="inactive_user", actual=address,
                                                message=f"{address} is deactivated; reactivate the user first")])
            view, plain = self._issue(uow.session, user, cleaned, expires_days, None)
            uow.commit()
        return view, plain

    def list(self, actor: Actor) -> builtins.list[TokenView]:
        """The actor's own tokens; an admin sees every token in the org. Newest first."""
        query = (select(ApiToken, User.email).join(User, User.user_id == ApiToken.user_id)
                 .where(ApiToken.org_id == actor.org_id)
                 .order_by(ApiToken.created_at.desc(), ApiToken.name))
        if not actor.can("tokens.manage_any"):
            query = query.where(ApiToken.user_id == actor.user_id)
        with self.uow(actor, readonly=True) as uow:
            return [TokenView.of(token, email) for token, email in uow.session.execute(query)]

    def revoke(self, actor: Actor, token_id: Any) -> TokenView:
        """Revoke a token at once. Revoking a revoked token changes nothing."""
        actor.require("tokens.manage_own")
        with self.uow(actor) as uow:
            token = get_owned(uow.session, ApiToken, actor, token_id, "API token")
            if token.user_id != actor.user_id and not actor.can("tokens.manage_any"):
                # Another user's token looks exactly like an unknown one.
                raise NotFound("API token", token_id)
            if token.revoked_at is None:
                token.revoked_at = self.now()
                audit(uow.session, actor, actor.org_id, "api_token.revoked", "api_token", token.token_id,
                      self.now(), {"name": token.name, "prefix": token.token_prefix})
            owner = uow.session.get(User, token.user_id)
            view = TokenView.of(token, owner.email if owner else "")
            uow.commit()
        return view

    def authenticate(self, plain: str) -> Actor:
        """The actor a token stands for. Unknown, revoked and expired tokens and inactive users
        are all refused with the same :class:`AuthenticationFailed` message."""
        if not isinstance(plain, str) or not plain.startswith(TOKEN_PREFIX) or len(plain) != TOKEN_LENGTH:
            raise AuthenticationFailed(INVALID_TOKEN_MESSAGE)
        now = self.now()
        # Cross-org by nature: the token is what tells us the org.
        with self.db.unit_of_work(system=True, readonly=True) as uow:
            row = uow.session.execute(
                select(ApiToken, User).join(User, User.user_id == ApiToken.user_id)
                .where(ApiToken.token_hash == hash_token(plain))
            ).first()
            if row is None:
                raise AuthenticationFailed(INVALID_TOKEN_MESSAGE)
            token, user = row
            expired = token.expires_at is not None and token.expires_at <= now
            if token.revoked_at is not None or expired or not user.is_active:
                raise AuthenticationFailed(INVALID_TOKEN_MESSAGE)
            actor = UserView.of(user).actor()
            token_id, recorded = token.token_id, token.last_used_at
        if recorded is None or now - recorded >= LAST_USED_RESOLUTION:
            self._record_use(token_id, now)
        return actor

    def _record_use(self, token_id: uuid.UUID, now: datetime) -> None:
        # Conditional, so concurrent requests with one token write the row once, not once each.
        with self.db.unit_of_work(system=True) as uow:
            uow.session.execute(update(ApiToken).where(
                ApiToken.token_id == token_id,
                or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - LAST_USED_RESOLUTION),
            ).values(last_used_at=now))
            uow.commit()

    def _issue(self, session: Session, user: User, name: str, expires_days: int | None,
               actor: Actor | None) -> tuple[TokenView, str]:
        now = self.now()
        plain = new_plain_token()
        token = ApiToken(token_id=uuid.uuid4(), org_id=user.org_id, user_id=user.user_id, name=name,
                         token_hash=hash_token(plain), token_prefix=plain[:DISPLAY_PREFIX_LENGTH],
                         created_at=now,
                         expires_at=now + timedelta(days=expires_days) if expires_days else None)
        session.add(token)
        audit(session, actor, user.org_id, "api_token.created", "api_token", token.token_id, now,
              {"name": name, "prefix": token.token_prefix, "user_id": str(user.user_id),
               "expires_days": expires_days})
        session.flush()
        return TokenView.of(token, user.email), plain
