"""Connecting an account in sandbox mode, where no browser can reach the consent screen.

The in-process sandbox lives behind an httpx transport inside this process, so the dashboard
cannot send a browser to its authorize URL. Herald "clicks Allow" itself: it starts the OAuth flow
exactly as for a real network (signed state, PKCE), follows the sandbox's consent redirect
server-side and finishes the flow with the code it got back. Everything after the consent screen
(state check, code exchange, encrypted storage) is the production path.
"""

from __future__ import annotations

from core.config import Settings
from core.errors import PermanentPlatformError
from core.platforms.registry import follow_sandbox_consent
from core.services.accounts import AccountService, AccountView
from core.services.connectors import ConnectorPool
from core.services.context import Actor


def sandbox_consent_in_process(settings: Settings) -> bool:
    """True when the networks are simulated inside this process (no browser can reach them)."""
    return settings.platform_mode == "sandbox" and not settings.sandbox_url


def connect_sandbox_account(accounts: AccountService, connectors: ConnectorPool, actor: Actor, platform: str,
                            *, redirect_uri: str, login: str | None = None) -> AccountView:
    """Run the whole OAuth flow against the in-process sandbox and store the account."""
    start = accounts.start_oauth(actor, platform, redirect_uri)
    connector = connectors(platform)
    query = follow_sandbox_consent(connector, start.authorize_url, login=login)
    if "code" not in query or "state" not in query:
        raise PermanentPlatformError(connector.platform, "the sandbox consent screen sent no code back: "
                                     f"{query.get('error_description') or query.get('error') or query}")
    return accounts.finish_oauth(actor, state=query["state"], code=query["code"])
