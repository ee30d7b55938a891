"""Orgs, users and sign-in. Passwords are hashed with Argon2id (memory-hard)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select

from core.clock import Clock
from core.db.engine import Database
from core.db.models import Org, User
from core.domain.roles import Role, parse_role
from core.domain.timezones import validate_timezone
from core.errors import AuthenticationFailed, Forbidden, NotFound, Problem, ValidationFailed
from core.services.base import Service, audit, get_owned, load_org, parse_id
from core.services.context import Actor

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 8


@dataclass(frozen=True)
class OrgView:
    org_id: uuid.UUID
    name: str
    timezone: str
    approval_required: bool
    approvals_needed: int
    allow_self_approval: bool
    max_posts_per_platform_per_day: int
    min_gap_minutes: int
    blocked_terms: list[str]

    @classmethod
    def of(cls, org: Org) -> OrgView:
        return cls(
            org_id=org.org_id,
            name=org.name,
            timezone=org.timezone,
            approval_required=org.approval_required,
            approvals_needed=org.approvals_needed,
            allow_self_approval=org.allow_self_approval,
            max_posts_per_platform_per_day=org.max_posts_per_platform_per_day,
            min_gap_minutes=org.min_gap_minutes,
            blocked_terms=list(org.blocked_terms or []),
        )


@dataclass(frozen=True)
class UserView:
    user_id: uuid.UUID
    org_id: uuid.UUID
    email: str
    name: str
    role: str
    is_active: bool
    last_login_at: datetime | None

    @classmethod
    def of(cls, user: User) -> UserView:
        return cls(user.user_id, user.org_id, user.email, user.name, user.role, user.is_active,
                   user.last_login_at)

    def actor(self) -> Actor:
        return Actor(self.user_id, self.org_id, self.role, self.email, self.name)


ORG_SETTING_FIELDS = (
    "name", "timezone", "approval_required", "approvals_needed", "allow_self_approval",
    "max_posts_per_platform_per_day", "min_gap_minutes", "blocked_terms",
)


def check_org_settings(changes: dict[str, Any]) -> list[Problem]:
    """Every problem with proposed org settings, at once."""
    problems: list[Problem] = []
    for key in changes:
        if key not in ORG_SETTING_FIELDS:
            problems.append(Problem(field=key, code="unknown_setting", message=f"'{key}' is not an org setting"))
    if "name" in changes and not str(changes["name"] or "").strip():
        problems.append(Problem(field="name", code="required", message="The organisation needs a name"))
    if "timezone" in changes:
        try:
            validate_timezone(str(changes["timezone"]))
        except ValidationFailed as exc:
            problems.extend(exc.problems)
    n = changes.get("approvals_needed")
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 3):
        problems.append(Problem(field="approvals_needed", code="out_of_range",
                                message="Approvals needed must be 1, 2 or 3", limit="1..3", actual=n))
    cap = changes.get("max_posts_per_platform_per_day")
    if cap is not None and (not isinstance(cap, int) or isinstance(cap, bool) or not 1 <= cap <= 100):
        problems.append(Problem(field="max_posts_per_platform_per_day", code="out_of_range",
                                message="The daily cap must be between 1 and 100 posts per network",
                                limit="1..100", actual=cap))
    gap = changes.get("min_gap_minutes")
    if gap is not None and (not isinstance(gap, int) or isinstance(gap, bool) or not 0 <= gap <= 1440):
        problems.append(Problem(field="min_gap_minutes", code="out_of_range",
                                message="The minimum gap must be between 0 and 1440 minutes",
                                limit="0..1440", actual=gap))
    terms = changes.get("blocked_terms")
    if terms is not None and (not isinstance(terms, list) or not all(isinstance(t, str) for t in terms)):
        problems.append(Problem(field="blocked_terms", code="invalid",
                                message="Blocked terms must be a list of words or phrases"))
    return problems


class OrgService(Service):
    def create_org(self, name: str, timezone: str = "UTC", **settings: Any) -> OrgView:
        """Create an org (an admin-command / onboarding action, outside any org)."""
        changes = {"name": name, "timezone": timezone, **settings}
        problems = check_org_settings(changes)
        if problems:
            raise ValidationFailed(problems)
        if "blocked_terms" in changes:
            changes["blocked_terms"] = [t.strip() for t in changes["blocked_terms"] if t.strip()]
        with self.db.unit_of_work(system=True) as uow:
            org = Org(org_id=uuid.uuid4(), **{**changes, "name": name.strip()})
            uow.session.add(org)
            uow.flush()
            audit(uow.session, None, org.org_id, "org.created", "org", org.org_id, self.now(),
                  {"name": org.name, "timezone": org.timezone})
            view = OrgView.of(org)
            uow.commit()
        return view

    def get_org(self, actor: Actor) -> OrgView:
        with self.uow(actor, readonly=True) as uow:
            return OrgView.of(load_org(uow.session, actor.org_id))

    def update_settings(self, actor: Actor, **changes: Any) -> OrgView:
        actor.require("settings.manage")
        problems = check_org_settings(changes)
        if problems:
            raise ValidationFailed(problems)
        with self.uow(actor) as uow:
            org = load_org(uow.session, actor.org_id)
            before = {k: getattr(org, k) for k in changes}
            for key, value in changes.items():
                setattr(org, key, value.strip() if isinstance(value, str) else value)
            org.updated_at = self.now()
            audit(uow.session, actor, org.org_id, "org.settings_changed", "org", org.org_id,
                  self.now(), {"before": before, "after": changes})
            view = OrgView.of(org)
            uow.commit()
        return view


class UserService(Service):
    def __init__(self, db: Database, clock: Clock, hasher: PasswordHasher) -> None:
        super().__init__(db, clock)
        self.hasher = hasher
        # Verified against when the email is unknown, so both paths cost the same time.
        self._dummy_hash = hasher.hash("herald-timing-equaliser")

    def create_user(
        self, actor: Actor | None, *, org_id: Any, email: str, name: str, role: str, password: str
    ) -> UserView:
        """Add a user to an org. ``actor`` None means an admin command (system scope)."""
        org_uuid = parse_id(org_id, "org")
        if actor is not None:
            actor.require("users.manage")
            if actor.org_id != org_uuid:
                raise NotFound("org", org_id)
        email = (email or "").strip().lower()
        problems = []
        if not EMAIL_RE.match(email):
            problems.append(Problem(field="email", code="invalid_email",
                                    message=f"'{email}' is not an email address", actual=email))
        if not (name or "").strip():
            problems.append(Problem(field="name", code="required", message="The user needs a name"))
        try:
            parse_role(role)
        except ValidationFailed as exc:
            problems.extend(exc.problems)
        if len(password or "") < MIN_PASSWORD_LENGTH:
            problems.append(Problem(field="password", code="too_short",
                                    message=f"Passwords need at least {MIN_PASSWORD_LENGTH} characters",
                                    limit=MIN_PASSWORD_LENGTH, actual=len(password or "")))
        if problems:
            raise ValidationFailed(problems)
        with self.db.unit_of_work(system=True) as uow:
            load_org(uow.session, org_uuid)
            taken = uow.session.scalar(select(func.count()).select_from(User).where(User.email == email))
            if taken:
                raise ValidationFailed([Problem(field="email", code="email_taken",
                                                message=f"A user with email {email} already exists",
                                                actual=email)])
            user = User(user_id=uuid.uuid4(), org_id=org_uuid, email=email, name=name.strip(),
                        role=parse_role(role).value, password_hash=self.hasher.hash(password))
            uow.session.add(user)
            audit(uow.session, actor, org_uuid, "user.created", "user", user.user_id, self.now(),
                  {"email": email, "role": user.role})
            view = UserView.of(user)
            uow.commit()
        return view

    def list_users(self, actor: Actor) -> list[UserView]:
        with self.uow(actor, readonly=True) as uow:
            rows = uow.session.scalars(
                select(User).where(User.org_id == actor.org_id).order_by(User.name)
            )
            return [UserView.of(u) for u in rows]

    def change_role(self, actor: Actor, user_id: Any, role: str) -> UserView:
        actor.require("users.manage")
        new_role = parse_role(role)
        with self.uow(actor) as uow:
            user = get_owned(uow.session, User, actor, user_id, "user")
            if user.user_id == actor.user_id and new_role != Role.ADMIN:
                raise Forbidden("You cannot remove your own admin role; ask another admin")
            old = user.role
            user.role = new_role.value
            user.updated_at = self.now()
            audit(uow.session, actor, actor.org_id, "user.role_changed", "user", user.user_id,
                  self.now(), {"from": old, "to": user.role})
            view = UserView.of(user)
            uow.commit()
        return view

    def set_active(self, actor: Actor, user_id: Any, active: bool) -> UserView:
        actor.require("users.manage")
        with self.uow(actor) as uow:
            user = get_owned(uow.session, User, actor, user_id, "user")
            if user.user_id == actor.user_id and not active:
                raise Forbidden("You cannot deactivate yourself")
            user.is_active = active
            audit(uow.session, actor, actor.org_id,
                  "user.activated" if active else "user.deactivated", "user", user.user_id, self.now())
            view = UserView.of(user)
            uow.commit()
        return view

    def authenticate(self, email: str, password: str) -> Actor:
        """Check credentials; the error never says whether the email exists."""
        email = (email or "").strip().lower()
        with self.db.unit_of_work(system=True) as uow:
            user = uow.session.scalar(select(User).where(User.email == email))
            stored = user.password_hash if user is not None else self._dummy_hash
            try:
                self.hasher.verify(stored, password or "")
            except (VerificationError, InvalidHashError):
                raise AuthenticationFailed() from None
            if user is None or not user.is_active:
                raise AuthenticationFailed()
            if self.hasher.check_needs_rehash(user.password_hash):
                user.password_hash = self.hasher.hash(password)
            user.last_login_at = self.now()
            actor = UserView.of(user).actor()
            uow.commit()
        return actor

    def get_actor(self, user_id: Any) -> Actor:
        """Re-load a signed-in user's current role (roles can change while signed in)."""
        with self.db.unit_of_work(system=True, readonly=True) as uow:
            user = uow.session.get(User, parse_id(user_id, "user"))
            if user is None or not user.is_active:
                raise AuthenticationFailed("Your account is no longer active")
            return UserView.of(user).actor()
