"""Connected social accounts: OAuth connect, manual connect, list with expiry, refresh, disconnect.

Tokens are encrypted at rest (``TokenCipher``); the database never holds one in clear text.
Services never build HTTP requests: every call to a network goes through its connector.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import Clock
from core.db.engine import Database
from core.db.models import SocialAccount
from core.domain.platforms import normalize_platform
from core.errors import AuthPlatformError, HeraldError, PlatformError, Problem, ValidationFailed
from core.platforms.base import AccountCredentials, Connector, TokenSet
from core.services.base import Service, audit, get_owned, load_org, parse_id
from core.services.context import Actor
from core.services.secrets import InvalidToken, TokenCipher

log = logging.getLogger(__name__)

OAUTH_STATE_TTL_SECONDS = 15 * 60
# Refresh this long before expiry. The daemon checks every 10 minutes; X and TikTok tokens live
# only 2 hours, so a longer window would refresh them on every check.
REFRESH_AHEAD = timedelta(minutes=30)
EXPIRY_WARNING = timedelta(days=7)
# Networks whose authorize step uses PKCE (S256).
PKCE_PLATFORMS = frozenset({"twitter", "tiktok"})


@dataclass(frozen=True)
class AccountView:
    account_id: uuid.UUID
    platform: str
    external_account_id: str
    username: str
    display_name: str | None
    status: str
    status_reason: str | None
    expires_at: datetime | None
    scopes: list[str]
    last_refreshed_at: datetime | None
    created_at: datetime
    warning: str | None  # e.g. "token expires in 3 days: reconnect" (None when all is well)


@dataclass(frozen=True)
class OAuthStart:
    authorize_url: str
    state: str


@dataclass(frozen=True)
class OAuthState:
    """What a verified OAuth state says: who started the connection, where, to which network."""

    org_id: uuid.UUID
    user_id: uuid.UUID
    platform: str
    redirect_uri: str
    verifier: str | None = field(repr=False)


@dataclass(frozen=True)
class PendingConnection:
    """A callback whose code was exchanged but whose account is not stored yet. ``sealed`` holds
    the tokens and the starter's org and user, Fernet-encrypted and expiring like the state."""

    platform: str
    username: str
    sealed: str = field(repr=False)


