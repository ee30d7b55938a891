"""Who may call the sandbox: its accounts, access and refresh tokens, and OAuth codes.

``Credentials`` is the part of ``Sandbox`` (``simulator.py``) that keeps them: tokens registered
with ``register_account`` or issued by a network's own OAuth endpoints (``issue_token``,
``issue_code`` / ``take_code``), checked on every authenticated call (``check_token``) and revoked
as the network would (``revoke_tokens``). It is a base class of ``Sandbox``, whose ``__init__``
sets up the state declared here; every method is used as ``sandbox.<method>``.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.clock import Clock
from core.domain.platforms import platform_key
from core.platforms.sandbox.base import SandboxAccount, SandboxNetwork, TokenRecord

CODE_TTL = timedelta(minutes=10)


@dataclass
class CodeRecord:
    platform: str
    account_id: str
    client_id: str
    redirect_uri: str
    expires_at: datetime
    challenge: str | None = None
    method: str | None = None
    scopes: tuple[str, ...] = ()


def _parse_time(value: datetime | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class Credentials:
    """Accounts, tokens and codes, under the sandbox's lock and on its clock."""

    clock: Clock
    lock: threading.RLock
    networks: dict[str, SandboxNetwork]
    _accounts: dict[tuple[str, str], SandboxAccount]
    _tokens: dict[str, TokenRecord]
    _codes: dict[str, CodeRecord]

    def check_token(self, platform: str, token: str | None,
                    kinds: tuple[str, ...] = ("access", "user", "page")
                    ) -> tuple[TokenRecord | None, str]:
        if not token:
            return None, "missing"
        record = self._tokens.get(token)
        if record is None or record.platform != platform or record.kind not in kinds:
            return None, "unknown"
        if record.revoked:
            return None, "revoked"
        if record.expires_at is not None and record.expires_at <= self.clock.now():
            return None, "expired"
        return record, "ok"

    def register_account(
        self, platform: str, external_account_id: str, username: str, access_token: str,
        refresh_token: str | None = None, expires_at: datetime | str | None = None, *,
        extra: Mapping[str, Any] | None = None, scopes: tuple[str, ...] = (),
    ) -> SandboxAccount:
        """Make ``access_token`` (and ``refresh_token``) valid for an account of ``platform``."""
        key = platform_key(platform)
        network = self.networks.get(key)
        if network is None:
            raise ValueError(f"the sandbox does not simulate {platform!r}")
        with self.lock:
            account = self.ensure_account(key, str(external_account_id), username, extra)
            family = secrets.token_hex(8)
            kind = getattr(network, "registered_token_kind", "access")
            self._tokens[access_token] = TokenRecord(
                access_token, key, account.external_account_id, kind, _parse_time(expires_at),
                issued_at=self.clock.now(), scopes=tuple(scopes), family=family)
            if refresh_token:
                self._tokens[refresh_token] = TokenRecord(
                    refresh_token, key, account.external_account_id, "refresh", None,
                    issued_at=self.clock.now(), scopes=tuple(scopes), family=family)
            return account

    def ensure_account(self, platform: str, external_account_id: str, username: str,
                       extra: Mapping[str, Any] | None = None) -> SandboxAccount:
        with self.lock:
            key = (platform, external_account_id)
            account = self._accounts.get(key)
            if account is None:
                account = SandboxAccount(platform, external_account_id, username, dict(extra or {}))
                self._accounts[key] = account
            else:
                account.username = username or account.username
                account.extra.update(extra or {})
            return account

    def account(self, platform: str, external_account_id: str) -> SandboxAccount | None:
        return self._accounts.get((platform_key(platform), str(external_account_id)))

    def accounts_of(self, platform: str) -> list[SandboxAccount]:
        return [a for (p, _), a in self._accounts.items() if p == platform]

    def issue_token(self, platform: str, account_id: str, *, kind: str = "access",
                    ttl_seconds: float | None = None, scopes: tuple[str, ...] = (),
                    client_id: str | None = None, family: str | None = None,
                    prefix: str = "") -> TokenRecord:
        now = self.clock.now()
        token = prefix + secrets.token_urlsafe(32)
        record = TokenRecord(token, platform, account_id, kind,
                             now + timedelta(seconds=ttl_seconds) if ttl_seconds else None,
                             issued_at=now, scopes=scopes, client_id=client_id, family=family)
        self._tokens[token] = record
        return record

    def token_record(self, token: str | None) -> TokenRecord | None:
        return self._tokens.get(token or "")

    def revoke_tokens(self, platform: str, *, account_id: str | None = None,
                      family: str | None = None, token: str | None = None) -> int:
        count = 0
        for record in self._tokens.values():
            if record.platform != platform or record.revoked:
                continue
            if ((account_id is not None and record.account_id == account_id)
                    or (family is not None and record.family == family)
                    or (token is not None and record.token == token)):
                record.revoked = True
                count += 1
        return count

    def issue_code(self, platform: str, account_id: str, *, client_id: str, redirect_uri: str,
                   challenge: str | None = None, method: str | None = None,
                   scopes: tuple[str, ...] = ()) -> str:
        code = secrets.token_urlsafe(24)
        self._codes[code] = CodeRecord(platform, account_id, client_id, redirect_uri,
                                       self.clock.now() + CODE_TTL, challenge, method, scopes)
        return code

    def take_code(self, platform: str, code: str | None) -> CodeRecord | None:
        """The code's record, once: codes are single use and expire after ten minutes."""
        record = self._codes.pop(code or "", None)
        if record is None or record.platform != platform or record.expires_at <= self.clock.now():
            return None
        return record
