"""Accounts page helpers: the cached list, account lines."""

from __future__ import annotations

import streamlit as st

from core.services.accounts import AccountView
from core.services.context import Actor
from ui.context import herald_app
from ui.widgets import local_time

ACCOUNTS_TTL_SECONDS = 5 * 60
ACCOUNTS_URL_PATH = "accounts"  # st.navigation's path of pages/accounts.py
SNAPCHAT_NOTE = ("Snapchat publishing works only for apps Snap has allowlisted for its Public Profile API, "
                 "and only to Public Profiles (creators and businesses), not personal accounts. Ask your "
                 "Snap contact to allowlist Herald's OAuth client id before connecting.")
STATUS_ICONS = {"active": "🟢", "expired": "🟠", "revoked": "⚪", "error": "🔴"}


@st.cache_data(ttl=ACCOUNTS_TTL_SECONDS, show_spinner=False)
def load_accounts(actor: Actor) -> list[AccountView]:
    return herald_app().accounts.list_accounts(actor)


def account_line(account: AccountView, tz: str) -> str:
    name = account.display_name or account.username
    expiry = f" · token expires {local_time(account.expires_at, tz)}" if account.expires_at else ""
    return (f"{STATUS_ICONS.get(account.status, '⚪')} **{name}** (@{account.username}) · "
            f"{account.status}{expiry} · connected {local_time(account.created_at, tz, '%d %b %Y')}")