def _check_starter(org_id: uuid.UUID, user_id: uuid.UUID, actor: Actor) -> None:
    """A connection belongs to the user who started it, in that org: a callback opened in anyone
    else's session (or forged to look like one) cannot attach an account to another org."""
    if org_id != actor.org_id or user_id != actor.user_id:
        raise ValidationFailed([Problem(field="state", code="invalid_state",
                                        message="This connection was started by another user; start again")])


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _from_iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _warning(account: SocialAccount, now: datetime) -> str | None:
    if account.status != "active":
        return account.status_reason or f"account is {account.status}: reconnect it"
    if account.expires_at is None:
        return None
    left = account.expires_at - now
    if left <= timedelta(0):
        return "the token has expired: reconnect the account" if not account.refresh_token_encrypted \
            else "the token has expired; Herald will try to refresh it before the next publish"
    if left <= EXPIRY_WARNING and not account.refresh_token_encrypted:
        days = max(1, left.days)
        return f"the token expires in {days} day(s) and cannot be refreshed: reconnect soon"
    return None


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)[:96]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class AccountService(Service):
    def __init__(self, db: Database, clock: Clock, cipher: TokenCipher,
                 connector_for: Callable[[str], Connector]) -> None:
        super().__init__(db, clock)
        self.cipher = cipher
        self.connector_for = connector_for

    # --- views ---------------------------------------------------------------------------------
    def _view(self, a: SocialAccount) -> AccountView:
        return AccountView(a.account_id, a.platform, a.external_account_id, a.username, a.display_name,
                           a.status, a.status_reason, a.expires_at, list(a.scopes or []),
                           a.last_refreshed_at, a.created_at, _warning(a, self.now()))

    def list_accounts(self, actor: Actor) -> list[AccountView]:
        with self.uow(actor, readonly=True) as uow:
            rows = uow.session.scalars(select(SocialAccount).where(SocialAccount.org_id == actor.org_id)
                                       .order_by(SocialAccount.platform, SocialAccount.username))
            return [self._view(a) for a in rows]

    def credentials(self, account: SocialAccount | Any) -> AccountCredentials:
        """Decrypted credentials for a connector call (never logged, never returned to pages).

        ``account`` is a ``SocialAccount`` or any row with its columns (the publishing hot path
        reads them with Core)."""
        return AccountCredentials(
            platform=account.platform, external_account_id=account.external_account_id,
            username=account.username, access_token=self.cipher.decrypt(account.access_token_encrypted),
            refresh_token=(self.cipher.decrypt(account.refresh_token_encrypted)
                           if account.refresh_token_encrypted else None),
            expires_at=account.expires_at, scopes=tuple(account.scopes or ()), extra=dict(account.extra or {}),
        )

    # --- connecting ----------------------------------------------------------------------------
    def connect(
        self, actor: Actor | None, *, org_id: Any, platform: str, external_account_id: str,
        username: str, access_token: str, refresh_token: str | None = None,
        expires_at: datetime | None = None, refresh_expires_at: datetime | None = None,
        scopes: list[str] | tuple[str, ...] = (), display_name: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> AccountView:
        """Store (or replace) an account's tokens. ``actor`` None = admin command."""
        org_uuid = parse_id(org_id, "org")
        if actor is not None:
            actor.require("accounts.manage")
            if actor.org_id != org_uuid:
                raise ValidationFailed([Problem(field="org", code="invalid", message="Accounts belong to your own org")])
        problems = []
        try:
            platform = normalize_platform(platform)
        except ValidationFailed as exc:
            problems.extend(exc.problems)
        for name, value in (("account_id", external_account_id), ("username", username), ("access_token", access_token)):
            if not (value or "").strip():
                problems.append(Problem(field=name, code="required", message=f"{name.replace('_', ' ')} is required"))
        if expires_at is not None and expires_at.tzinfo is None:
            problems.append(Problem(field="expires_at", code="naive_datetime",
                                    message="expires_at needs a timezone offset (e.g. 2026-12-31T00:00:00Z)"))
        if problems:
            raise ValidationFailed(problems)
        with self.db.unit_of_work(org_uuid) as uow:
            load_org(uow.session, org_uuid)
            account = uow.session.scalar(select(SocialAccount).where(
                SocialAccount.org_id == org_uuid, SocialAccount.platform == platform,
                SocialAccount.external_account_id == external_account_id.strip()))
            if account is None:
                account = SocialAccount(account_id=uuid.uuid4(), org_id=org_uuid, platform=platform,
                                        external_account_id=external_account_id.strip())
                uow.session.add(account)
            account.username = username.strip().lstrip("@")
            account.display_name = display_name
            account.access_token_encrypted = self.cipher.encrypt(access_token.strip())
            account.refresh_token_encrypted = self.cipher.encrypt(refresh_token) if refresh_token else None
            account.expires_at = expires_at
            account.refresh_expires_at = refresh_expires_at
            account.scopes = list(scopes)
            account.extra = dict(extra or {})
            account.status = "active"
            account.status_reason = None
            account.connected_by = actor.user_id if actor else None
            account.updated_at = self.now()
            audit(uow.session, actor, org_uuid, "account.connected", "account", account.account_id, self.now(),
                  {"platform": platform, "username": account.username})
            uow.flush()
            view = self._view(account)
            uow.commit()
        return view

    def start_oauth(self, actor: Actor, platform: str, redirect_uri: str) -> OAuthStart:
        """The network's authorize URL, with a signed, expiring state (and PKCE where used)."""
        actor.require("accounts.manage")
        platform = normalize_platform(platform)
        verifier, challenge = pkce_pair() if platform in PKCE_PLATFORMS else (None, None)
        state = self.cipher.encrypt(json.dumps({
            "org": str(actor.org_id), "user": str(actor.user_id), "platform": platform,
            "verifier": verifier, "redirect_uri": redirect_uri, "nonce": secrets.token_hex(8)}))
        url = self.connector_for(platform).authorize_url(state, redirect_uri, code_challenge=challenge)
        return OAuthStart(url, state)

    def read_oauth_state(self, state: str) -> OAuthState:
        """Who started a connection, and for which network: the state is authenticated encryption
        (it cannot be forged or altered) and is refused after 15 minutes."""
        try:
            data = json.loads(self.cipher.decrypt_fresh(state, OAUTH_STATE_TTL_SECONDS))
            return OAuthState(uuid.UUID(data["org"]), uuid.UUID(data["user"]), data["platform"],
                              data["redirect_uri"], data.get("verifier"))
        except (InvalidToken, ValueError, KeyError, TypeError):
            raise ValidationFailed([Problem(field="state", code="invalid_state",
                                            message="The sign-in link expired or was tampered with; start connecting again")]) from None

    def finish_oauth(self, actor: Actor, *, state: str, code: str) -> AccountView:
        """Handle the callback in the session of the user who started it: check the state,
        exchange the code, store the account."""
        started = self.read_oauth_state(state)
        _check_starter(started.org_id, started.user_id, actor)  # before the single-use code is spent
        return self.complete_oauth(actor, self.exchange_oauth_code(state=state, code=code))

    def exchange_oauth_code(self, *, state: str, code: str) -> PendingConnection:
        """First half of a callback that arrives without a signed-in session (a full-page redirect
        starts a new one): exchange the code at once (X's codes live 30 seconds) and seal the
        tokens. Nothing is stored; only the user named in the state can store them, with
        ``complete_oauth``, within ``OAUTH_STATE_TTL_SECONDS``."""
        started = self.read_oauth_state(state)
        if not (code or "").strip():
            raise ValidationFailed([Problem(field="code", code="required", message="The network sent no code back")])
        tokens: TokenSet = self.connector_for(started.platform).exchange_code(
            code, started.redirect_uri, code_verifier=started.verifier)
        identity = tokens.account or {}
        username = str(identity.get("username") or identity.get("name") or "").strip().lstrip("@")
        sealed = self.cipher.encrypt(json.dumps({
            "org": str(started.org_id), "user": str(started.user_id), "platform": started.platform,
            "external_account_id": str(identity.get("external_account_id") or identity.get("id") or ""),
            "username": username, "display_name": identity.get("display_name"),
            "access_token": tokens.access_token, "refresh_token": tokens.refresh_token,
            "expires_at": _iso(tokens.expires_at), "refresh_expires_at": _iso(tokens.refresh_expires_at),
            "scopes": list(tokens.scopes),
            # Only the network's plain identity details; never the other choices' tokens.
            "extra": dict(identity.get("extra") or {})}))
        return PendingConnection(started.platform, username, sealed)

    def complete_oauth(self, actor: Actor, pending: PendingConnection) -> AccountView:
        """Second half: store the sealed tokens for ``actor``, who must be the user who started
        the connection, in that org, still allowed to manage accounts."""
        try:
            data = json.loads(self.cipher.decrypt_fresh(pending.sealed, OAUTH_STATE_TTL_SECONDS))
        except (InvalidToken, ValueError):
            raise ValidationFailed([Problem(field="state", code="invalid_state",
                                            message="The connection was not finished in time; start connecting again")]) from None
        _check_starter(uuid.UUID(data["org"]), uuid.UUID(data["user"]), actor)
        return self.connect(
            actor, org_id=actor.org_id, platform=data["platform"], external_account_id=data["external_account_id"],
            username=data["username"], display_name=data["display_name"], access_token=data["access_token"],
            refresh_token=data["refresh_token"], expires_at=_from_iso(data["expires_at"]),
            refresh_expires_at=_from_iso(data["refresh_expires_at"]), scopes=data["scopes"], extra=data["extra"],
        )

    # --- lifecycle -----------------------------------------------------------------------------
    def disconnect(self, actor: Actor, account_id: Any) -> AccountView:
        """Revoke at the network (best effort: a failure is recorded, not fatal) and wipe tokens."""
        actor.require("accounts.manage")
        with self.uow(actor) as uow:
            account = get_owned(uow.session, SocialAccount, actor, account_id, "account")
            revoke_error = None
            try:
                self.connector_for(account.platform).revoke(self.credentials(account))
            except (HeraldError, InvalidToken) as exc:
                revoke_error = str(exc)
                log.warning("revoke failed for %s account %s: %s", account.platform, account.account_id, exc)
            account.status = "revoked"
            account.status_reason = ("Disconnected" + (f"; the network did not confirm revocation: {revoke_error}"
                                                       if revoke_error else ""))
            account.access_token_encrypted = self.cipher.encrypt("")
            account.refresh_token_encrypted = None
            account.updated_at = self.now()
            audit(uow.session, actor, actor.org_id, "account.disconnected", "account", account.account_id,
                  self.now(), {"platform": account.platform, "revoke_error": revoke_error})
            view = self._view(account)
            uow.commit()
        return view

    def refresh_account(self, org_id: uuid.UUID, account_id: uuid.UUID) -> AccountView:
        """Refresh one account's token now. Rotated refresh tokens are stored in the same
        transaction as the new access token; a failed refresh marks the account expired."""
        with self.db.unit_of_work(org_id) as uow:
            account = uow.session.get(SocialAccount, account_id)
            if account is None or account.org_id != org_id:
                raise ValidationFailed([Problem(field="account", code="not_found", message="No such account")])
            try:
                tokens = self.connector_for(account.platform).refresh_token(self.credentials(account))
            except AuthPlatformError as exc:
                self._expire(uow.session, account, f"Refreshing the token failed: {exc.network_message}",
                             "account.refresh_failed", exc.network_message)
                view = self._view(account)
                uow.commit()
                return view
            except PlatformError:
                raise  # retryable network trouble: leave the account as it is, try again later
            account.access_token_encrypted = self.cipher.encrypt(tokens.access_token)
            if tokens.refresh_token:
                account.refresh_token_encrypted = self.cipher.encrypt(tokens.refresh_token)
            account.expires_at = tokens.expires_at
            if tokens.refresh_expires_at:
                account.refresh_expires_at = tokens.refresh_expires_at
            account.last_refreshed_at = self.now()
            account.status, account.status_reason = "active", None
            audit(uow.session, None, org_id, "account.refreshed", "account", account.account_id, self.now())
            view = self._view(account)
            uow.commit()
        return view

    def mark_expired(self, org_id: uuid.UUID, account_id: uuid.UUID, why: str, *, error: str,
                     rejected_token: str) -> AccountView | None:
        """The network rejected ``rejected_token`` and it cannot be refreshed (the account has no
        refresh token): the account becomes ``expired`` with ``why``, as a refused refresh marks
        it, so the Accounts page asks for a reconnection and its later posts fail at once saying
        so. Nothing changes (None) if the account is no longer active with that token: it was
        reconnected, refreshed or disconnected meanwhile."""
        with self.db.unit_of_work(org_id) as uow:
            account = uow.session.get(SocialAccount, account_id)
            if (account is None or account.org_id != org_id or account.status != "active"
                    or self.cipher.decrypt(account.access_token_encrypted) != rejected_token):
                return None
            self._expire(uow.session, account, why, "account.expired", error)
            view = self._view(account)
            uow.commit()
        return view

    def _expire(self, session: Session, account: SocialAccount, why: str, action: str, error: str) -> None:
        account.status = "expired"
        account.status_reason = f"{why.rstrip('. ')}. Reconnect the account."
        audit(session, None, account.org_id, action, "account", account.account_id, self.now(), {"error": error})

    def accounts_due_for_refresh(self, within: timedelta = REFRESH_AHEAD) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """(org_id, account_id) of active accounts whose token expires within ``within``
        and that have a refresh token. Cross-org: for the daemon's refresh job."""
        horizon = self.now() + within
        with self.db.unit_of_work(system=True, readonly=True) as uow:
            return [(o, a) for o, a in uow.session.execute(
                select(SocialAccount.org_id, SocialAccount.account_id).where(
                    SocialAccount.status == "active", SocialAccount.expires_at.is_not(None),
                    SocialAccount.expires_at <= horizon, SocialAccount.refresh_token_encrypted.is_not(None)))]
